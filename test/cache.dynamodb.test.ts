/**
 * The cache across two processes on DynamoDB Local with the real feed: two
 * stores with clients of their own on one table with a stream, `a` cached
 * over `DynamoDBStore.changes(config, { from: "latest" })`, `b` not; `b`'s
 * writes reach `a`'s cache only through DynamoDB Streams. The checker
 * (test/utils/cacheChecker.ts) holds every read of `a` to [read start −
 * lag bound, read end]; the feed killed through the fault proxy empties the
 * cache until it is back.
 */
import { assert, describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as DynamoDBStore from "../src/DynamoDBStore.js"
import * as CacheMetrics from "../src/internal/cache/metrics.js"
import * as Retry from "../src/internal/retry.js"
import type { KonserveError } from "../src/KonserveError.js"
import * as KonserveStore from "../src/KonserveStore.js"
import { check, runWorkload } from "./utils/cacheChecker.js"
import { endpoint, storeConfig, uniqueTable } from "./utils/dynamodb.js"
import * as Proxy from "./utils/proxy.js"

const table = uniqueTable("cachefeed")
let prefixes = 0

/** The feed's poll interval in these tests. */
const POLL = Duration.millis(20)

/**
 * The lag bound the checker allows: the feed's lag measured on DynamoDB
 * Local (poll 20 ms) is 10–170 ms on a busy 2-core machine (the first test
 * logs it); 1.5 s leaves margin without hiding a cache that ignores its
 * feed (its stale reads outlive any bound shorter than the workload).
 */
const LAG_BOUND_MS = 1500

/**
 * Two stores on one table and prefix with a stream, each with its own
 * client; `a` cached over the real feed read through `feedEndpoint` (the
 * engine, or the fault proxy in front of it).
 */
const twoStores = (options?: {
  readonly feedEndpoint?: string
  readonly toCache?: (
    changes: Stream.Stream<KonserveStore.Change, KonserveError>
  ) => Stream.Stream<KonserveStore.Change, KonserveError>
}) =>
  Effect.gen(function*() {
    const config = storeConfig(endpoint(), table, { prefix: `p${prefixes++}`, stream: true })
    const raw = yield* DynamoDBStore.make(config)
    const b = yield* DynamoDBStore.make(config)
    const feedConfig = {
      ...config,
      endpoint: options?.feedEndpoint ?? config.endpoint,
      // a failing GetRecords fails the feed after one resend
      retry: { maxAttempts: 2 }
    }
    const changes = DynamoDBStore.changes(feedConfig, { from: "latest", pollInterval: POLL })
    const a = yield* cacheOver(raw, { invalidations: options?.toCache?.(changes) ?? changes })
    return { a, b, raw }
  })

const cacheOver = (store: KonserveStore.KonserveStore, options: KonserveStore.CacheOptions) =>
  Effect.map(
    Layer.build(
      KonserveStore.layerCache(options).pipe(Layer.provide(Layer.succeed(KonserveStore.KonserveStore, store)))
    ),
    Context.get(KonserveStore.KonserveStore)
  )

/** Reads `key` through `store` until it is `value` (or `timeoutMs` passed); the time it took, or undefined. */
const until = (store: KonserveStore.KonserveStore, key: string, value: unknown, timeoutMs = 5000) =>
  Effect.gen(function*() {
    const start = performance.now()
    while (performance.now() - start < timeoutMs) {
      const seen = yield* store.get(key)
      if (Option.getOrNull(seen) === value) return performance.now() - start
      yield* Retry.live(Effect.sleep("2 millis"))
    }
    return undefined
  })

/**
 * The checked workload: `a` only reads (its own writes would refresh its
 * cache and hide a cache that ignores the feed), `b` writes.
 */
const WORKLOAD = { keys: ["k0", "k1", "k2", "k3"], durationMs: 3000, aWrites: 0 }

/** Whether `condition` held within `timeoutMs`. */
const waitFor = <E>(condition: Effect.Effect<boolean, E>, timeoutMs: number) =>
  Effect.gen(function*() {
    const start = performance.now()
    while (performance.now() - start < timeoutMs) {
      if (yield* condition) return true
      yield* Retry.live(Effect.sleep("5 millis"))
    }
    return false
  })

const counter = (metric: Metric.Metric.Counter<number>) => Effect.map(Metric.value(metric), (state) => state.count)

const getHits = Metric.tagged(CacheMetrics.hits, "operation", "get")

describe("KonserveStore.layerCache over DynamoDBStore.changes on DynamoDB Local", () => {
  it.live(
    "after b writes, a's cache serves the new value within the feed's lag",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const { a, b } = yield* twoStores()
        const lags: Array<number> = []
        for (let i = 0; i < 5; i++) {
          yield* b.assoc("k", `v${i}`)
          yield* until(a, "k", `v${i}`)
          // cached now: a second read is a hit of the same value
          expect(yield* a.get("k")).toEqual(Option.some(`v${i}`))
          yield* b.assoc("k", `w${i}`)
          const lag = yield* until(a, "k", `w${i}`)
          expect(lag).toBeDefined()
          lags.push(lag ?? Infinity)
        }
        yield* Effect.logInfo(`feed lag (b's write returned → a serves it), ms: ${lags.map((l) => l.toFixed(0))}`)
        expect(Math.max(...lags)).toBeLessThan(LAG_BOUND_MS)
        // a's own writes are read back at once, and b sees them
        yield* a.assoc("k", "mine")
        expect(yield* a.get("k")).toEqual(Option.some("mine"))
        expect(yield* b.get("k")).toEqual(Option.some("mine"))
      })),
    20_000
  )

  it.live(
    "a write right after the layer is built is not missed (the feed's start precedes the build)",
    () =>
      Effect.scoped(Effect.gen(function*() {
        // the feed's first request slow (a busy endpoint, retries): the layer is built while it is in
        // flight, and it answers later than the feed's start margin (5 s) after the build
        const proxy = yield* Proxy.make(endpoint())
        proxy.setRule((request) =>
          request.command === "DescribeTable" && request.n === 0 ? { _tag: "Delay", millis: 5500 } : { _tag: "Pass" }
        )
        const config = storeConfig(endpoint(), table, { prefix: `p${prefixes++}`, stream: true })
        const raw = yield* DynamoDBStore.make(config)
        const b = yield* DynamoDBStore.make(config)
        yield* b.assoc("k", "before")
        const a = yield* cacheOver(raw, {
          invalidations: DynamoDBStore.changes({ ...config, endpoint: proxy.endpoint }, {
            from: "latest",
            pollInterval: POLL
          })
        })
        expect(yield* a.get("k")).toEqual(Option.some("before"))
        yield* b.assoc("k", "after")
        expect(yield* until(a, "k", "after", 8000)).toBeDefined()
      })),
    20_000
  )

  it.live(
    "every cached read of a random two-writer workload was current within the lag bound",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const { a, b } = yield* twoStores()
        const history = yield* runWorkload({ a, b, ...WORKLOAD, seed: 1 })
        const violations = check(history, LAG_BOUND_MS)
        expect(history.reads.length).toBeGreaterThan(30)
        expect(history.writes.length).toBeGreaterThan(5)
        assert.deepStrictEqual(violations.slice(0, 3), [], `${violations.length} stale reads`)
      })),
    20_000
  )

  it.live(
    "mutation check: a cache that ignores the feed is caught by the checker",
    () =>
      Effect.scoped(Effect.gen(function*() {
        // the mutant: an invalidation stream that runs and never delivers (dropping the real feed's changes made this
        // test depend on the feed staying up: a feed that fails under load empties the cache, which then serves
        // nothing stale, and the checker rightly finds nothing)
        const { a, b } = yield* twoStores({ toCache: () => Stream.never })
        // twice the clean run's length: under load b may write a key only late in a short run, and a stale read
        // counts only once it is older than the lag bound
        const history = yield* runWorkload({ a, b, ...WORKLOAD, durationMs: 2 * WORKLOAD.durationMs, seed: 2 })
        expect(check(history, LAG_BOUND_MS).length).toBeGreaterThan(0)
      })),
    30_000
  )

  it.live(
    "the feed killed mid-run: the cache empties, passes reads through until it is back, serves nothing stale",
    () =>
      Effect.gen(function*() {
        const proxy = yield* Proxy.make(endpoint())
        const { a, b } = yield* twoStores({ feedEndpoint: proxy.endpoint })
        const downBefore = yield* counter(CacheMetrics.feedDown)
        yield* b.assoc("k", "v0")
        expect(yield* until(a, "k", "v0")).toBeDefined()
        // the streams' GetRecords reset for 1.5 s, while the workload runs
        const kill = Effect.gen(function*() {
          yield* Retry.live(Effect.sleep("700 millis"))
          proxy.setRule((request) => request.command === "GetRecords" ? { _tag: "Reset" } : { _tag: "Pass" })
          // the feed fails (two failed GetRecords) within a poll or two
          const wentDown = yield* waitFor(Effect.map(Metric.value(CacheMetrics.feedsDown), (g) => g.value >= 1), 2000)
          // down, and the reconnections (whose GetRecords fail too) do not bring it back:
          // the cache passes reads through, so b's write is read at once
          const during: Array<Option.Option<unknown>> = []
          for (let i = 0; i < 5; i++) {
            yield* b.assoc("k", `during${i}`)
            during.push(yield* a.get("k"))
            yield* Retry.live(Effect.sleep("200 millis"))
          }
          const stillDown = (yield* Metric.value(CacheMetrics.feedsDown)).value
          proxy.setRule(undefined)
          return { wentDown, during, stillDown }
        })
        const [history, killed] = yield* Effect.all([
          runWorkload({ a, b, keys: ["k0", "k1", "k2"], durationMs: 3500, seed: 3 }),
          kill
        ], { concurrency: "unbounded" })
        expect(killed.wentDown).toBe(true)
        expect(killed.during).toEqual([0, 1, 2, 3, 4].map((i) => Option.some(`during${i}`)))
        expect(killed.stillDown, "stillDown").toBe(1)
        expect((yield* counter(CacheMetrics.feedDown)) - downBefore).toBeGreaterThanOrEqual(1)
        expect(proxy.stats().Reset).toBeGreaterThan(0)
        const violations = check(history, LAG_BOUND_MS)
        assert.deepStrictEqual(violations.slice(0, 3), [], `${violations.length} stale reads`)
        // back once the reconnected feed (on its backoff, up to 2 s away) delivers one of b's writes
        let nudges = 0
        const back = yield* waitFor(
          Effect.gen(function*() {
            yield* b.assoc("nudge", nudges++)
            yield* Retry.live(Effect.sleep("100 millis"))
            return (yield* Metric.value(CacheMetrics.feedsDown)).value === 0
          }),
          6000
        )
        expect(back).toBe(true)
        // and b's writes reach a's cache through the feed again, and it serves from memory
        yield* b.assoc("k", "back")
        expect(yield* until(a, "k", "back")).toBeDefined()
        // (the change of "back" may come after a read loaded it, and drop it: let it come, load again)
        yield* Retry.live(Effect.sleep("300 millis"))
        yield* a.get("k")
        const hits = yield* counter(getHits)
        yield* a.get("k")
        expect((yield* counter(getHits)) - hits, "hits").toBe(1)
      }).pipe(Effect.scoped, Effect.provide(Logger.replace(Logger.defaultLogger, collector))).pipe(
        Effect.tap(() => {
          expect(logged.some((line) => line.includes("the invalidation stream failed"))).toBe(true)
          expect(logged.some((line) => line.includes("the invalidation stream is back"))).toBe(true)
        })
      ),
    20_000
  )
})

const logged: Array<string> = []
const collector = Logger.make(({ message }) => {
  logged.push(Array.isArray(message) ? message.join(" ") : String(message))
})
