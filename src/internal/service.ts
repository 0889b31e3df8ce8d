/**
 * The types of the `KonserveStore` module: keys, paths, `Meta`, binaries,
 * options, changes and transaction plans, the service interface
 * (`KonserveStore.KonserveStore` extends it; its members' JSDoc here is the
 * public docs) and the typed view `TypedStore`. `KonserveStore.ts`
 * re-exports every type here under the same name (these JSDoc blocks are the
 * public docs), so everything exported here is public; internal modules
 * import them from here, so none imports the public module.
 *
 * Not `@internal`: every declaration here is public through the re-export.
 */
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type * as Schema from "effect/Schema"
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

/**
 * A typed view of a store (`forSchema(schema)`): values are encoded with the
 * schema before they are stored and decoded on the way out. What is stored is
 * the schema's encoded form, which must itself be a storable value; a stored
 * value that does not decode fails with `DecodeError`, a value that does not
 * encode with `SerializationError` and nothing is written.
 *
 * The schema describes the whole value at a key (and each element of a log).
 * Paths walk the decoded value `A`, with the untyped store's rules (object
 * properties, array indices, `Map` keys; a class instance is a leaf); what a
 * path reaches is `unknown`, since a path is not checked against `A` by the
 * type system. A path write decodes the whole value, sets the path in it and
 * encodes the new whole value with the schema: that whole value is what the
 * schema checks.
 *
 * `getMeta`, `exists`, `dissoc`, `multiDissoc` and `keys` involve no value and
 * are the store's own. Binaries (`bassoc`, `bget`) are bytes, not values, and
 * are not part of the view: use the store.
 *
 * @since 0.1.0
 * @category models
 */
export interface TypedStore<A, R = never> {
  /** The decoded value of a key; none when missing; `DecodeError` when the stored value does not decode. */
  readonly get: (key: Key) => Effect.Effect<Option.Option<A>, KonserveError.KonserveError, R>
  /**
   * The value at a path inside the decoded value of its key: the whole value
   * is decoded with the schema (`DecodeError` when it does not decode), then
   * the path walks the decoded `A`, so a `Schema.Date` field reads as a
   * `Date`. None when the key or any step is missing. The key alone yields
   * the whole `A`.
   */
  readonly getIn: (path: Path) => Effect.Effect<Option.Option<unknown>, KonserveError.KonserveError, R>
  /** The store's `getMeta`: no value is decoded. */
  readonly getMeta: KonserveStore["getMeta"]
  /** The store's `exists`: no value is decoded. */
  readonly exists: KonserveStore["exists"]

  /** Encodes the value with the schema and stores the encoded form; `SerializationError` and nothing written when it does not encode. */
  readonly assoc: (key: Key, value: A, options?: WriteOptions) => Effect.Effect<void, KonserveError.KonserveError, R>
  /**
   * Sets the value at a path inside the decoded value of its key, atomically
   * (as the store's `assocIn`: re-run on a concurrent change): the current
   * value is decoded with the schema (`DecodeError` when it does not), the
   * path set in the decoded `A` (missing intermediate objects created, as on
   * the store), and the new whole value encoded with the schema. When it
   * does not encode (a leaf of the wrong type, a missing key whose new value
   * is not a whole `A`), `SerializationError` and nothing is written. The
   * encoding is the schema's: a property the schema does not know is dropped
   * as the schema drops it. The key alone acts as `assoc`.
   */
  readonly assocIn: (
    path: Path,
    value: unknown,
    options?: WriteOptions
  ) => Effect.Effect<void, KonserveError.KonserveError, R>
  /**
   * Applies `f` to the decoded current value atomically (re-run on a
   * concurrent change, so no update is lost) and stores the encoded result.
   * `f` receives none for a missing key and returns the new value itself:
   * an `f` that returns an Option or an Effect the schema does not encode
   * fails with a `SerializationError` that says so, nothing written.
   */
  readonly update: (
    key: Key,
    f: (current: Option.Option<A>) => A,
    options?: WriteOptions
  ) => Effect.Effect<Updated<A>, KonserveError.KonserveError, R>
  /**
   * `update` at a path: `f` receives what the path reaches inside the decoded
   * value (none when missing) and returns the new value for it; the new whole
   * value is encoded with the schema, as in `assocIn`. Atomic like `update`.
   * Resolves to `{ before, after }` at the path. The key alone acts as
   * `update`.
   */
  readonly updateIn: (
    path: Path,
    f: (current: Option.Option<unknown>) => unknown,
    options?: WriteOptions
  ) => Effect.Effect<Updated<unknown>, KonserveError.KonserveError, R>
  /** The store's `dissoc`: no value is decoded. */
  readonly dissoc: KonserveStore["dissoc"]

  /** The store's `keys`: every key with its `Meta`, no value decoded. */
  readonly keys: KonserveStore["keys"]

  /** The decoded values of the keys that exist (sparse); `DecodeError` when any does not decode. */
  readonly multiGet: (keys: Iterable<Key>) => Effect.Effect<ReadonlyMap<Key, A>, KonserveError.KonserveError, R>
  /** Encodes every value with the schema, then writes as the store's `multiAssoc`; any value that does not encode: nothing written. */
  readonly multiAssoc: (
    entries: Iterable<readonly [Key, A]> | Readonly<Record<Key, A>>,
    options?: MultiAssocOptions
  ) => Effect.Effect<void, KonserveError.KonserveError, R>
  /** The store's `multiDissoc`: no value is decoded. */
  readonly multiDissoc: KonserveStore["multiDissoc"]

  /** Appends one element, encoded with the schema (a log of `A`), atomically and in order; `SerializationError` and nothing appended when it does not encode. */
  readonly append: (key: Key, element: A) => Effect.Effect<void, KonserveError.KonserveError, R>
  /** The elements of a log, each decoded with the schema, in append order; none for a missing key or a key of another kind. */
  readonly log: (key: Key) => Effect.Effect<Option.Option<ReadonlyArray<A>>, KonserveError.KonserveError, R>
  /** Folds the decoded elements of a log in append order; `initial` for a missing key. */
  readonly reduceLog: <B>(
    key: Key,
    initial: B,
    f: (acc: B, element: A) => B
  ) => Effect.Effect<B, KonserveError.KonserveError, R>

  /**
   * The store's `transact` on decoded values: `f` sees the keys' values
   * decoded with the schema (a value that does not decode: `DecodeError`,
   * nothing written) and returns `A`s to write, encoded with the schema
   * (one that does not encode: `SerializationError`, nothing written).
   */
  readonly transact: <B, E = never, R2 = never>(
    keys: Iterable<Key>,
    f: (current: ReadonlyMap<Key, A>) => Effect.Effect<TypedTransactPlan<A, B>, E, R2>,
    options?: TransactOptions
  ) => Effect.Effect<B, KonserveError.KonserveError | E, R | R2>
}

/**
 * The plan of a typed view's `transact`: `A`s to write.
 *
 * @since 0.2.0
 * @category models
 */
export interface TypedTransactPlan<A, B> {
  readonly assoc?: Iterable<readonly [Key, A]> | Readonly<Record<Key, A>> | undefined
  readonly dissoc?: Iterable<Key> | undefined
  readonly result: B
}

/**
 * The konserve protocol.
 *
 * @since 0.1.0
 * @category models
 */
export interface KonserveStore {
  /** The value of a key; a binary key yields its bytes as one `Uint8Array`, a log key its elements as an array. */
  readonly get: (key: Key) => Effect.Effect<Option.Option<unknown>, KonserveError.KonserveError>
  /** The value at a path; none when any step is missing. */
  readonly getIn: (path: Path) => Effect.Effect<Option.Option<unknown>, KonserveError.KonserveError>
  readonly getMeta: (key: Key) => Effect.Effect<Option.Option<Meta>, KonserveError.KonserveError>
  readonly exists: (key: Key) => Effect.Effect<boolean, KonserveError.KonserveError>

  readonly assoc: (key: Key, value: unknown, options?: WriteOptions) => Effect.Effect<void, KonserveError.KonserveError>
  /** Sets the value at a path, creating missing intermediate objects. */
  readonly assocIn: (
    path: Path,
    value: unknown,
    options?: WriteOptions
  ) => Effect.Effect<void, KonserveError.KonserveError>
  /**
   * Applies `f` to the current value atomically: a concurrent write makes it
   * re-run `f` on the fresh value, so no update is lost. `f` receives none
   * for a missing key and returns the new value itself: an Option, an Either
   * or an Effect returned instead fails with `SerializationError` saying so
   * (`update's function returned an Option ...`), nothing written.
   */
  readonly update: (
    key: Key,
    f: (current: Option.Option<unknown>) => unknown,
    options?: WriteOptions
  ) => Effect.Effect<Updated, KonserveError.KonserveError>
  /**
   * `update` at a path: `f` receives the value at the path (none when
   * missing) and returns the new value for it, as in `update`; missing
   * intermediate objects are created, as in `assocIn`.
   */
  readonly updateIn: (
    path: Path,
    f: (current: Option.Option<unknown>) => unknown,
    options?: WriteOptions
  ) => Effect.Effect<Updated, KonserveError.KonserveError>
  /**
   * Removes a key of any kind; true when it existed. With `ifVersion`, only
   * while `Meta.version` still equals it (then true), else `ConditionFailed`
   * and nothing removed: a missing or expired key fails too.
   */
  readonly dissoc: (key: Key, options?: DissocOptions) => Effect.Effect<boolean, KonserveError.KonserveError>

  /** Every key with its metadata, once each, lazily, across every page. */
  readonly keys: Stream.Stream<Meta, KonserveError.KonserveError>

  /** The values of the keys that exist (sparse). */
  readonly multiGet: (keys: Iterable<Key>) => Effect.Effect<ReadonlyMap<Key, unknown>, KonserveError.KonserveError>
  readonly multiAssoc: (
    entries: Iterable<readonly [Key, unknown]> | Readonly<Record<Key, unknown>>,
    options?: MultiAssocOptions
  ) => Effect.Effect<void, KonserveError.KonserveError>
  /** Removes keys; each key maps to whether it existed. */
  readonly multiDissoc: (
    keys: Iterable<Key>,
    options?: MultiDissocOptions
  ) => Effect.Effect<ReadonlyMap<Key, boolean>, KonserveError.KonserveError>

  /** Appends one element to the log of a key, atomically and in order. */
  readonly append: (key: Key, element: unknown) => Effect.Effect<void, KonserveError.KonserveError>
  /** The elements of a log in append order; none for a missing key or a key of another kind. */
  readonly log: (key: Key) => Effect.Effect<Option.Option<ReadonlyArray<unknown>>, KonserveError.KonserveError>
  readonly reduceLog: <A>(
    key: Key,
    initial: A,
    f: (acc: A, element: unknown) => A
  ) => Effect.Effect<A, KonserveError.KonserveError>

  /** Stores bytes of any size up to `maxValueBytes`, from any `BinaryInput`, with memory bounded by a few chunks. */
  readonly bassoc: <E = never, R = never>(
    key: Key,
    data: BinaryInput<E, R>,
    options?: WriteOptions
  ) => Effect.Effect<void, KonserveError.KonserveError | E, R>
  /** A stored binary; none for a missing key or a key of another kind. */
  readonly bget: (key: Key) => Effect.Effect<Option.Option<Binary>, KonserveError.KonserveError>

  /** A typed view of this store: values (and log elements) encoded and decoded with the schema (`TypedStore`). */
  readonly forSchema: <A, I, R>(schema: Schema.Schema<A, I, R>) => TypedStore<A, R>

  /**
   * The writes this store commits, from when the stream runs (konserve's
   * write hooks; MemoryStore: every write to that memory). Each is published
   * after it commits and before it returns, so a key's changes come in
   * commit order; a write that changes nothing (`dissoc` of a missing key)
   * publishes nothing. Every key of one atomic `multiAssoc`/`multiDissoc`
   * shares a `batch`. A subscriber more than 1024 changes behind ends with
   * `DynamoDBError` code "ChangesOverflow" (it never misses one silently, and
   * never slows a writer). Only this store's writes: other processes' come
   * from `DynamoDBStore.changes`. See docs/changes.md.
   */
  readonly changes: Stream.Stream<Change, KonserveError.KonserveError>

  /**
   * A serializable transaction over the keys named (at most 100; duplicates
   * read once): reads them strongly, runs `f` on the values found (absent
   * keys are missing from the map), and commits its plan's `assoc`/`dissoc`
   * atomically on the condition that no key read has changed — read-only keys
   * included — with one version for the whole plan (one `batch` in `changes`).
   * On a conflict it reads again and re-runs `f` (`retries`, default the
   * store's `conflictRetries`; then `ConditionFailed` with operation
   * "transact"), so `f` may run more than once; no lock is held while it runs.
   * `f` failing aborts with nothing written. A plan may write and remove only
   * keys it read, never one key both (`InvalidKey`); a key holding a binary
   * or a log fails with `InvalidKey` before `f` runs; more than 100 keys or
   * more than a transaction's 4 MB fail with `TransactionLimitExceeded`.
   * Written values carry no ttl and no meta. At most once under faults, as
   * every write. See docs/consistency.md.
   */
  readonly transact: <A, E = never, R = never>(
    keys: Iterable<Key>,
    f: (current: ReadonlyMap<Key, unknown>) => Effect.Effect<TransactPlan<A>, E, R>,
    options?: TransactOptions
  ) => Effect.Effect<A, KonserveError.KonserveError | E, R>
}
