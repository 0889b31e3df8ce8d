/**
 * `KonserveStore.layerCache`'s construction: its options checked, the
 * entries made, the invalidation stream started (the cache is built once it
 * is running), and the cached service over the store in context.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type { DynamoDBError } from "../../KonserveError.js"
import * as Options from "../options.js"
import type { CacheOptions, KonserveStore } from "../service.js"
import * as Cached from "./cached.js"
import * as Entries from "./entries.js"
import * as Feed from "./feed.js"

/** The default `maxBytes`: 64 MiB. @internal */
export const DEFAULT_MAX_BYTES = 64 * 1024 * 1024

const OPERATION = "KonserveStore.layerCache"

const MaxBytes = Schema.Struct({ maxBytes: Schema.optional(Options.PositiveInt) })

/** The options as the cache uses them, or `InvalidConfiguration` saying what is wrong. @internal */
export const check = (
  options: CacheOptions | undefined
): Either.Either<{ readonly maxBytes: number; readonly ttlMillis: number | undefined }, DynamoDBError> => {
  const checked = Options.check(MaxBytes, options ?? {}, OPERATION)
  if (Either.isLeft(checked)) return Either.left(checked.left)
  const maxBytes = checked.right.maxBytes ?? DEFAULT_MAX_BYTES
  if (options?.invalidations === undefined && options?.ttl === undefined) {
    return Either.left(Options.invalidConfiguration(
      "a cache needs invalidations (a stream of other processes' changes, e.g. DynamoDBStore.changes(config)) " +
        "or a ttl (the longest an entry may be served): without either it would serve other processes' " +
        "overwritten values for ever",
      OPERATION
    ))
  }
  let ttlMillis: number | undefined
  if (options?.ttl !== undefined) {
    const ttl = Options.nonNegativeDuration(options.ttl)
    if (Option.isNone(ttl)) {
      return Either.left(Options.invalidConfiguration(
        `invalid options: ttl ${JSON.stringify(String(options.ttl))} is not a non-negative duration`,
        OPERATION
      ))
    }
    ttlMillis = Duration.isFinite(ttl.value) ? Duration.toMillis(ttl.value) : undefined
  }
  return Either.right({ maxBytes, ttlMillis })
}

/**
 * The cached service over `store`, its invalidation stream running on the
 * scope (stopped, and the memory released, when the scope closes).
 *
 * @internal
 */
export const make = (
  store: KonserveStore,
  options: CacheOptions | undefined
): Effect.Effect<KonserveStore, DynamoDBError, Scope.Scope> =>
  Effect.gen(function*() {
    const settings = yield* check(options)
    const invalidations = options?.invalidations
    const entries = Entries.make({ ...settings, serving: invalidations === undefined })
    yield* Effect.addFinalizer(() => Effect.sync(() => entries.stop()))
    if (invalidations !== undefined) yield* Feed.start(invalidations, entries)
    return Cached.make(store, entries)
  })
