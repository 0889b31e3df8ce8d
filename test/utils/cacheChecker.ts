/**
 * A staleness checker for a cache fed by an invalidation stream, whatever
 * the stream: two writers run a random workload on a few keys — `a` through
 * the cached store (mostly reads), `b` through a store of its own whose
 * writes reach `a`'s cache only through the stream — and every read of `a`
 * must have returned a value that was current at some moment within
 * [read start − lag bound, read end].
 *
 * "Current at t": a write `w` of the value (or, for an absent answer, a
 * removal or the initial state) that was invoked by t and not certainly
 * superseded before it — no other write of the key invoked after `w`
 * returned and itself returned before t. Values are unique per write, so a
 * value read names its write. Times are `performance.now()` of this process.
 *
 * `observed(store)` makes such a stream out of a store's writes (the change
 * of each write, with the version `getMeta` reads right after it, published
 * after a random delay) for engines without a feed; the real feed
 * (`DynamoDBStore.changes`) plugs in the same way.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as PubSub from "effect/PubSub"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Retry from "../../src/internal/retry.js"
import type { KonserveError } from "../../src/KonserveError.js"
import type { Change, KonserveStore } from "../../src/KonserveStore.js"

const ABSENT = Symbol("absent")
type Seen = string | typeof ABSENT

export interface Write {
  readonly key: string
  readonly value: Seen
  readonly call: number
  readonly ret: number
  /** False: it failed, so it may or may not have happened (never taken as superseding another). */
  readonly ok: boolean
}

export interface Read {
  readonly key: string
  readonly value: Seen
  readonly call: number
  readonly ret: number
}

export interface History {
  readonly writes: ReadonlyArray<Write>
  readonly reads: ReadonlyArray<Read>
}

/** A deterministic random source (mulberry32). */
const random = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = seed
  t = Math.imul(t ^ (t >>> 15), t | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

/**
 * Runs the two-writer workload for `durationMs`: `readers` fibers on `a`
 * (reads, and a write with probability `aWrites`), `writers` fibers on `b`
 * (assoc of a unique value, or a dissoc one time in five).
 */
export const runWorkload = (options: {
  readonly a: KonserveStore
  readonly b: KonserveStore
  readonly keys: ReadonlyArray<string>
  readonly durationMs: number
  readonly seed: number
  readonly readers?: number
  readonly writers?: number
  readonly aWrites?: number
}): Effect.Effect<History> =>
  Effect.gen(function*() {
    const writes: Array<Write> = []
    const reads: Array<Read> = []
    const next = random(options.seed)
    const pick = () => options.keys[Math.floor(next() * options.keys.length)]
    const end = performance.now() + options.durationMs
    let n = 0
    const write = (store: KonserveStore, who: string) =>
      Effect.gen(function*() {
        const key = pick()
        const remove = who === "b" && next() < 0.2
        const value = `${who}-${n++}`
        const call = performance.now()
        const exit = yield* Effect.exit(remove ? store.dissoc(key) : store.assoc(key, value))
        writes.push({ key, value: remove ? ABSENT : value, call, ret: performance.now(), ok: exit._tag === "Success" })
      })
    const reader = Effect.gen(function*() {
      while (performance.now() < end) {
        if (next() < (options.aWrites ?? 0.03)) {
          yield* write(options.a, "a")
          continue
        }
        const key = pick()
        const call = performance.now()
        const value = yield* Effect.orDie(options.a.get(key))
        reads.push({
          key,
          value: Option.isNone(value) ? ABSENT : String(value.value),
          call,
          ret: performance.now()
        })
        // hits never wait on I/O: let the writers' requests through
        yield* Retry.live(Effect.sleep(Duration.millis(next())))
      }
    })
    const writer = Effect.gen(function*() {
      while (performance.now() < end) {
        yield* write(options.b, "b")
        yield* Retry.live(Effect.sleep(Duration.millis(next() * 10)))
      }
    })
    yield* Effect.all([
      Effect.all(Array.from({ length: options.readers ?? 4 }, () => reader), { concurrency: "unbounded" }),
      Effect.all(Array.from({ length: options.writers ?? 2 }, () => writer), { concurrency: "unbounded" })
    ], { concurrency: "unbounded" })
    return { writes, reads }
  })

export interface Violation {
  readonly read: Read
  /** The writes that could have put the value read there. */
  readonly candidates: ReadonlyArray<Write>
}

/** The reads that returned a value not current at any moment of [call − lagMs, ret]. */
export const check = (history: History, lagMs: number): ReadonlyArray<Violation> => {
  const byKey = new Map<string, Array<Write>>()
  for (const write of history.writes) {
    const list = byKey.get(write.key) ?? []
    list.push(write)
    byKey.set(write.key, list)
  }
  const initial = (key: string): Write => ({ key, value: ABSENT, call: -Infinity, ret: -Infinity, ok: true })
  const violations: Array<Violation> = []
  for (const read of history.reads) {
    const writes = byKey.get(read.key) ?? []
    const candidates = [initial(read.key), ...writes].filter((w) => w.value === read.value)
    const from = read.call - lagMs
    const current = candidates.some((candidate) =>
      candidate.call <= read.ret &&
      !writes.some((other) => other !== candidate && other.ok && other.call > candidate.ret && other.ret < from)
    )
    if (!current) violations.push({ read, candidates })
  }
  return violations
}

/**
 * A store whose writes (`assoc`, `dissoc`, `multiAssoc`) are observed: after
 * each one, the key's `Meta` is read and its change published on `changes`
 * `delayMs()` later (in order). `lags` holds, for every change, how long
 * after its write returned it was published.
 */
export const observed = (
  store: KonserveStore,
  delayMs: () => number
): Effect.Effect<
  {
    readonly store: KonserveStore
    readonly changes: Stream.Stream<Change, KonserveError>
    readonly lags: Array<number>
  },
  never,
  Scope.Scope
> =>
  Effect.gen(function*() {
    const pubsub = yield* Effect.acquireRelease(PubSub.unbounded<Change>(), PubSub.shutdown)
    const pending = yield* Queue.unbounded<{ readonly change: Change; readonly at: number; readonly due: number }>()
    const lags: Array<number> = []
    yield* Effect.forkScoped(Effect.forever(Effect.gen(function*() {
      const { at, change, due } = yield* Queue.take(pending)
      const wait = due - performance.now()
      if (wait > 0) yield* Retry.live(Effect.sleep(Duration.millis(wait)))
      yield* PubSub.publish(pubsub, change)
      lags.push(performance.now() - at)
    })))
    const announce = (keys: ReadonlyArray<string>) =>
      Effect.forEach(keys, (key) =>
        Effect.flatMap(Effect.orDie(store.getMeta(key)), (meta) => {
          const at = performance.now()
          const change: Change = Option.isSome(meta)
            ? {
              key,
              op: "write",
              version: meta.value.version,
              meta,
              value: Option.none(),
              batch: Option.none()
            }
            : { key, op: "remove", version: "", meta: Option.none(), value: Option.none(), batch: Option.none() }
          return Queue.offer(pending, { change, at, due: at + delayMs() })
        }), { discard: true })
    const wrapped: KonserveStore = {
      ...store,
      assoc: (key, value, options) => Effect.tap(store.assoc(key, value, options), () => announce([key])),
      dissoc: (key, options) => Effect.tap(store.dissoc(key, options), () => announce([key])),
      multiAssoc: (entries, options) => {
        const pairs = Symbol.iterator in entries
          ? Array.from(entries as Iterable<readonly [string, unknown]>)
          : Object.entries(entries)
        return Effect.tap(store.multiAssoc(pairs, options), () => announce(pairs.map(([key]) => key)))
      }
    }
    const changes = Stream.unwrapScoped(
      Effect.map(PubSub.subscribe(pubsub), (subscription) => Stream.fromQueue(subscription))
    )
    return { store: wrapped, changes, lags }
  })
