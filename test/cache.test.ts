/**
 * `KonserveStore.layerCache` over MemoryStore: hits, read-your-writes for
 * every write kind, expiry, eviction by bytes, shared loads, and the
 * invalidation stream (drops, replacements, old changes, a load racing an
 * invalidation, the stream failing and coming back). The two-process
 * scenario on DynamoDB Local is `cache.dynamodb.test.ts`.
 */
import { assert, describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/TestClock"
import { ENTRY_OVERHEAD } from "../src/internal/cache/entries.js"
import * as Retry from "../src/internal/retry.js"
import * as KonserveStore from "../src/KonserveStore.js"
import * as MemoryStore from "../src/MemoryStore.js"
import { counting, makeFeed, makeGate, total, writeChange } from "./utils/cache.js"

type Store = KonserveStore.KonserveStore

/** The cache over `store`, built in the test's scope. */
const cacheOver = (store: Store, options?: KonserveStore.CacheOptions) =>
  Effect.map(
    Layer.build(
      KonserveStore.layerCache(options).pipe(Layer.provide(Layer.succeed(KonserveStore.KonserveStore, store)))
    ),
    Context.get(KonserveStore.KonserveStore)
  )

/** A memory store, the same store with its reads counted, and a cache over the counted one. */
const setup = (options?: KonserveStore.CacheOptions, counted?: Parameters<typeof counting>[1]) =>
  Effect.gen(function*() {
    const base = yield* MemoryStore.make()
    const { counts, store } = counting(base, counted)
    const cache = yield* cacheOver(store, options ?? { ttl: "1 hour" })
    return { base, counts, cache }
  })

/** Waits (on the live clock, at most 5 s) until `check` holds. */
const eventually = (check: Effect.Effect<boolean, unknown>) =>
  Retry.live(Effect.gen(function*() {
    for (let i = 0; i < 500; i++) {
      if (yield* check) return
      yield* Effect.sleep("10 millis")
    }
    assert.fail("the condition did not hold within 5 s")
  }))

const metaOf = (store: Store, key: string) => Effect.map(store.getMeta(key), Option.getOrThrow)

describe("KonserveStore.layerCache", () => {
  describe("options", () => {
    it.scoped("neither invalidations nor ttl fails with InvalidConfiguration", () =>
      Effect.gen(function*() {
        const base = yield* MemoryStore.make()
        for (const options of [undefined, {}, { maxBytes: 1024 }]) {
          const error = yield* Effect.flip(cacheOver(base, options))
          expect(error._tag).toBe("DynamoDBError")
          expect(error.code).toBe("InvalidConfiguration")
          expect(error.message).toContain("ttl")
        }
        for (
          const options of [{ ttl: "1 minute", maxBytes: 0 }, { ttl: "1 minute", maxBytes: 1.5 }, { ttl: -5 }] as const
        ) {
          const error = yield* Effect.flip(cacheOver(base, options))
          expect(error.code).toBe("InvalidConfiguration")
        }
      }))
  })

  describe("reads", () => {
    it.scoped("get, getIn, getMeta, exists and a key known absent are answered from memory", () =>
      Effect.gen(function*() {
        const { cache, counts } = yield* setup()
        yield* cache.assoc("k", { a: { b: [1, 2] } })
        expect(yield* cache.get("k")).toEqual(Option.some({ a: { b: [1, 2] } }))
        const before = total(counts)
        expect(yield* cache.get("k")).toEqual(Option.some({ a: { b: [1, 2] } }))
        expect(yield* cache.getIn(["k", "a", "b", 1])).toEqual(Option.some(2))
        expect(Option.getOrThrow(yield* cache.getMeta("k")).type).toBe("value")
        expect(yield* cache.exists("k")).toBe(true)
        expect(total(counts)).toBe(before)
        expect(yield* cache.get("missing")).toEqual(Option.none())
        const afterMiss = total(counts)
        expect(yield* cache.get("missing")).toEqual(Option.none())
        expect(yield* cache.exists("missing")).toBe(false)
        expect(total(counts)).toBe(afterMiss)
      }))

    it.scoped("every hit is a fresh copy: changing what was read changes nothing cached", () =>
      Effect.gen(function*() {
        const { cache } = yield* setup()
        yield* cache.assoc("k", { list: [1], when: new Date(0), m: new Map([["x", new Uint8Array([1])]]) })
        type Shape = { list: Array<number>; when: Date; m: Map<string, Uint8Array> }
        const first = Option.getOrThrow(yield* cache.get("k")) as Shape
        first.list.push(2)
        first.when.setTime(5)
        first.m.get("x")![0] = 9
        const second = Option.getOrThrow(yield* cache.get("k"))
        expect(second).toEqual({ list: [1], when: new Date(0), m: new Map([["x", new Uint8Array([1])]]) })
        const meta = Option.getOrThrow(yield* cache.getMeta("k"))
        ;(meta.lastWrite as Date).setTime(12345)
        expect(Option.getOrThrow(yield* cache.getMeta("k")).lastWrite.getTime()).not.toBe(12345)
      }))

    it.scoped("multiGet sends only the keys not cached, in one batch", () =>
      Effect.gen(function*() {
        const { base, cache, counts } = yield* setup()
        yield* base.multiAssoc({ a: 1, b: 2, c: 3 })
        yield* cache.get("a")
        yield* cache.get("zz")
        counts.readMany.length = 0
        const found = yield* cache.multiGet(["a", "b", "c", "d", "zz"])
        expect(Array.from(found)).toEqual([["a", 1], ["b", 2], ["c", 3]])
        expect(counts.readMany).toEqual([["b", "c", "d"]])
        const again = yield* cache.multiGet(["c", "b", "a", "d"])
        expect(Array.from(again)).toEqual([["c", 3], ["b", 2], ["a", 1]])
        expect(counts.readMany.length).toBe(1)
      }))

    it.scoped("binaries and logs are not cached: their reads go to the store", () =>
      Effect.gen(function*() {
        const { cache, counts } = yield* setup()
        yield* cache.bassoc("bin", new Uint8Array([1, 2, 3]))
        yield* cache.append("log", "x")
        expect(yield* cache.get("bin")).toEqual(Option.some(new Uint8Array([1, 2, 3])))
        const before = counts.get + counts.read
        expect(yield* cache.get("bin")).toEqual(Option.some(new Uint8Array([1, 2, 3])))
        expect(yield* cache.get("log")).toEqual(Option.some(["x"]))
        expect(yield* cache.get("log")).toEqual(Option.some(["x"]))
        expect(counts.get + counts.read).toBeGreaterThanOrEqual(before + 3)
        expect(yield* cache.log("log")).toEqual(Option.some(["x"]))
      }))

    for (const withReads of [true, false]) {
      it.scoped(`concurrent loads of one key share one request (${withReads ? "value+Meta read" : "getMeta and get"})`, () =>
        Effect.gen(function*() {
          const gate = yield* makeGate
          const base = yield* MemoryStore.make()
          yield* base.assoc("k", "v")
          const { counts, store } = counting(base, { gate: gate.pass, withReads })
          const cache = yield* cacheOver(store, { ttl: "1 hour" })
          const fibers = yield* Effect.forEach(
            Array.from({ length: 16 }, (_, i) => i),
            (i) => Effect.fork(i % 2 === 0 ? cache.get("k") : cache.getIn(["k"])),
            { concurrency: "unbounded" }
          )
          yield* Effect.yieldNow()
          yield* gate.open
          const results = yield* Effect.forEach(fibers, Fiber.join)
          for (const result of results) expect(result).toEqual(Option.some("v"))
          if (withReads) expect(counts.read).toBe(1)
          else expect([counts.get, counts.getMeta]).toEqual([1, 1])
          expect(yield* cache.get("k")).toEqual(Option.some("v"))
          expect(total(counts)).toBe(withReads ? 1 : 2)
        }))
    }
  })

  describe("read-your-writes in this process", () => {
    const Person = Schema.Struct({ name: Schema.String, age: Schema.Number })
    const writes: ReadonlyArray<
      readonly [string, (cache: Store, key: string) => Effect.Effect<unknown, unknown>, unknown]
    > = [
      ["assoc", (c, k) => c.assoc(k, "new"), "new"],
      [
        "assoc ifVersion",
        (c, k) => Effect.flatMap(metaOf(c, k), (m) => c.assoc(k, "new", { ifVersion: m.version })),
        "new"
      ],
      ["assocIn", (c, k) => c.assocIn([k, "name"], "new"), { name: "new", age: 1 }],
      ["update", (c, k) => c.update(k, () => "new"), "new"],
      ["updateIn", (c, k) => c.updateIn([k, "age"], () => 2), { name: "old", age: 2 }],
      ["dissoc", (c, k) => c.dissoc(k), undefined],
      [
        "dissoc ifVersion",
        (c, k) => Effect.flatMap(metaOf(c, k), (m) => c.dissoc(k, { ifVersion: m.version })),
        undefined
      ],
      ["multiAssoc atomic", (c, k) => c.multiAssoc([[k, "new"], ["other", 1]]), "new"],
      ["multiAssoc batches", (c, k) => c.multiAssoc({ [k]: "new" }, { atomic: false }), "new"],
      ["multiDissoc", (c, k) => c.multiDissoc([k, "other"]), undefined],
      ["multiDissoc batches", (c, k) => c.multiDissoc([k], { atomic: false }), undefined],
      ["append", (c, k) => Effect.zipRight(c.dissoc(k), c.append(k, "e")), ["e"]],
      ["bassoc", (c, k) => c.bassoc(k, "new"), new TextEncoder().encode("new")],
      ["forSchema assoc", (c, k) => c.forSchema(Person).assoc(k, { name: "new", age: 3 }), { name: "new", age: 3 }],
      ["forSchema update", (c, k) => c.forSchema(Person).update(k, (p) => ({ ...Option.getOrThrow(p), age: 4 })), {
        name: "old",
        age: 4
      }],
      ["forSchema updateIn", (c, k) => c.forSchema(Person).updateIn([k, "age"], () => 5), { name: "old", age: 5 }],
      ["forSchema assocIn", (c, k) => c.forSchema(Person).assocIn([k, "name"], "new"), { name: "new", age: 1 }],
      ["forSchema multiAssoc", (c, k) => c.forSchema(Person).multiAssoc([[k, { name: "new", age: 6 }]]), {
        name: "new",
        age: 6
      }],
      ["transact", (c, k) => c.transact([k], () => Effect.succeed({ assoc: [[k, "new"]], result: 0 })), "new"],
      ["transact dissoc", (c, k) => c.transact([k], () => Effect.succeed({ dissoc: [k], result: 0 })), undefined],
      [
        "forSchema transact",
        (c, k) =>
          c.forSchema(Person).transact(
            [k],
            (current) => Effect.succeed({ assoc: { [k]: { ...current.get(k)!, age: 7 } }, result: 0 })
          ),
        { name: "old", age: 7 }
      ]
    ]
    for (const [name, write, expected] of writes) {
      it.scoped(name, () =>
        Effect.gen(function*() {
          const { cache } = yield* setup()
          const key = "k"
          yield* cache.assoc(key, { name: "old", age: 1 })
          // cached, get and getMeta both
          yield* cache.get(key)
          yield* cache.getMeta(key)
          yield* cache.forSchema(Person).get(key)
          yield* write(cache, key)
          const seen = yield* cache.get(key)
          expect(seen).toEqual(expected === undefined ? Option.none() : Option.some(expected))
          expect(yield* cache.exists(key)).toBe(expected !== undefined)
        }))
    }

    it.scoped("a write that fails still drops its key (it may have been applied)", () =>
      Effect.gen(function*() {
        const { base, cache } = yield* setup()
        yield* cache.assoc("k", 1)
        yield* cache.get("k")
        const failing: Store = {
          ...base,
          assoc: (key, value) => Effect.zipRight(base.assoc(key, value), Effect.die("lost"))
        }
        const cache2 = yield* cacheOver(failing, { ttl: "1 hour" })
        yield* cache2.get("k")
        const exit = yield* Effect.exit(cache2.assoc("k", 2))
        assert.isTrue(Exit.isFailure(exit))
        expect(yield* cache2.get("k")).toEqual(Option.some(2))
      }))

    it.scoped("a load that started before a write of this process does not keep what it read", () =>
      Effect.gen(function*() {
        const gate = yield* makeGate
        const base = yield* MemoryStore.make()
        yield* base.assoc("k", "old")
        const { store } = counting(base, { gate: gate.pass })
        const cache = yield* cacheOver(store, { ttl: "1 hour" })
        const reader = yield* Effect.fork(cache.get("k"))
        yield* Effect.yieldNow()
        yield* base.assoc("k", "new")
        yield* cache.dissoc("nothing")
        yield* Effect.fork(cache.assoc("k", "newer"))
        yield* gate.open
        expect(yield* Fiber.join(reader)).toEqual(Option.some("old"))
        expect(yield* cache.get("k")).toEqual(Option.some("newer"))
      }))
  })

  describe("transact", () => {
    it.scoped("f reads the store, not the cache; every key named is dropped once it ends (read-your-writes)", () =>
      Effect.gen(function*() {
        const { base, cache } = yield* setup()
        yield* cache.multiAssoc({ a: 1, b: 10, c: 100 })
        yield* cache.multiGet(["a", "b", "c"])
        yield* base.multiAssoc({ a: 2, b: 20, c: 200 }) // another writer: nothing tells the cache
        expect(yield* cache.multiGet(["a", "b", "c"])).toEqual(new Map([["a", 1], ["b", 10], ["c", 100]]))
        const seen = yield* cache.transact(
          ["a", "b", "c"],
          (current) =>
            Effect.succeed({ assoc: [["a", (current.get("a") as number) + 5]], dissoc: ["b"], result: current })
        )
        expect(seen).toEqual(new Map([["a", 2], ["b", 20], ["c", 200]]))
        expect(yield* cache.get("a")).toEqual(Option.some(7))
        expect(yield* cache.get("b")).toEqual(Option.none())
        expect(yield* cache.get("c")).toEqual(Option.some(200)) // only read, dropped all the same
        // a transaction whose f fails drops its keys too
        yield* base.assoc("c", 300)
        expect(yield* cache.get("c")).toEqual(Option.some(200))
        expect(yield* Effect.flip(cache.transact(["c"], () => Effect.fail("no" as const)))).toBe("no")
        expect(yield* cache.get("c")).toEqual(Option.some(300))
      }))
  })

  describe("expiry", () => {
    it.scoped("an entry is never served after its key's ttl expiry (TestClock)", () =>
      Effect.gen(function*() {
        const { cache, counts } = yield* setup({ ttl: "1 hour" })
        yield* cache.assoc("k", "v", { ttl: "10 seconds" })
        expect(yield* cache.get("k")).toEqual(Option.some("v"))
        expect(yield* cache.exists("k")).toBe(true)
        const before = total(counts)
        yield* TestClock.adjust("9999 millis")
        expect(yield* cache.get("k")).toEqual(Option.some("v"))
        expect(total(counts)).toBe(before)
        yield* TestClock.adjust("1 millis")
        expect(yield* cache.get("k")).toEqual(Option.none())
        expect(yield* cache.getMeta("k")).toEqual(Option.none())
        expect(yield* cache.exists("k")).toBe(false)
        expect(yield* cache.multiGet(["k"])).toEqual(new Map())
      }))

    it.scoped("an entry lives at most the cache's ttl: another writer's value is seen after it", () =>
      Effect.gen(function*() {
        const { base, cache } = yield* setup({ ttl: "30 seconds" })
        yield* cache.assoc("k", "old")
        expect(yield* cache.get("k")).toEqual(Option.some("old"))
        yield* base.assoc("k", "new") // another process: nothing tells the cache
        yield* TestClock.adjust("29 seconds")
        expect(yield* cache.get("k")).toEqual(Option.some("old"))
        yield* TestClock.adjust("1 second")
        expect(yield* cache.get("k")).toEqual(Option.some("new"))
      }))
  })

  describe("eviction", () => {
    it.scoped("the least recently used entries are evicted past maxBytes, counted in encoded bytes", () =>
      Effect.gen(function*() {
        const value = "x".repeat(1000)
        const base = yield* MemoryStore.make()
        yield* base.multiAssoc({ a: value, b: value, c: value, d: "small" })
        const size = Option.getOrThrow(yield* base.getMeta("a")).size
        const entry = size + ENTRY_OVERHEAD + 1
        const { counts, store } = counting(base)
        // room for two entries of 1000 characters, not three
        const cache = yield* cacheOver(store, { ttl: "1 hour", maxBytes: 2 * entry + entry / 2 })
        yield* cache.get("a")
        yield* cache.get("b")
        yield* cache.get("a") // a is now the most recently used
        yield* cache.get("c") // evicts b
        const before = counts.read
        yield* cache.get("a")
        yield* cache.get("c")
        expect(counts.read).toBe(before)
        yield* cache.get("b")
        expect(counts.read).toBe(before + 1)
        // an entry larger than the whole budget is not kept
        yield* base.assoc("huge", "y".repeat(10_000))
        yield* cache.get("huge")
        yield* cache.get("huge")
        expect(counts.read).toBe(before + 3)
      }))
  })

  describe("invalidations", () => {
    it.scoped("a change drops the entry, or replaces it with its inline value; an older one is ignored", () =>
      Effect.gen(function*() {
        const feed = yield* makeFeed()
        const { base, cache, counts } = yield* setup({ invalidations: feed.stream })
        yield* cache.assoc("k", "v1")
        expect(yield* cache.get("k")).toEqual(Option.some("v1"))
        const v1 = yield* metaOf(base, "k")
        // another process writes: the cache serves v1 until the change comes
        yield* base.assoc("k", "v2")
        expect(yield* cache.get("k")).toEqual(Option.some("v1"))
        yield* feed.publish(writeChange(yield* metaOf(base, "k")))
        yield* eventually(Effect.map(cache.get("k"), (v) => Option.getOrNull(v) === "v2"))
        // a change with the inline value of a newer version replaces the entry: no read
        yield* base.assoc("k", "v3")
        const v3 = yield* metaOf(base, "k")
        const reads = total(counts)
        yield* feed.publish(writeChange(v3, { value: "v3" }))
        yield* eventually(Effect.map(cache.get("k"), (v) => Option.getOrNull(v) === "v3"))
        expect(total(counts)).toBe(reads)
        // an older change (v1's, delivered again late) is ignored, even with a value
        yield* feed.publish(writeChange(v1, { value: "stale" }))
        yield* feed.publish(writeChange(v1))
        yield* Retry.live(Effect.sleep("50 millis"))
        expect(yield* cache.get("k")).toEqual(Option.some("v3"))
        expect(total(counts)).toBe(reads)
        // a removal drops it
        yield* base.dissoc("k")
        yield* feed.publish({ ...writeChange(v3), op: "remove", meta: Option.none(), version: "tombstone" })
        yield* eventually(Effect.map(cache.get("k"), Option.isNone))
        // a key known absent is dropped by any change
        yield* base.assoc("k", "v4")
        yield* feed.publish(writeChange(v1))
        yield* eventually(Effect.map(cache.get("k"), (v) => Option.getOrNull(v) === "v4"))
      }))

    it.scoped("a load in flight when its key is invalidated does not keep what it read", () =>
      Effect.gen(function*() {
        const feed = yield* makeFeed()
        const gate = yield* makeGate
        const base = yield* MemoryStore.make()
        yield* base.assoc("k", "old")
        const { store } = counting(base, { gate: gate.pass })
        const cache = yield* cacheOver(store, { invalidations: feed.stream })
        const reader = yield* Effect.fork(cache.get("k"))
        yield* Effect.yieldNow()
        yield* base.assoc("k", "new")
        yield* feed.publish(writeChange(yield* metaOf(base, "k")))
        yield* Retry.live(Effect.sleep("50 millis"))
        yield* gate.open
        expect(yield* Fiber.join(reader)).toEqual(Option.some("old"))
        expect(yield* cache.get("k")).toEqual(Option.some("new"))
      }))

    it.scoped("the stream failing empties the cache, reads pass through (nothing stale), then it serves again", () =>
      Effect.gen(function*() {
        const feed = yield* makeFeed()
        const { base, cache, counts } = yield* setup({ invalidations: feed.stream })
        yield* cache.assoc("k", "v1")
        yield* cache.get("k")
        const reads = total(counts)
        expect(yield* cache.get("k")).toEqual(Option.some("v1"))
        expect(total(counts)).toBe(reads)
        yield* feed.block
        yield* feed.fail
        // down: every read goes to the store
        yield* eventually(
          Effect.map(Effect.zipRight(cache.get("k"), Effect.sync(() => total(counts))), (n) => n > reads)
        )
        // a write nobody announces (the feed is down) is seen at once
        yield* base.assoc("k", "v2")
        for (let i = 0; i < 3; i++) expect(yield* cache.get("k")).toEqual(Option.some("v2"))
        const passed = total(counts)
        yield* cache.get("k")
        expect(total(counts)).toBe(passed + 1)
        // reconnected, but nothing delivered yet: still passing through
        yield* base.assoc("other", 0)
        const other = writeChange(yield* metaOf(base, "other"))
        const subscribed = yield* feed.subscriptions
        yield* feed.unblock
        yield* eventually(Effect.map(feed.subscriptions, (n) => n > subscribed))
        yield* Retry.live(Effect.sleep("50 millis"))
        const reconnected = total(counts)
        yield* cache.get("k")
        yield* cache.get("k")
        expect(total(counts)).toBe(reconnected + 2)
        // back at its first change: served from memory again, and changes apply again
        yield* eventually(Effect.gen(function*() {
          yield* feed.publish(other)
          yield* cache.get("k")
          const n = total(counts)
          yield* cache.get("k")
          return total(counts) === n
        }))
        expect(yield* feed.runs).toBeGreaterThan(1)
        yield* base.assoc("k", "v3")
        expect(yield* cache.get("k")).toEqual(Option.some("v2"))
        yield* feed.publish(writeChange(yield* metaOf(base, "k")))
        yield* eventually(Effect.map(cache.get("k"), (v) => Option.getOrNull(v) === "v3"))
      }))

    it.scoped("a stream that fails as it starts fails the layer", () =>
      Effect.gen(function*() {
        const feed = yield* makeFeed()
        yield* feed.block
        const base = yield* MemoryStore.make()
        const error = yield* Effect.flip(cacheOver(base, { invalidations: feed.stream }))
        expect(error.code).toBe("FeedLost")
      }))
  })
})
