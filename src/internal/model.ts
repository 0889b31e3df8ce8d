/**
 * The models of the `KonserveStore` module: keys, paths, `Meta`, binaries,
 * write options, changes and transaction plans. `KonserveStore.ts` re-exports
 * each under the same name (these JSDoc blocks are the public docs); internal
 * modules import them from here, so none imports the public module.
 *
 * Not `@internal`: every declaration here is public through the re-export.
 */
import type * as Duration from "effect/Duration"
import type * as Option from "effect/Option"
import type * as Stream from "effect/Stream"
import type * as KonserveError from "../KonserveError.js"

/**
 * A store key: a string of 1 to 1024 UTF-8 bytes.
 *
 * @since 0.1.0
 * @category models
 */
export type Key = string

/**
 * A key followed by the steps that walk into its stored value: object
 * properties, array indices and `Map` keys, as konserve's key vectors.
 *
 * @since 0.1.0
 * @category models
 */
export type Path = readonly [Key, ...ReadonlyArray<string | number>]

/**
 * What the store knows of a key.
 *
 * @since 0.1.0
 * @category models
 */
export interface Meta {
  readonly key: Key
  readonly type: "value" | "binary" | "log"
  readonly lastWrite: Date
  /** Opaque; changes on every write of the key. Pass it to `WriteOptions.ifVersion`. */
  readonly version: string
  /** Bytes stored for the value (encoded), or the log's element count. */
  readonly size: number
  readonly expiresAt: Date | undefined
  /** `WriteOptions.meta` of the last write. */
  readonly user: Readonly<Record<string, unknown>> | undefined
}

/**
 * A stored binary: its metadata, its size in bytes, and its bytes as a lazy
 * stream of chunks that yields exactly `size` bytes.
 *
 * @since 0.1.0
 * @category models
 */
export interface Binary {
  readonly meta: Meta
  readonly size: number
  readonly stream: Stream.Stream<Uint8Array, KonserveError.KonserveError>
}

/**
 * Every shape `bassoc` accepts: bytes, a string (stored as UTF-8), an Effect
 * `Stream`, an `AsyncIterable` (a Node.js `Readable`, say) or a web
 * `ReadableStream`.
 *
 * @since 0.1.0
 * @category models
 */
export type BinaryInput<E = never, R = never> =
  | Uint8Array
  | string
  | Stream.Stream<Uint8Array, E, R>
  | AsyncIterable<Uint8Array>
  | ReadableStream<Uint8Array>

/**
 * Options of every write.
 *
 * @since 0.1.0
 * @category models
 */
export interface WriteOptions {
  /** Expired keys read as absent at once, with millisecond precision against the store's `Clock`. */
  readonly ttl?: Duration.DurationInput | undefined
  /** User metadata, returned in `Meta.user`. Same value domain as values. */
  readonly meta?: Readonly<Record<string, unknown>> | undefined
  /** Write only when the key does not exist; else `ConditionFailed`. */
  readonly ifAbsent?: boolean | undefined
  /** Write only when `Meta.version` still equals this; else `ConditionFailed`. */
  readonly ifVersion?: string | undefined
}

/**
 * Options of `multiAssoc`.
 *
 * @since 0.1.0
 * @category models
 */
export interface MultiAssocOptions extends WriteOptions {
  /** All-or-nothing for up to 100 keys (the default); `false` writes any number of keys in batches. */
  readonly atomic?: boolean | undefined
}

/**
 * Options of `dissoc`.
 *
 * @since 0.1.0
 * @category models
 */
export interface DissocOptions {
  /**
   * Remove only when `Meta.version` still equals this (a compare-and-delete);
   * else `ConditionFailed` and nothing removed — also when the key is missing
   * or expired.
   */
  readonly ifVersion?: string | undefined
}

/**
 * Options of `gc`.
 *
 * @since 0.1.0
 * @category models
 */
export interface GcOptions {
  /** Keys never removed, whatever their age. */
  readonly keep: Iterable<Key>
  /** Keys whose last write (`Meta.lastWrite`) is before this instant are removed. */
  readonly olderThan: Date
}

/**
 * Options of `multiDissoc`.
 *
 * @since 0.1.0
 * @category models
 */
export interface MultiDissocOptions {
  /** All-or-nothing for up to 100 keys (the default); `false` removes any number of keys in batches. */
  readonly atomic?: boolean | undefined
}

/**
 * What `update` and `updateIn` resolve to: the value `f` received (none when
 * missing) and the value it returned.
 *
 * @since 0.1.0
 * @category models
 */
export interface Updated<A = unknown> {
  readonly before: Option.Option<A>
  readonly after: A
}

/**
 * One write the store committed, as konserve's write hooks report it
 * (`changes` on the service: this store's own writes; `DynamoDBStore.changes`:
 * every process's, from the table's DynamoDB stream).
 *
 * - `op`: `"write"` for every write kind (assoc, update, append, bassoc, ...),
 *   `"remove"` for a removal that removed something, `"expire"` when the key's
 *   ttl passed and DynamoDB's TTL sweeper removed it (the feed only).
 * - `version`: `Meta.version` of the write; of the tombstone for `remove`; of
 *   the head that expired for `expire`. Per key, changes come in version
 *   order; a repeated delivery carries the same version.
 * - `meta`: the key's `Meta` after a write; none after a removal.
 * - `value`: after a write of a value held inline in the key's head, the
 *   value; else none (binaries, logs and chunked values: read them).
 * - `batch`: the same id on every key of one atomic `multiAssoc`,
 *   `multiDissoc` or `transact`; none otherwise.
 *
 * @since 0.2.0
 * @category models
 */
export interface Change {
  readonly key: Key
  readonly op: "write" | "remove" | "expire"
  readonly version: string
  readonly meta: Option.Option<Meta>
  readonly value: Option.Option<unknown>
  readonly batch: Option.Option<string>
}

/**
 * What the function of `transact` decides: the keys to write, the keys to
 * remove (each one of the keys read), and the result `transact` resolves to.
 *
 * @since 0.2.0
 * @category models
 */
export interface TransactPlan<A> {
  readonly assoc?: Iterable<readonly [Key, unknown]> | Readonly<Record<Key, unknown>> | undefined
  readonly dissoc?: Iterable<Key> | undefined
  readonly result: A
}

/**
 * Options of `transact`.
 *
 * @since 0.2.0
 * @category models
 */
export interface TransactOptions {
  /** How many times `f` re-runs after a concurrent change before `ConditionFailed`; default `conflictRetries`. */
  readonly retries?: number | undefined
}

/**
 * Options of `layerCache`.
 *
 * @since 0.2.0
 * @category models
 */
export interface CacheOptions {
  /** Bytes held at most (encoded values, keys, 128 bytes per entry), least recently used evicted first; default 64 MiB. */
  readonly maxBytes?: number | undefined
  /**
   * Other processes' writes, e.g. `DynamoDBStore.changes(config)`: each
   * change drops (or, with the inline value of a newer version, replaces)
   * the key's entry. The layer is built once the stream is running; when it
   * fails or ends the cache empties and passes every read through until the
   * stream, run again on the retry schedule, is back.
   */
  readonly invalidations?: Stream.Stream<Change, KonserveError.KonserveError> | undefined
  /** The longest an entry is served after it was read; required without `invalidations`. */
  readonly ttl?: Duration.DurationInput | undefined
}
