/**
 * The cache across two processes on DynamoDB Local: two stores with clients
 * of their own on one table, `a` cached, `b` not; `b`'s writes reach `a`'s
 * cache only through an invalidation stream. The stream here is made from
 * `b`'s writes (`observed` in test/utils/cacheChecker.ts); the checker takes
 * any stream, `DynamoDBStore.changes(config)` included.
 */
import { assert, describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as DynamoDBStore from "../src/DynamoDBStore.js"
import * as Retry from "../src/internal/retry.js"
import type { KonserveError } from "../src/KonserveError.js"
import * as KonserveStore from "../src/KonserveStore.js"
import { check, observed, runWorkload } from "./utils/cacheChecker.js"
import { endpoint, storeConfig, uniqueTable } from "./utils/dynamodb.js"

const table = uniqueTable("cache")
let prefixes = 0

/** Two stores on one table and prefix, each with its own client. */
const twoStores = Effect.gen(function*() {
  const config = storeConfig(endpoint(), table, { prefix: `p${prefixes++}` })
  const a = yield* DynamoDBStore.make(config)
  const b = yield* DynamoDBStore.make(config)
  return { a, b }
})

const cacheOver = (store: KonserveStore.KonserveStore, options: KonserveStore.CacheOptions) =>
  Effect.map(
    Layer.build(
      KonserveStore.layerCache(options).pipe(Layer.provide(Layer.succeed(KonserveStore.KonserveStore, store)))
    ),
    Context.get(KonserveStore.KonserveStore)
  )

/**
 * The lag bound of a run: the longest the stream took from one of `b`'s
 * writes to publishing its change, plus 100 ms for the cache to apply it
 * (on a machine this busy, a fixed bound would be either loose or flaky).
 */
const lagBound = (lags: ReadonlyArray<number>): number => Math.max(0, ...lags) + 100

/**
 * Runs the two-writer workload with `a` cached over the invalidations
 * `toCache(stream)` and checks every read of `a` against the lag bound.
 */
const scenario = (
  seed: number,
  toCache: (changes: Stream.Stream<KonserveStore.Change, KonserveError>) => Stream.Stream<
    KonserveStore.Change,
    KonserveError
  >
) =>
  Effect.gen(function*() {
    const stores = yield* twoStores
    const b = yield* observed(stores.b, () => Math.random() * 20)
    const a = yield* cacheOver(stores.a, { invalidations: toCache(b.changes) })
    const keys = ["k0", "k1", "k2", "k3"]
    const history = yield* runWorkload({ a, b: b.store, keys, durationMs: 2500, seed })
    const bound = lagBound(b.lags)
    const violations = check(history, bound)
    yield* Effect.logDebug(
      `reads ${history.reads.length}, writes ${history.writes.length}, lag bound ${bound.toFixed(1)} ms, ` +
        `stale reads ${violations.length}`
    )
    return { history, violations, bound }
  })

describe("KonserveStore.layerCache on DynamoDB Local, two processes", () => {
  it.live(
    "after b writes, a's cache serves the new value within the stream's lag",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const stores = yield* twoStores
        const b = yield* observed(stores.b, () => 0)
        const a = yield* cacheOver(stores.a, { invalidations: b.changes })
        yield* b.store.assoc("k", "v1")
        expect(yield* a.get("k")).toEqual(Option.some("v1"))
        expect(yield* a.get("k")).toEqual(Option.some("v1"))
        const start = performance.now()
        yield* b.store.assoc("k", "v2")
        let seen = Option.none<unknown>()
        while (performance.now() - start < 5000) {
          seen = yield* a.get("k")
          if (Option.getOrNull(seen) === "v2") break
          yield* Retry.live(Effect.sleep("2 millis"))
        }
        expect(seen).toEqual(Option.some("v2"))
        expect(performance.now() - start).toBeLessThan(2000)
        // and a's own writes are read back at once, b sees them
        yield* a.assoc("k", "v3")
        expect(yield* a.get("k")).toEqual(Option.some("v3"))
        expect(yield* stores.b.get("k")).toEqual(Option.some("v3"))
      })),
    30_000
  )

  it.live(
    "every cached read of a random two-writer workload was current within the lag bound",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const { history, violations } = yield* scenario(1, (changes) => changes)
        expect(history.reads.length).toBeGreaterThan(30)
        expect(history.writes.length).toBeGreaterThan(5)
        assert.deepStrictEqual(violations.slice(0, 3), [], `${violations.length} stale reads`)
      })),
    30_000
  )

  it.live(
    "mutation check: a cache that ignores its invalidations is caught by the checker",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const { history, violations } = yield* scenario(2, (changes) => Stream.filter(changes, () => false))
        expect(history.reads.length).toBeGreaterThan(30)
        expect(history.writes.length).toBeGreaterThan(5)
        expect(violations.length).toBeGreaterThan(0)
      })),
    30_000
  )
})
