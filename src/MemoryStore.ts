/**
 * The store in memory, with the same semantics and the same limits as
 * `DynamoDBStore` (key validation, `maxValueBytes`, 100-key atomic
 * multi-operations, conditions, TTL on the `Clock`): inject it in tests of
 * code written against `KonserveStore`.
 *
 * Values are stored encoded, as on DynamoDB, so what `get` returns is always
 * a fresh copy and an unstorable value fails the same way.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as MemoryBackend from "./internal/memoryBackend.js"
import * as Options from "./internal/options.js"
import * as Store from "./internal/store.js"
import type { DynamoDBError } from "./KonserveError.js"
import type * as KonserveStore from "./KonserveStore.js"
import { KonserveStore as KonserveStoreTag } from "./KonserveStore.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface MemoryStoreOptions {
  /** The largest value or binary, in bytes; default 64 MiB, as `DynamoDBStore`. */
  readonly maxValueBytes?: number | undefined
  /** How many times `update` re-runs on a concurrent change; default 10, as `DynamoDBStore`. */
  readonly conflictRetries?: number | undefined
}

/**
 * A new, empty store. Its options are checked first: a bad one fails with
 * `DynamoDBError` code "InvalidConfiguration" (the store's own code for a
 * configuration that cannot work, shared with `DynamoDBStore`).
 *
 * @since 0.1.0
 * @category constructors
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { MemoryStore } from "konserve-dynamodb"
 *
 * const program = Effect.gen(function*() {
 *   const store = yield* MemoryStore.make()
 *   yield* store.assoc("fruit", { name: "banana" })
 *   return yield* store.get("fruit")
 * })
 * ```
 */
export const make = (options?: MemoryStoreOptions): Effect.Effect<KonserveStore.KonserveStore, DynamoDBError> =>
  Effect.suspend(() =>
    Either.match(Options.check(Options.StoreOptions, options ?? {}, "MemoryStore.make"), {
      onLeft: Effect.fail,
      onRight: (checked) =>
        Effect.succeed(
          Store.make(MemoryBackend.make(), {
            maxValueBytes: checked.maxValueBytes ?? Store.DEFAULT_MAX_VALUE_BYTES,
            conflictRetries: checked.conflictRetries ?? Store.DEFAULT_CONFLICT_RETRIES
          })
        )
    })
  )

/**
 * A layer of a new, empty store (a fresh one each time the layer is built).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options?: MemoryStoreOptions): Layer.Layer<KonserveStore.KonserveStore, DynamoDBError> =>
  Layer.effect(KonserveStoreTag, make(options))
