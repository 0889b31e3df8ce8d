/**
 * What a new user meets in the docs, checked as written: the metrics recipe
 * of docs/observability.md (its code block run as it is, against
 * `KonserveStore.metrics`); a streamed `bassoc` over the limit says "more
 * than"; OpenTelemetry receives `aws.dynamodb.table_names` as a string array.
 */
import { NodeSdk } from "@effect/opentelemetry"
import { describe, expect, it } from "@effect/vitest"
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Stream from "effect/Stream"
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as DynamoDBStore from "../src/DynamoDBStore.js"
import * as KonserveStore from "../src/KonserveStore.js"
import * as MemoryStore from "../src/MemoryStore.js"
import { endpoint, storeConfig, uniqueTable } from "./utils/dynamodb.js"

const root = Path.resolve(import.meta.dirname, "..")

/** The ` ```ts ` blocks of a doc that contain `marker`. */
const codeBlocks = (doc: string, marker: string): ReadonlyArray<string> =>
  Array.from(Fs.readFileSync(Path.join(root, doc), "utf8").matchAll(/```ts\n([\s\S]*?)```/g), (match) => match[1]!)
    .filter((block) => block.includes(marker))

describe("docs/observability.md's metrics recipe", () => {
  it("reads the store's own counters: two assocs count two", async () => {
    const [recipe] = codeBlocks("docs/observability.md", "KonserveStore.metrics")
    expect(recipe).toBeDefined()
    // the recipe as written, with the package name pointed at this checkout
    const file = Path.join(root, "test", `.recipe-${process.pid}.ts`)
    Fs.writeFileSync(file, recipe!.replaceAll("\"konserve-dynamodb\"", JSON.stringify(Path.join(root, "src/index.js"))))
    try {
      const { health } = (await import(file)) as {
        readonly health: Effect.Effect<{ readonly assocs: number; readonly unknownUpdates: number }>
      }
      const result = await Effect.runPromise(
        Effect.gen(function*() {
          const before = yield* health
          yield* KonserveStore.assoc("a", 1)
          yield* KonserveStore.assoc("b", 2)
          const after = yield* health
          return { before, after }
        }).pipe(Effect.provide(MemoryStore.layer()))
      )
      expect(result.after.assocs - result.before.assocs).toBe(2)
      expect(result.after.unknownUpdates).toBe(0)
      // one series for successful assocs in the registry: the recipe made no second, zero one
      const series = (await Effect.runPromise(Metric.snapshot)).filter((pair) =>
        pair.metricKey.name === "konserve_operations_total" &&
        pair.metricKey.tags.some((tag) => tag.key === "operation" && tag.value === "KonserveStore.assoc") &&
        pair.metricKey.tags.some((tag) => tag.key === "outcome" && tag.value === "success")
      )
      expect(series).toHaveLength(1)
    } finally {
      Fs.rmSync(file, { force: true })
    }
  })
})

describe("InvalidConfiguration", () => {
  it.effect("leads with each bad field, its value and why, one line each, never the schema's type", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        Effect.scoped(Layer.build(DynamoDBStore.layer({ table: "my table", endpoint: "localhost:8123" })))
      )
      expect(error._tag).toBe("DynamoDBError")
      expect(error.message).toBe(
        "table \"my table\": 3 to 255 of a-z, A-Z, 0-9, '_', '-', '.'\n" +
          "endpoint \"localhost:8123\": not an http:// or https:// URL (e.g. http://localhost:8000)"
      )
      const nested = yield* Effect.flip(
        Effect.scoped(Layer.build(DynamoDBStore.layer({
          table: "fine",
          retry: { maxAttempts: 0 },
          createTable: { billingMode: "PROVISIONED", readCapacity: 0, writeCapacity: 1 }
        })))
      )
      expect(nested.message.split("\n")).toEqual([
        "createTable.readCapacity 0: a positive integer",
        "retry.maxAttempts 0: a positive integer"
      ])
      const memory = yield* Effect.flip(MemoryStore.make({ maxValueBytes: "big" as unknown as number }))
      expect(memory.message).toBe("maxValueBytes \"big\": not a number")
    }))
})

describe("smaller first-hour fixes", () => {
  it.effect("a streamed bassoc over the limit says it is more than the limit, and where the stream stopped", () =>
    Effect.gen(function*() {
      const store = yield* MemoryStore.make({ maxValueBytes: 1000 })
      const stream = Stream.make(new Uint8Array(600), new Uint8Array(600), new Uint8Array(600))
      const error = yield* Effect.flip(store.bassoc("big", stream))
      expect(error._tag).toBe("ItemTooLarge")
      if (error._tag === "ItemTooLarge") {
        expect([error.size, error.limit, error.streamed]).toEqual([1200, 1000, true])
        expect(error.message).toBe(
          "key \"big\" is more than 1000 bytes, limit 1000 (its stream was stopped after 1200 bytes)"
        )
      }
      // bytes given whole: their size is known, the message says it
      const whole = yield* Effect.flip(store.bassoc("big", new Uint8Array(1001)))
      expect(whole.message).toBe("key \"big\" is 1001 bytes, limit 1000")
    }))

  it.scopedLive("OpenTelemetry receives aws.dynamodb.table_names as a string array", () =>
    Effect.gen(function*() {
      const spans = new InMemorySpanExporter()
      const table = uniqueTable("otel")
      // read inside the SDK's layer: its shutdown empties the in-memory exporter
      const finished = yield* Effect.gen(function*() {
        const store = yield* DynamoDBStore.make(storeConfig(endpoint(), table))
        yield* store.get("k")
        return spans.getFinishedSpans()
      }).pipe(
        Effect.provide(NodeSdk.layer(() => ({
          resource: { serviceName: "first-hour" },
          spanProcessor: new SimpleSpanProcessor(spans)
        })))
      )
      const getItem = finished.find((span) => span.name === "DynamoDB.GetItem")
      expect(getItem?.attributes["aws.dynamodb.table_names"]).toEqual([table])
      yield* DynamoDBStore.deleteStore(storeConfig(endpoint(), table))
    }))
})
