/**
 * `gc` (konserve's `gc/sweep!`), written once over the service's own
 * operations, so that it is the same on every store: `keys` streamed page by
 * page, and a compare-and-delete (`dissoc` with `ifVersion`) of each key that
 * is not kept and was last written before the cutoff. A key rewritten (or
 * removed, or expired) after it was listed fails its delete's condition and
 * survives; gc goes on with the next key.
 *
 * @internal
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import { identity } from "effect/Function"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Stream from "effect/Stream"
import type { DynamoDBError } from "../KonserveError.js"
import { type KonserveError } from "../KonserveError.js"
import * as FailureCodes from "./failureCodes.js"
import * as Keys from "./key.js"
import type { GcOptions, Key, KonserveStore } from "./service.js"

/** Removals in flight at once. @internal */
export const GC_CONCURRENCY = 16

/** Options of `gc` that cannot work: `DynamoDBError` code "InvalidArgument", before anything is read. */
const invalidArgument = (message: string): DynamoDBError => FailureCodes.invalidArgument("gc", `gc: ${message}`)

const describe = (u: unknown): string =>
  Predicate.isDate(u) ? "an invalid Date" : u === null ? "null" : Array.isArray(u) ? "an array" : typeof u

/** The cutoff in epoch milliseconds and the keys to keep, or why the options cannot work. */
const check = (
  options: GcOptions | undefined
): Effect.Effect<{ readonly cutoff: number; readonly keep: ReadonlySet<string> }, KonserveError> => {
  const olderThan: unknown = options?.olderThan
  if (!Predicate.isDate(olderThan) || Number.isNaN(olderThan.getTime())) {
    return Effect.fail(invalidArgument(`olderThan must be a valid Date, got ${describe(olderThan)}`))
  }
  const keep: unknown = options?.keep
  // A string is iterable too (its characters): almost certainly one key meant as `[key]`.
  if (!Predicate.isIterable(keep) || typeof keep === "string") {
    return Effect.fail(invalidArgument(`keep must be an iterable of keys, got ${describe(keep)}`))
  }
  // Every kept key is a key (`InvalidKey` else): `keep: metas` instead of their keys would otherwise keep nothing.
  return Effect.map(Keys.validateAll(keep), (valid) => ({ cutoff: olderThan.getTime(), keep: new Set(valid) }))
}

/**
 * Removes every key not in `keep` whose last write is before `olderThan`,
 * each on the version it was listed with; resolves to the keys it removed.
 * Memory holds one page of `keys` and `GC_CONCURRENCY` removals, besides the
 * answer.
 *
 * @internal
 */
export const gc = (store: KonserveStore, options: GcOptions): Effect.Effect<ReadonlyArray<Key>, KonserveError> =>
  Effect.suspend(() => check(options)).pipe(
    Effect.flatMap(({ cutoff, keep }) =>
      store.keys.pipe(
        Stream.filter((meta) => meta.lastWrite.getTime() < cutoff && !keep.has(meta.key)),
        Stream.mapEffect(
          (meta) =>
            store.dissoc(meta.key, { ifVersion: meta.version }).pipe(
              Effect.as(Option.some(meta.key)),
              // Rewritten, removed or expired since it was listed: not this gc's to remove.
              Effect.catchTag("ConditionFailed", () => Effect.succeed(Option.none<Key>()))
            ),
          { concurrency: GC_CONCURRENCY, unordered: true }
        ),
        Stream.filterMap(identity),
        Stream.runCollect,
        Effect.map(Chunk.toReadonlyArray)
      )
    ),
    Effect.withSpan("KonserveStore.gc", { captureStackTrace: false })
  )
