/**
 * Metrics and spans (docs/observability.md): what a dashboard and a trace
 * show of the store's work, on MemoryStore and on DynamoDB Local (with the
 * fault-injecting proxy for throttles, retries and UnknownOutcome).
 * Metrics live in Effect's global registry: every check reads the change
 * of a metric across the operations under test.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as MetricState from "effect/MetricState"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Tracer from "effect/Tracer"
import * as DynamoDBStore from "../src/DynamoDBStore.js"
import { recordCapacity } from "../src/internal/metrics.js"
import { keyHash } from "../src/internal/tracing.js"
import * as KonserveStore from "../src/KonserveStore.js"
import * as MemoryStore from "../src/MemoryStore.js"
import { endpoint, storeConfig, uniqueTable } from "./utils/dynamodb.js"
import * as Proxy from "./utils/proxy.js"

/** The value of a counter, or the count of a histogram, whose labels include `labels`. */
const read = (name: string, labels: Record<string, string>): Effect.Effect<number> =>
  Effect.map(Metric.snapshot, (pairs) => {
    let total = 0
    for (const pair of pairs) {
      if (pair.metricKey.name !== name) continue
      const tags = new Map(pair.metricKey.tags.map((label) => [label.key, label.value]))
      if (!Object.entries(labels).every(([key, value]) => tags.get(key) === value)) continue
      const state = pair.metricState
      if (MetricState.isCounterState(state)) total += Number(state.count)
      else if (MetricState.isHistogramState(state)) total += state.count
    }
    return total
  })

/** How much each metric grew while `self` ran. */
const growth = <A, E, R>(
  metrics: Record<string, readonly [string, Record<string, string>]>,
  self: Effect.Effect<A, E, R>
) =>
  Effect.gen(function*() {
    const entries = Object.entries(metrics)
    const before = yield* Effect.forEach(entries, ([, [name, labels]]) => read(name, labels))
    const result = yield* self
    const after = yield* Effect.forEach(entries, ([, [name, labels]]) => read(name, labels))
    const grown: Record<string, number> = {}
    entries.forEach(([label], i) => (grown[label] = after[i] - before[i]))
    return { result, grown }
  })

interface Recorded {
  readonly name: string
  readonly attributes: ReadonlyMap<string, unknown>
  readonly parent: string | undefined
}

/** A tracer that records the spans it makes (what an OpenTelemetry tracer would export). */
const recordingTracer = Effect.map(Effect.tracer, (native) => {
  const spans: Array<Tracer.Span> = []
  const tracer = Tracer.make({
    span: (name, parent, context, links, startTime, kind, options) => {
      const span = native.span(name, parent, context, links, startTime, kind, options)
      spans.push(span)
      return span
    },
    context: (f) => f()
  })
  const recorded = (): ReadonlyArray<Recorded> =>
    spans.map((span) => ({
      name: span.name,
      attributes: span.attributes,
      parent: Option.match(span.parent, {
        onNone: () => undefined,
        onSome: (parent) => parent._tag === "Span" ? parent.name : undefined
      })
    }))
  return { tracer, recorded }
})

const ops = (operation: string, outcome: string) =>
  ["konserve_operations_total", { operation: `KonserveStore.${operation}`, outcome }] as const

describe("metrics on any store (MemoryStore)", () => {
  it.effect("operations by name and outcome, latency, bytes by kind", () =>
    Effect.gen(function*() {
      const store = yield* MemoryStore.make()
      const { grown } = yield* growth(
        {
          assocOk: ops("assoc", "success"),
          getOk: ops("get", "success"),
          getInOk: ops("getIn", "success"),
          conditionFailed: ops("assoc", "ConditionFailed"),
          invalidKey: ops("get", "InvalidKey"),
          assocLatency: ["konserve_operation_duration_ms", { operation: "KonserveStore.assoc" }],
          written: ["konserve_bytes_written_total", { kind: "value" }],
          read: ["konserve_bytes_read_total", { kind: "value" }],
          binaryWritten: ["konserve_bytes_written_total", { kind: "binary" }],
          binaryRead: ["konserve_bytes_read_total", { kind: "binary" }],
          bassocOk: ops("bassoc", "success"),
          logWritten: ["konserve_bytes_written_total", { kind: "log" }],
          typedUpdate: ops("update", "success"),
          assocInOk: ops("assocIn", "success")
        },
        Effect.gen(function*() {
          yield* store.assoc("a", "x".repeat(1000))
          yield* store.assoc("b", { n: 1 })
          yield* store.get("a")
          yield* store.getIn(["b", "n"])
          yield* Effect.flip(store.assoc("a", 1, { ifAbsent: true }))
          yield* Effect.flip(store.get(""))
          yield* store.bassoc("bin", new Uint8Array(5000))
          const binary = yield* store.bget("bin")
          yield* Stream.runDrain(Option.getOrThrow(binary).stream)
          yield* store.append("log", "element")
          yield* store.assocIn(["c"], 1) // one assocIn, not also an assoc
          yield* store.forSchema(Schema.Number).update(
            "counter",
            Option.match({ onNone: () => 1, onSome: (n) => n + 1 })
          )
        })
      )
      expect(grown.assocOk).toBe(2)
      // getIn is one operation: not counted as a get as well
      expect(grown.getOk).toBe(1)
      expect(grown.getInOk).toBe(1)
      expect(grown.conditionFailed).toBe(1)
      expect(grown.invalidKey).toBe(1)
      expect(grown.assocLatency).toBe(3)
      // encoded bytes: more than the 1000 characters, for the two values
      expect(grown.written).toBeGreaterThan(1000)
      expect(grown.read).toBeGreaterThan(1000)
      expect(grown.binaryWritten).toBe(5000)
      expect(grown.binaryRead).toBe(5000)
      expect(grown.bassocOk).toBe(1)
      expect(grown.logWritten).toBeGreaterThan(0)
      expect(grown.typedUpdate).toBe(1)
      expect(grown.assocInOk).toBe(1)
    }))
})

const table = uniqueTable("observability")
let prefixes = 0

const throughProxy = (extra?: Partial<DynamoDBStore.DynamoDBStoreConfig>) =>
  Effect.gen(function*() {
    const proxy = yield* Proxy.make(endpoint())
    const prefix = `p${prefixes++}`
    const store = yield* DynamoDBStore.make(
      storeConfig(proxy.endpoint, table, { prefix, retry: { baseDelay: "1 millis" }, ...extra })
    )
    return { store, proxy }
  })

describe("metrics on DynamoDB", () => {
  it.scopedLive("requests by command and outcome; throttles and retries", () =>
    Effect.gen(function*() {
      const { proxy, store } = yield* throughProxy()
      proxy.setRule((request) =>
        request.command === "UpdateItem" && request.n < 2 ? { _tag: "Throttle" } : { _tag: "Pass" }
      )
      const { grown } = yield* growth(
        {
          ok: ["konserve_dynamodb_requests_total", { command: "UpdateItem", outcome: "ok" }],
          throttled: ["konserve_dynamodb_requests_total", { command: "UpdateItem", outcome: "throttle" }],
          throttles: ["konserve_dynamodb_throttles_total", { command: "UpdateItem" }],
          retries: ["konserve_dynamodb_retries_total", { command: "UpdateItem" }],
          assocOk: ops("assoc", "success")
        },
        store.assoc("k", "v")
      )
      expect(grown).toEqual({ ok: 1, throttled: 2, throttles: 2, retries: 2, assocOk: 1 })
    }))

  it.scopedLive("an UnknownOutcome is counted as one, by operation", () =>
    Effect.gen(function*() {
      const { proxy, store } = yield* throughProxy({ retry: { maxAttempts: 3, baseDelay: "1 millis" } })
      yield* store.assoc("n", 0)
      // the update applied, its answer lost; then every request throttled: nobody can tell
      proxy.setRule((request) =>
        request.command === "UpdateItem" && request.n === 0
          ? { _tag: "Lose" }
          : request.command === "UpdateItem" || (request.command === "GetItem" && request.n > 0)
          ? { _tag: "Throttle" }
          : { _tag: "Pass" }
      )
      const { grown, result } = yield* growth(
        {
          unknown: ["konserve_unknown_outcomes_total", { operation: "KonserveStore.update" }],
          outcome: ops("update", "UnknownOutcome")
        },
        Effect.flip(store.update("n", (n) => Option.getOrElse(n as Option.Option<number>, () => 0) + 1))
      )
      expect(result._tag === "DynamoDBError" && result.code).toBe("UnknownOutcome")
      expect(grown).toEqual({ unknown: 1, outcome: 1 })
    }))

  it.scoped("consumed capacity, when asked for", () =>
    Effect.gen(function*() {
      const store = yield* DynamoDBStore.make(
        storeConfig(endpoint(), table, { prefix: `p${prefixes++}`, consumedCapacity: true })
      )
      const { grown } = yield* growth(
        {
          // DynamoDB Local reports one undivided figure per request (AWS also splits it into read and write)
          write: ["konserve_dynamodb_capacity_units_total", { command: "UpdateItem" }],
          read: ["konserve_dynamodb_capacity_units_total", { command: "GetItem" }]
        },
        Effect.zipRight(store.assoc("k", "x".repeat(3000)), store.get("k"))
      )
      expect(grown.write).toBeGreaterThanOrEqual(3)
      expect(grown.read).toBeGreaterThanOrEqual(1)
    }))

  it.effect("capacity as AWS reports it: read and write units apart, their sum not counted again", () =>
    Effect.gen(function*() {
      const { grown } = yield* growth(
        {
          read: ["konserve_dynamodb_capacity_units_total", { command: "TestCommand", unit: "read" }],
          write: ["konserve_dynamodb_capacity_units_total", { command: "TestCommand", unit: "write" }],
          total: ["konserve_dynamodb_capacity_units_total", { command: "TestCommand", unit: "total" }]
        },
        Effect.sync(() => {
          // a transaction's answer: one entry per table, each with its sum and its parts
          recordCapacity("TestCommand", {
            ConsumedCapacity: [
              { TableName: "a", CapacityUnits: 3, ReadCapacityUnits: 1, WriteCapacityUnits: 2 },
              { TableName: "b", CapacityUnits: 4, WriteCapacityUnits: 4 }
            ]
          })
          // DynamoDB Local: one undivided figure
          recordCapacity("TestCommand", { ConsumedCapacity: { TableName: "a", CapacityUnits: 5 } })
        })
      )
      expect(grown).toEqual({ read: 1, write: 6, total: 5 })
    }))

  it.scoped("no capacity asked for by default", () =>
    Effect.gen(function*() {
      const store = yield* DynamoDBStore.make(storeConfig(endpoint(), table, { prefix: `p${prefixes++}` }))
      const { grown } = yield* growth(
        { units: ["konserve_dynamodb_capacity_units_total", {}] },
        Effect.zipRight(store.assoc("k", "v"), store.get("k"))
      )
      expect(grown.units).toBe(0)
    }))
})

describe("spans", () => {
  it.scoped("one span per operation with the key's hash; request spans under it", () =>
    Effect.gen(function*() {
      const { recorded, tracer } = yield* recordingTracer
      const store = yield* DynamoDBStore.make(storeConfig(endpoint(), table, { prefix: `p${prefixes++}` }))
      yield* Effect.withTracer(
        Effect.zipRight(store.assoc("user:42", { name: "Ada" }), store.multiGet(["user:42", "user:43"])),
        tracer
      )
      const spans = recorded()
      const assoc = spans.find((span) => span.name === "KonserveStore.assoc")
      expect(assoc?.attributes.get("konserve.key.hash")).toBe(keyHash("user:42"))
      expect(assoc?.attributes.has("konserve.key")).toBe(false)
      const update = spans.find((span) => span.name === "DynamoDB.UpdateItem")
      expect(update?.parent).toBe("KonserveStore.assoc")
      expect(update?.attributes.get("db.system.name")).toBe("aws.dynamodb")
      const multiGet = spans.find((span) => span.name === "KonserveStore.multiGet")
      expect(multiGet?.attributes.get("konserve.keys.count")).toBe(2)
    }))

  it.effect("the key itself with TraceKeys; the hash is stable", () =>
    Effect.gen(function*() {
      const { recorded, tracer } = yield* recordingTracer
      const store = yield* MemoryStore.make()
      yield* Effect.withTracer(store.getIn(["profile", "name"]), tracer).pipe(
        Effect.provideService(KonserveStore.TraceKeys, true)
      )
      const getIn = recorded().find((span) => span.name === "KonserveStore.getIn")
      expect(getIn?.attributes.get("konserve.key")).toBe("profile")
      expect(keyHash("profile")).toBe(keyHash("profile"))
      expect(keyHash("profile")).not.toBe(keyHash("profilf"))
      expect(keyHash("profile")).toMatch(/^[0-9a-f]{14}$/)
    }))

  it.scopedLive("a retried request's span says how many attempts it took", () =>
    Effect.gen(function*() {
      const { recorded, tracer } = yield* recordingTracer
      const { proxy, store } = yield* throughProxy()
      proxy.setRule((request) =>
        request.command === "GetItem" && request.n < 2 ? { _tag: "Throttle" } : { _tag: "Pass" }
      )
      yield* Effect.withTracer(store.get("k"), tracer)
      const request = recorded().find((span) => span.name === "DynamoDB.GetItem")
      expect(request?.attributes.get("konserve.attempts")).toBe(3)
    }))
})
