/**
 * Exactly-once writes under faults on the wire: a fault-injecting proxy
 * (`utils/proxy.ts`) between the store and DynamoDB Local drops answers after
 * the engine applied the request, refuses, throttles, holds requests past
 * their client's timeout; a second store, straight to the engine, writes in
 * between. One test per failure found in issue 6 (cases 1–6), and the
 * protocol's own corners (docs/consistency.md).
 */
import type { AttributeValue } from "@aws-sdk/client-dynamodb"
import { DynamoDBClient, ScanCommand } from "@aws-sdk/client-dynamodb"
import { assert, describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { randomBytes } from "node:crypto"
import * as DynamoDBStore from "../src/DynamoDBStore.js"
import * as ClientInternal from "../src/internal/dynamodb/client.js"
import { encodePrefix } from "../src/internal/dynamodb/keyLayout.js"
import type { KonserveError } from "../src/KonserveError.js"
import * as KonserveStore from "../src/KonserveStore.js"
import { clientConfig, endpoint, storeConfig, uniqueTable } from "./utils/dynamodb.js"
import * as Proxy from "./utils/proxy.js"

const MiB = 1024 * 1024
const table = uniqueTable("faults")
let prefixes = 0

type Store = KonserveStore.KonserveStore

/** Two stores on one fresh prefix: `a` through the proxy, `b` straight to the engine. */
const stores = (extra?: Partial<DynamoDBStore.DynamoDBStoreConfig>) =>
  Effect.gen(function*() {
    const proxy = yield* Proxy.make(endpoint())
    const prefix = `p${prefixes++}`
    const config = (url: string) => storeConfig(url, table, { prefix, retry: { baseDelay: "2 millis" }, ...extra })
    const a = yield* DynamoDBStore.make(config(proxy.endpoint))
    const b = yield* DynamoDBStore.make(config(endpoint()))
    return { a, b, proxy, config }
  })

/** Runs another store's operation from inside the proxy (between "applied" and "answer lost"). */
const meanwhile = <A>(self: Effect.Effect<A, KonserveError>) => () => Effect.runPromise(self)

const inc = (current: Option.Option<unknown>): number => Option.getOrElse(current as Option.Option<number>, () => 0) + 1

const codeOf = (error: KonserveError): string => error._tag === "DynamoDBError" ? error.code : error._tag

/** How many chunk items a store prefix holds in the table, read with raw Scans. */
const chunkItems = (prefix: string) =>
  Effect.acquireUseRelease(
    Effect.sync(() => new DynamoDBClient({ ...clientConfig(), maxAttempts: 1 })),
    (client) =>
      Effect.promise(async () => {
        let count = 0
        let cursor: Record<string, AttributeValue> | undefined
        do {
          const out = await client.send(
            new ScanCommand({
              TableName: table,
              ConsistentRead: true,
              FilterExpression: "begins_with(pk, :p) AND sk = :c",
              ExpressionAttributeValues: { ":p": { S: encodePrefix(prefix) }, ":c": { S: "c" } },
              ...(cursor === undefined ? {} : { ExclusiveStartKey: cursor })
            })
          )
          count += out.Items?.length ?? 0
          cursor = out.LastEvaluatedKey
        } while (cursor !== undefined)
        return count
      }),
    (client) => Effect.sync(() => client.destroy())
  )

/** Every read of a key succeeds and agrees: the key is readable, not wedged. */
const readable = (store: Store, key: string) =>
  Effect.gen(function*() {
    const value = yield* store.get(key)
    const many = yield* store.multiGet([key, "other"])
    expect(Option.getOrUndefined(value)).toEqual(many.get(key))
    expect(yield* store.exists(key)).toBe(Option.isSome(value))
    return value
  })

describe("case 1: a retried blind write never puts back a head whose content is gone", () => {
  it.scopedLive("a chunked assoc whose answer was lost, then another writer's assoc: the key stays readable", () =>
    Effect.gen(function*() {
      const { a, b, proxy } = yield* stores()
      const mine = randomBytes(MiB)
      const theirs = randomBytes(MiB)
      proxy.setRule(Proxy.loseFirst("UpdateItem", 1, meanwhile(b.assoc("k", theirs))))
      yield* a.assoc("k", mine)
      expect(proxy.stats().Lose).toBe(1)
      // b wrote after a: b's value, readable by every operation
      const value = yield* readable(a, "k")
      assert.isTrue(Option.isSome(value) && Buffer.compare(value.value as Uint8Array, theirs) === 0)
      const { before } = yield* a.update("k", () => "updated")
      assert.isTrue(Option.isSome(before))
      expect(yield* a.get("k")).toEqual(Option.some("updated"))
    }))

  it.scopedLive("a streamed bassoc whose answer was lost, then another writer's dissoc: the key stays removed", () =>
    Effect.gen(function*() {
      const { a, b, proxy } = yield* stores()
      const piece = randomBytes(MiB)
      proxy.setRule(Proxy.loseFirst(
        "UpdateItem",
        1,
        meanwhile(Effect.map(b.dissoc("blob"), (removed) => {
          // the lost write was applied: b removes a's binary
          expect(removed).toBe(true)
        }))
      ))
      yield* a.bassoc("blob", Stream.make(piece, piece, piece))
      expect(yield* a.bget("blob")).toEqual(Option.none())
      expect(yield* readable(a, "blob")).toEqual(Option.none())
      expect(Chunk.toReadonlyArray(yield* Stream.runCollect(a.keys)).map((meta) => meta.key)).toEqual([])
    }))
})

describe("case 2: a retry never brings a removed key back, and a retried removal never removes a newer key", () => {
  it.scopedLive("assoc ifAbsent whose answer was lost, then another writer's dissoc: the lock stays released", () =>
    Effect.gen(function*() {
      const { a, b, proxy } = yield* stores()
      let released = false
      proxy.setRule(Proxy.loseFirst(
        "UpdateItem",
        1,
        meanwhile(Effect.map(b.dissoc("lock"), (r) => {
          released = r
        }))
      ))
      yield* a.assoc("lock", "A", { ifAbsent: true })
      expect(released).toBe(true)
      expect(yield* readable(a, "lock")).toEqual(Option.none())
    }))

  it.scopedLive("update of a missing key whose answer was lost, then a dissoc: it stays removed, f ran once", () =>
    Effect.gen(function*() {
      const { a, b, proxy } = yield* stores()
      let calls = 0
      proxy.setRule(Proxy.loseFirst("UpdateItem", 1, meanwhile(b.dissoc("n"))))
      const { after, before } = yield* a.update("n", (n) => {
        calls++
        return inc(n)
      })
      expect([before, after, calls]).toEqual([Option.none(), 1, 1])
      expect(yield* readable(a, "n")).toEqual(Option.none())
    }))

  it.scopedLive("a blind assoc whose answer was lost, then a dissoc: it stays removed", () =>
    Effect.gen(function*() {
      const { a, b, proxy } = yield* stores()
      yield* b.assoc("k", "old")
      proxy.setRule(Proxy.loseFirst("UpdateItem", 1, meanwhile(b.dissoc("k"))))
      yield* a.assoc("k", "new")
      expect(yield* readable(a, "k")).toEqual(Option.none())
    }))

  it.scopedLive("a dissoc whose answer was lost, then another writer re-creates the key: the new key survives", () =>
    Effect.gen(function*() {
      const { a, b, proxy } = yield* stores()
      yield* b.assoc("k", "old")
      proxy.setRule(Proxy.loseFirst("UpdateItem", 1, meanwhile(b.assoc("k", "new"))))
      // the removal was applied (by its lost attempt): it says so, and the key created after it stays
      expect(yield* a.dissoc("k")).toBe(true)
      expect(yield* readable(a, "k")).toEqual(Option.some("new"))
    }))

  it.scopedLive("an atomic multiDissoc whose answer was lost, then a re-creation: the new key survives", () =>
    Effect.gen(function*() {
      const { a, b, proxy } = yield* stores()
      yield* b.multiAssoc({ x: 1, y: 2 })
      proxy.setRule(Proxy.loseFirst("TransactWriteItems", 1, meanwhile(b.assoc("x", "new"))))
      expect(yield* a.multiDissoc(["x", "y"])).toEqual(new Map([["x", true], ["y", true]]))
      expect(yield* readable(a, "x")).toEqual(Option.some("new"))
      expect(yield* readable(a, "y")).toEqual(Option.none())
    }))
})

describe("a conditional dissoc (gc's compare-and-delete) is decided like any conditional write", () => {
  it.scopedLive("its answer lost after it applied, then resent: true, and the key stays removed", () =>
    Effect.gen(function*() {
      const { a, b, proxy } = yield* stores()
      yield* b.assoc("k", "old")
      const version = Option.getOrThrow(yield* b.getMeta("k")).version
      proxy.setRule(Proxy.loseFirst("UpdateItem", 1))
      expect(yield* a.dissoc("k", { ifVersion: version })).toBe(true)
      expect(proxy.stats().Lose).toBe(1)
      expect(yield* readable(a, "k")).toEqual(Option.none())
      expect(yield* b.get("k")).toEqual(Option.none())
    }))

  it.scopedLive("its answer lost, then another writer re-creates the key: true, and the new key survives", () =>
    Effect.gen(function*() {
      const { a, b, proxy } = yield* stores()
      yield* b.assoc("k", "old")
      const version = Option.getOrThrow(yield* b.getMeta("k")).version
      proxy.setRule(Proxy.loseFirst("UpdateItem", 1, meanwhile(b.assoc("k", "new"))))
      expect(yield* a.dissoc("k", { ifVersion: version })).toBe(true)
      expect(yield* readable(a, "k")).toEqual(Option.some("new"))
    }))

  it.scopedLive("its lost attempt never reached the engine and the key was rewritten: ConditionFailed, it survives", () =>
    Effect.gen(function*() {
      const { a, b, proxy } = yield* stores()
      yield* b.assoc("k", "old")
      const version = Option.getOrThrow(yield* b.getMeta("k")).version
      proxy.setRule((request) =>
        request.command === "UpdateItem" && request.n === 0
          ? { _tag: "Reset", before: meanwhile(b.assoc("k", "theirs")) }
          : { _tag: "Pass" }
      )
      const error = yield* Effect.flip(a.dissoc("k", { ifVersion: version }))
      expect(codeOf(error)).toBe("ConditionFailed")
      expect(yield* readable(a, "k")).toEqual(Option.some("theirs"))
    }))

  it.scopedLive("over a chunked value, its answer lost: true, and the value and its chunks are gone", () =>
    Effect.gen(function*() {
      const { a, b, config, proxy } = yield* stores()
      const prefix = config(endpoint()).prefix!
      yield* b.assoc("big", randomBytes(MiB))
      expect(yield* chunkItems(prefix)).toBe(3)
      const version = Option.getOrThrow(yield* b.getMeta("big")).version
      // the first UpdateItem learns the head has chunks (refused by its guard); the second, pinned, is lost
      proxy.setRule(
        (request) => request.command === "UpdateItem" && request.n === 1 ? { _tag: "Lose" } : { _tag: "Pass" }
      )
      expect(yield* a.dissoc("big", { ifVersion: version })).toBe(true)
      expect(proxy.stats().Lose).toBe(1)
      expect(yield* readable(a, "big")).toEqual(Option.none())
      expect(Chunk.toReadonlyArray(yield* Stream.runCollect(a.keys))).toEqual([])
      expect(yield* chunkItems(prefix)).toBe(0)
    }))
})

describe("case 3: every terminal failure after an attempt that may have been applied is UnknownOutcome", () => {
  it.scopedLive("update applied, its answer lost, then throttled until the schedule is spent: UnknownOutcome", () =>
    Effect.gen(function*() {
      const { a, b, proxy } = yield* stores({ retry: { maxAttempts: 3, baseDelay: "1 millis" } })
      yield* b.assoc("n", 0)
      proxy.setRule((request) =>
        request.command === "UpdateItem" && request.n === 0
          ? { _tag: "Lose" }
          : request.command === "UpdateItem" || (request.command === "GetItem" && request.n > 0)
          ? { _tag: "Throttle" }
          : { _tag: "Pass" }
      )
      const error = yield* Effect.flip(a.update("n", inc))
      expect(codeOf(error)).toBe("UnknownOutcome")
      expect(error.message).toContain("ProvisionedThroughputExceededException")
      // it was applied: retrying on Throttled would have applied it twice
      expect(yield* b.get("n")).toEqual(Option.some(1))
    }))

  it.scopedLive("the same, but the head can still be read: the read tells it was applied", () =>
    Effect.gen(function*() {
      const { a, b, proxy } = yield* stores({ retry: { maxAttempts: 3, baseDelay: "1 millis" } })
      yield* b.assoc("n", 0)
      proxy.setRule((request) =>
        request.command !== "UpdateItem"
          ? { _tag: "Pass" }
          : request.n === 0
          ? { _tag: "Lose" }
          : { _tag: "Throttle" }
      )
      const { after } = yield* a.update("n", inc)
      expect(after).toBe(1)
      expect(yield* b.get("n")).toEqual(Option.some(1))
    }))

  it.scopedLive("the same for a write never applied (reset before DynamoDB), another writer past it: Throttled", () =>
    Effect.gen(function*() {
      const { a, b, proxy } = yield* stores({ retry: { maxAttempts: 3, baseDelay: "1 millis" } })
      yield* b.assoc("n", 0)
      proxy.setRule((request) =>
        request.command !== "UpdateItem"
          ? { _tag: "Pass" }
          : request.n === 0
          ? { _tag: "Reset", before: meanwhile(b.assoc("n", 10)) }
          : { _tag: "Throttle" }
      )
      // the head is past the write's version and reaches back to it without it: never applied, and never will be
      const error = yield* Effect.flip(a.assoc("n", 1))
      expect(error._tag).toBe("Throttled")
      expect(yield* b.get("n")).toEqual(Option.some(10))
    }))

  it.scopedLive("the same throttling with no ambiguous attempt is Throttled: nothing was applied", () =>
    Effect.gen(function*() {
      const { a, b, proxy } = yield* stores({ retry: { maxAttempts: 3, baseDelay: "1 millis" } })
      yield* b.assoc("n", 0)
      proxy.setRule((request) => request.command === "UpdateItem" ? { _tag: "Throttle" } : { _tag: "Pass" })
      const error = yield* Effect.flip(a.update("n", inc))
      expect(error._tag).toBe("Throttled")
      expect(yield* b.get("n")).toEqual(Option.some(0))
    }))

  it.scopedLive("a transaction applied, its answer lost, then failing for good, its heads unreadable: UnknownOutcome", () =>
    Effect.gen(function*() {
      const { a, b, proxy } = yield* stores({ retry: { maxAttempts: 3, baseDelay: "1 millis" } })
      proxy.setRule((request) =>
        request.command === "TransactWriteItems"
          ? request.n === 0 ? { _tag: "Lose" } : { _tag: "Error500" }
          : request.command === "GetItem" && request.n > 0
          ? { _tag: "Throttle" }
          : { _tag: "Pass" }
      )
      const error = yield* Effect.flip(a.append("log", "once"))
      expect(codeOf(error)).toBe("UnknownOutcome")
      expect(yield* b.log("log")).toEqual(Option.some(["once"]))
    }))
})

describe("transactions settle by reading (issue 14, item 3)", () => {
  /** The first TransactWriteItems applied and its answer lost, every resend throttled; reads pass. */
  const lostThenThrottled: Proxy.Rule = (request) =>
    request.command !== "TransactWriteItems"
      ? { _tag: "Pass" }
      : request.n === 0
      ? { _tag: "Lose" }
      : { _tag: "Throttle" }

  it.scopedLive("an append applied, its answer lost, every resend throttled: one read of the head tells it applied", () =>
    Effect.gen(function*() {
      const { a, b, proxy } = yield* stores({ retry: { maxAttempts: 3, baseDelay: "1 millis" } })
      yield* b.append("log", "first")
      proxy.setRule(lostThenThrottled)
      yield* a.append("log", "once")
      expect(proxy.stats().Lose).toBe(1)
      expect(yield* b.log("log")).toEqual(Option.some(["first", "once"]))
    }))

  it.scopedLive("an atomic multiAssoc applied, its answer lost, every resend throttled: one read tells it applied", () =>
    Effect.gen(function*() {
      const { a, b, proxy } = yield* stores({ retry: { maxAttempts: 3, baseDelay: "1 millis" } })
      yield* b.assoc("x", "old")
      proxy.setRule(lostThenThrottled)
      yield* a.multiAssoc({ x: 1, y: 2 })
      expect(proxy.stats().Lose).toBe(1)
      expect(yield* b.multiGet(["x", "y"])).toEqual(new Map<string, unknown>([["x", 1], ["y", 2]]))
    }))

  it.scopedLive("an atomic multiDissoc applied, its answer lost, every resend throttled: one read tells it applied", () =>
    Effect.gen(function*() {
      const { a, b, proxy } = yield* stores({ retry: { maxAttempts: 3, baseDelay: "1 millis" } })
      yield* b.multiAssoc({ x: 1, y: 2 })
      proxy.setRule(lostThenThrottled)
      expect(yield* a.multiDissoc(["x", "y", "z"])).toEqual(new Map([["x", true], ["y", true], ["z", false]]))
      expect(proxy.stats().Lose).toBe(1)
      expect(yield* b.multiGet(["x", "y"])).toEqual(new Map())
    }))

  it.scopedLive("an atomic multiAssoc never applied (reset before DynamoDB), another writer past it: Throttled", () =>
    Effect.gen(function*() {
      const { a, b, proxy } = yield* stores({ retry: { maxAttempts: 3, baseDelay: "1 millis" } })
      yield* b.assoc("x", "old")
      proxy.setRule((request) =>
        request.command !== "TransactWriteItems"
          ? { _tag: "Pass" }
          : request.n === 0
          ? { _tag: "Reset", before: meanwhile(Effect.zipRight(Effect.sleep("5 millis"), b.assoc("x", "theirs"))) }
          : { _tag: "Throttle" }
      )
      const error = yield* Effect.flip(a.multiAssoc({ x: 1, y: 2 }))
      expect(error._tag).toBe("Throttled")
      expect(yield* b.multiGet(["x", "y"])).toEqual(new Map<string, unknown>([["x", "theirs"]]))
    }))
})

describe("case 4: a user's client with the SDK's own retries on", () => {
  it.scopedLive("the SDK resends an update whose answer was lost, over another writer's blind write: f runs once", () =>
    Effect.gen(function*() {
      const proxy = yield* Proxy.make(endpoint())
      // the SDK's defaults: its standard retry strategy, 3 attempts
      const client = new DynamoDBClient(clientConfig(proxy.endpoint))
      yield* Effect.addFinalizer(() => Effect.sync(() => client.destroy()))
      const prefix = `p${prefixes++}`
      const store = yield* Effect.provide(
        KonserveStore.KonserveStore,
        DynamoDBStore.layerWithClient({ client, table, prefix })
      )
      const other = yield* DynamoDBStore.make(storeConfig(endpoint(), table, { prefix }))
      yield* store.assoc("n", 8)
      let calls = 0
      // applied, answer lost; then another writer sets the value it sees (a blind write), then the SDK resends
      proxy.setRule(Proxy.loseFirst("UpdateItem", 1, meanwhile(other.assoc("n", 9))))
      const { after } = yield* store.update("n", (n) => {
        calls++
        return inc(n)
      })
      // the SDK sent it twice (its own retry); the store saw one failed condition, and the head's history
      expect(proxy.stats().Lose).toBe(1)
      expect([after, calls]).toEqual([9, 1])
      expect(yield* store.get("n")).toEqual(Option.some(9))
    }))
})

describe("case 5: what DynamoDB still tells is decided, not UnknownOutcome", () => {
  it.scopedLive("an update whose lost write another writer built on: recognised as applied", () =>
    Effect.gen(function*() {
      const { a, b, proxy } = yield* stores()
      yield* b.assoc("n", 0)
      proxy.setRule(Proxy.loseFirst("UpdateItem", 1, meanwhile(b.update("n", inc))))
      const { after } = yield* a.update("n", inc)
      expect(after).toBe(1)
      expect(yield* b.get("n")).toEqual(Option.some(2))
    }))

  it.scopedLive("an update whose lost attempt never reached the engine: its base tells, f re-runs on the fresh value", () =>
    Effect.gen(function*() {
      const { a, b, proxy } = yield* stores()
      yield* b.assoc("n", 0)
      // the first attempt's connection resets before the engine (the store cannot tell it from a lost answer);
      // another writer changes the key before the resend
      proxy.setRule((request) =>
        request.command === "UpdateItem" && request.n === 0
          ? { _tag: "Reset", before: meanwhile(b.update("n", inc)) }
          : { _tag: "Pass" }
      )
      const { after } = yield* a.update("n", inc)
      expect(after).toBe(2)
      expect(yield* b.get("n")).toEqual(Option.some(2))
    }))

  it.scopedLive("a blind assoc whose lost attempt never reached the engine, then other writes: written once, last", () =>
    Effect.gen(function*() {
      const { a, b, proxy } = yield* stores()
      yield* b.assoc("k", "old")
      proxy.setRule((request) =>
        request.command === "UpdateItem" && request.n === 0
          ? { _tag: "Reset", before: meanwhile(Effect.zipRight(b.assoc("k", "theirs"), b.assoc("k", "theirs again"))) }
          : { _tag: "Pass" }
      )
      yield* a.assoc("k", "mine")
      expect(yield* readable(a, "k")).toEqual(Option.some("mine"))
    }))
})

describe("case 6: a read of a key that changes kind under it restarts, never made up", () => {
  it.scopedLive("get and multiGet of a log being rewritten into a value see the log or the value, never []", () =>
    Effect.gen(function*() {
      const { a, b, proxy } = yield* stores()
      for (const key of ["k1", "k2"]) {
        yield* b.append(key, "first")
        yield* b.append(key, "second")
      }
      // between the reader's head and its Query of the elements, the log becomes a value
      proxy.setRule((request) =>
        request.command === "Query" && request.n === 0
          ? { _tag: "Hold", until: () => Effect.runPromise(b.assoc("k1", "a value")) }
          : request.command === "Query" && request.n === 1
          ? { _tag: "Hold", until: () => Effect.runPromise(b.assoc("k2", "a value")) }
          : { _tag: "Pass" }
      )
      expect(yield* a.get("k1")).toEqual(Option.some("a value"))
      expect((yield* a.multiGet(["k2"])).get("k2")).toBe("a value")
    }))
})

describe("requests that reach the engine late, and timeouts", () => {
  it.scopedLive("an update held past its client's timeout, applied after the resend: applied once", () =>
    Effect.gen(function*() {
      const { a, b, proxy } = yield* stores({ timeouts: { request: "300 millis" } })
      yield* b.assoc("n", 0)
      let resent: () => void = () => {}
      const resend = new Promise<void>((resolve) => {
        resent = resolve
      })
      // the first attempt reaches the engine only after the resend was answered
      proxy.setRule((request) =>
        request.command === "UpdateItem" && request.n === 0
          ? { _tag: "Hold", until: () => resend }
          : request.command === "UpdateItem" && request.n === 1
          ? { _tag: "Hold", until: async () => setTimeout(resent, 50) }
          : { _tag: "Pass" }
      )
      const { after } = yield* a.update("n", inc)
      expect(after).toBe(1)
      yield* Effect.promise(() => resend)
      yield* Effect.sleep("200 millis")
      expect(yield* b.get("n")).toEqual(Option.some(1))
    }))

  it.scopedLive("interrupting an operation cancels its HTTP request (own client and borrowed client)", () =>
    Effect.gen(function*() {
      const { a, proxy } = yield* stores()
      const borrowed = new DynamoDBClient({ ...clientConfig(proxy.endpoint), maxAttempts: 1 })
      yield* Effect.addFinalizer(() => Effect.sync(() => borrowed.destroy()))
      const b = yield* Effect.provide(
        KonserveStore.KonserveStore,
        DynamoDBStore.layerWithClient({ client: borrowed, table, prefix: `p${prefixes++}` })
      )
      proxy.setRule((request) =>
        request.command === "GetItem" ? { _tag: "Hold", until: () => new Promise(() => {}) } : { _tag: "Pass" }
      )
      for (const store of [a, b]) {
        const before = proxy.abandoned()
        const fiber = yield* Effect.fork(store.get("k"))
        yield* Effect.sleep("200 millis")
        yield* Fiber.interrupt(fiber)
        yield* Effect.sleep("200 millis")
        expect(proxy.abandoned()).toBe(before + 1)
      }
    }))

  it.scopedLive("a request that never gets an answer times out and is retried on the schedule, not hung", () =>
    Effect.gen(function*() {
      const { a, proxy } = yield* stores({
        timeouts: { request: "200 millis" },
        retry: { maxAttempts: 2, baseDelay: "1 millis" }
      })
      proxy.setRule((request) =>
        request.command === "GetItem" ? { _tag: "Hold", until: () => new Promise(() => {}) } : { _tag: "Pass" }
      )
      const error = yield* Effect.flip(a.get("k"))
      expect(error._tag).toBe("DynamoDBError")
      if (error._tag === "DynamoDBError") {
        expect(error.code).toBe("ETIMEDOUT")
        expect(error.message).toContain("2 attempts")
      }
    }))
})

describe("a borrowed client with the SDK's retries on and no request timeout (issue 14, also)", () => {
  it.scopedLive("each of the store's attempts is aborted at its deadline, and nothing is sent after the store gave up", () =>
    Effect.gen(function*() {
      // the table made first, and the borrowed client's connection warm, before the deadline is short
      yield* stores()
      const proxy = yield* Proxy.make(endpoint())
      // the SDK's defaults: 3 attempts, no request timeout
      const client = new DynamoDBClient(clientConfig(proxy.endpoint))
      yield* Effect.addFinalizer(() => Effect.sync(() => client.destroy()))
      const store = yield* Effect.locally(
        Effect.provide(
          KonserveStore.KonserveStore,
          DynamoDBStore.layerWithClient({
            client,
            table,
            prefix: `p${prefixes++}`,
            retry: { maxAttempts: 2, baseDelay: "1 millis" }
          })
        ),
        ClientInternal.borrowedAttemptMillis,
        1000
      )
      let updates = 0
      // a dead connection: UpdateItems are never answered (and never reach the engine)
      proxy.setRule((request) => {
        if (request.command !== "UpdateItem") return { _tag: "Pass" }
        updates++
        return { _tag: "Hold", until: () => new Promise(() => {}) }
      })
      const error = yield* Effect.flip(store.assoc("k", 1))
      expect(codeOf(error)).toBe("UnknownOutcome")
      expect(error.message).toContain("aborted this UpdateItem attempt after 1s")
      const sent = updates
      expect(sent).toBeGreaterThanOrEqual(2)
      yield* Effect.sleep("1 second")
      expect(updates).toBe(sent)
    }))
})
