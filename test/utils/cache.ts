/**
 * Helpers for the cache's tests: a store that counts the reads reaching it
 * (and can hold them at a gate), and an invalidation stream the test feeds
 * with changes — or failures — by hand.
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as PubSub from "effect/PubSub"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as CacheReads from "../../src/internal/cache/reads.js"
import { DynamoDBError, type KonserveError } from "../../src/KonserveError.js"
import type { Change, KonserveStore, Meta } from "../../src/KonserveStore.js"

export interface Counts {
  get: number
  getMeta: number
  exists: number
  multiGet: number
  /** The store's value+Meta read the cache uses (one request, as `get`). */
  read: number
  /** The keys of each batch read the cache made. */
  readMany: Array<ReadonlyArray<string>>
}

/** The reads that reached the store, in all. */
export const total = (counts: Counts): number =>
  counts.get + counts.getMeta + counts.exists + counts.multiGet + counts.read + counts.readMany.length

/**
 * The store with its reads counted. With `gate`, every read waits for it
 * to be open (after reading: what it returns was read before the wait).
 * `withReads: false` hides the store's value+Meta reads (the cache then
 * uses `getMeta` beside `get`).
 */
export const counting = (
  store: KonserveStore,
  options?: { readonly gate?: Effect.Effect<void>; readonly withReads?: boolean }
): { readonly store: KonserveStore; readonly counts: Counts } => {
  const counts: Counts = { get: 0, getMeta: 0, exists: 0, multiGet: 0, read: 0, readMany: [] }
  const gate = options?.gate ?? Effect.void
  const counted = <A, E>(name: "get" | "getMeta" | "exists" | "multiGet" | "read", self: Effect.Effect<A, E>) =>
    Effect.suspend(() => {
      counts[name] += 1
      return Effect.zipLeft(self, gate)
    })
  const get: KonserveStore["get"] = (key) => counted("get", store.get(key))
  const wrapped: KonserveStore = {
    ...store,
    get,
    getMeta: (key) => counted("getMeta", store.getMeta(key)),
    exists: (key) => counted("exists", store.exists(key)),
    multiGet: (keys) => counted("multiGet", store.multiGet(keys))
  }
  const reads = CacheReads.of(store)
  if (reads !== undefined && options?.withReads !== false) {
    CacheReads.attach(wrapped, {
      get,
      read: (key) => counted("read", reads.read(key)),
      readMany: (keys) =>
        Effect.suspend(() => {
          counts.readMany.push(keys)
          return Effect.zipLeft(reads.readMany(keys), gate)
        })
    })
  } else {
    ;(wrapped as unknown as Record<symbol, unknown>)[CacheReads.TypeId] = undefined
  }
  return { store: wrapped, counts }
}

/** A gate closed until opened: `pass` waits for it. */
export const makeGate = Effect.map(Deferred.make<void>(), (deferred) => ({
  pass: Deferred.await(deferred),
  open: Deferred.succeed(deferred, undefined)
}))

/**
 * An invalidation stream fed by the test: `publish` a change, `fail` the
 * running stream, `block` new runs of it (they fail at once) until
 * `unblock`. Each run subscribes afresh (changes published while no run is
 * subscribed are lost, as a feed that was down loses them).
 */
export const makeFeed = (): Effect.Effect<
  {
    readonly stream: Stream.Stream<Change, KonserveError>
    readonly publish: (change: Change) => Effect.Effect<void>
    readonly fail: Effect.Effect<void>
    readonly block: Effect.Effect<void>
    readonly unblock: Effect.Effect<void>
    readonly runs: Effect.Effect<number>
    /** Runs that subscribed (were not blocked). */
    readonly subscriptions: Effect.Effect<number>
  },
  never,
  Scope.Scope
> =>
  Effect.gen(function*() {
    const pubsub = yield* Effect.acquireRelease(
      PubSub.unbounded<Effect.Effect<Change, KonserveError>>(),
      PubSub.shutdown
    )
    const blocked = yield* Ref.make(false)
    const runs = yield* Ref.make(0)
    const subscriptions = yield* Ref.make(0)
    const failure = new DynamoDBError({ operation: "test feed", code: "FeedLost", message: "lost", retryable: true })
    const stream = Stream.unwrapScoped(Effect.gen(function*() {
      yield* Ref.update(runs, (n) => n + 1)
      if (yield* Ref.get(blocked)) return Stream.fail(failure)
      const subscription = yield* PubSub.subscribe(pubsub)
      yield* Ref.update(subscriptions, (n) => n + 1)
      return Stream.mapEffect(Stream.fromQueue(subscription), (next) => next)
    }))
    return {
      stream,
      publish: (change) => Effect.asVoid(PubSub.publish(pubsub, Effect.succeed(change))),
      fail: Effect.asVoid(PubSub.publish(pubsub, Effect.fail(failure))),
      block: Ref.set(blocked, true),
      unblock: Ref.set(blocked, false),
      runs: Ref.get(runs),
      subscriptions: Ref.get(subscriptions)
    }
  })

/** A change of a write, as a feed reports it: its `Meta`, and the value when given. */
export const writeChange = (meta: Meta, value?: { readonly value: unknown }): Change => ({
  key: meta.key,
  op: "write",
  version: meta.version,
  meta: Option.some(meta),
  value: value === undefined ? Option.none() : Option.some(value.value),
  batch: Option.none()
})
