/**
 * What a store built by `internal/store.ts` offers the cache besides its
 * public operations: reads that return a key's value together with the
 * `Meta` of the same version, in one request (`get` and `getMeta` would be
 * two, and could read two versions), and many at once (`multiGet` returns
 * no `Meta`). Attached to the service under a symbol, so that it survives
 * a wrapper that spreads the service; the cache uses it only while the
 * service's `get` is still the store's own (a wrapper that replaced `get`
 * gets the public operations, `cached.ts`).
 *
 * @internal
 */
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type { KonserveError } from "../../KonserveError.js"
import type { Key, KonserveStore, Meta } from "../service.js"

/** @internal */
export const TypeId: unique symbol = Symbol.for("konserve-dynamodb/CacheReads")

/** A live key read whole: its `Meta` and what `get` returns for it (a binary's bytes, a log's elements). @internal */
export interface Read {
  readonly meta: Meta
  readonly value: unknown
}

/** @internal */
export interface CacheReads {
  /** The service's own `get`: the reads below stand for it only while the service still has it. */
  readonly get: KonserveStore["get"]
  /** A key (valid) with its `Meta`; none when missing or expired against the fiber's `Clock`. */
  readonly read: (key: Key) => Effect.Effect<Option.Option<Read>, KonserveError>
  /** The keys (valid, distinct) that are alive, each with its `Meta`, in as few requests as `multiGet`. */
  readonly readMany: (keys: ReadonlyArray<Key>) => Effect.Effect<ReadonlyMap<Key, Read>, KonserveError>
}

/** Attaches the reads to a service (not enumerable by `Object.keys`, kept by a spread). @internal */
export const attach = (store: KonserveStore, reads: CacheReads): void => {
  ;(store as unknown as Record<symbol, CacheReads>)[TypeId] = reads
}

/** The reads of a service whose `get` is still the store's own; undefined otherwise. @internal */
export const of = (store: KonserveStore): CacheReads | undefined => {
  const reads = (store as unknown as Record<symbol, CacheReads | undefined>)[TypeId]
  return reads !== undefined && reads.get === store.get ? reads : undefined
}
