/**
 * The konserve key-value store protocol as an Effect service: nested values,
 * atomic updates, append logs, binaries and atomic multi-key writes, with
 * typed failures.
 *
 * Program against the `KonserveStore` Tag; provide it with
 * `DynamoDBStore.layer(...)` in production and `MemoryStore.layer()` in tests.
 *
 * @since 0.1.0
 */
import type * as KeyValueStore from "@effect/platform/KeyValueStore"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import type * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type * as KonserveError from "./KonserveError.js"

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
 * A typed view of a store: values are encoded with the schema before they are
 * stored and decoded on the way out.
 *
 * @since 0.1.0
 * @category models
 */
export interface TypedStore<A, R = never> {
  readonly get: (key: Key) => Effect.Effect<Option.Option<A>, KonserveError.KonserveError, R>
  readonly assoc: (key: Key, value: A, options?: WriteOptions) => Effect.Effect<void, KonserveError.KonserveError, R>
  readonly update: (
    key: Key,
    f: (current: Option.Option<A>) => A,
    options?: WriteOptions
  ) => Effect.Effect<Updated<A>, KonserveError.KonserveError, R>
  readonly multiGet: (keys: Iterable<Key>) => Effect.Effect<ReadonlyMap<Key, A>, KonserveError.KonserveError, R>
  readonly multiAssoc: (
    entries: Iterable<readonly [Key, A]> | Readonly<Record<Key, A>>,
    options?: MultiAssocOptions
  ) => Effect.Effect<void, KonserveError.KonserveError, R>
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
   * for a missing key.
   */
  readonly update: (
    key: Key,
    f: (current: Option.Option<unknown>) => unknown,
    options?: WriteOptions
  ) => Effect.Effect<Updated, KonserveError.KonserveError>
  readonly updateIn: (
    path: Path,
    f: (current: Option.Option<unknown>) => unknown,
    options?: WriteOptions
  ) => Effect.Effect<Updated, KonserveError.KonserveError>
  /** Removes a key of any kind; true when it existed. */
  readonly dissoc: (key: Key) => Effect.Effect<boolean, KonserveError.KonserveError>

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

  readonly forSchema: <A, I, R>(schema: Schema.Schema<A, I, R>) => TypedStore<A, R>
}

/**
 * The service Tag.
 *
 * @since 0.1.0
 * @category tags
 */
export const KonserveStore: Context.Tag<KonserveStore, KonserveStore> = Context.GenericTag<KonserveStore>(
  "konserve-dynamodb/KonserveStore"
)

/**
 * @since 0.1.0
 * @category accessors
 */
export const get = (key: Key): Effect.Effect<Option.Option<unknown>, KonserveError.KonserveError, KonserveStore> =>
  Effect.flatMap(KonserveStore, (store) => store.get(key))

/**
 * @since 0.1.0
 * @category accessors
 */
export const getIn = (path: Path): Effect.Effect<Option.Option<unknown>, KonserveError.KonserveError, KonserveStore> =>
  Effect.flatMap(KonserveStore, (store) => store.getIn(path))

/**
 * @since 0.1.0
 * @category accessors
 */
export const getMeta = (key: Key): Effect.Effect<Option.Option<Meta>, KonserveError.KonserveError, KonserveStore> =>
  Effect.flatMap(KonserveStore, (store) => store.getMeta(key))

/**
 * @since 0.1.0
 * @category accessors
 */
export const exists = (key: Key): Effect.Effect<boolean, KonserveError.KonserveError, KonserveStore> =>
  Effect.flatMap(KonserveStore, (store) => store.exists(key))

/**
 * @since 0.1.0
 * @category accessors
 */
export const assoc = (
  key: Key,
  value: unknown,
  options?: WriteOptions
): Effect.Effect<void, KonserveError.KonserveError, KonserveStore> =>
  Effect.flatMap(KonserveStore, (store) => store.assoc(key, value, options))

/**
 * @since 0.1.0
 * @category accessors
 */
export const assocIn = (
  path: Path,
  value: unknown,
  options?: WriteOptions
): Effect.Effect<void, KonserveError.KonserveError, KonserveStore> =>
  Effect.flatMap(KonserveStore, (store) => store.assocIn(path, value, options))

/**
 * @since 0.1.0
 * @category accessors
 */
export const update = (
  key: Key,
  f: (current: Option.Option<unknown>) => unknown,
  options?: WriteOptions
): Effect.Effect<Updated, KonserveError.KonserveError, KonserveStore> =>
  Effect.flatMap(KonserveStore, (store) => store.update(key, f, options))

/**
 * @since 0.1.0
 * @category accessors
 */
export const updateIn = (
  path: Path,
  f: (current: Option.Option<unknown>) => unknown,
  options?: WriteOptions
): Effect.Effect<Updated, KonserveError.KonserveError, KonserveStore> =>
  Effect.flatMap(KonserveStore, (store) => store.updateIn(path, f, options))

/**
 * @since 0.1.0
 * @category accessors
 */
export const dissoc = (key: Key): Effect.Effect<boolean, KonserveError.KonserveError, KonserveStore> =>
  Effect.flatMap(KonserveStore, (store) => store.dissoc(key))

/**
 * @since 0.1.0
 * @category accessors
 */
export const keys: Stream.Stream<Meta, KonserveError.KonserveError, KonserveStore> = Stream.unwrap(
  Effect.map(KonserveStore, (store) => store.keys)
)

/**
 * @since 0.1.0
 * @category accessors
 */
export const multiGet = (
  keys: Iterable<Key>
): Effect.Effect<ReadonlyMap<Key, unknown>, KonserveError.KonserveError, KonserveStore> =>
  Effect.flatMap(KonserveStore, (store) => store.multiGet(keys))

/**
 * @since 0.1.0
 * @category accessors
 */
export const multiAssoc = (
  entries: Iterable<readonly [Key, unknown]> | Readonly<Record<Key, unknown>>,
  options?: MultiAssocOptions
): Effect.Effect<void, KonserveError.KonserveError, KonserveStore> =>
  Effect.flatMap(KonserveStore, (store) => store.multiAssoc(entries, options))

/**
 * @since 0.1.0
 * @category accessors
 */
export const multiDissoc = (
  keys: Iterable<Key>,
  options?: MultiDissocOptions
): Effect.Effect<ReadonlyMap<Key, boolean>, KonserveError.KonserveError, KonserveStore> =>
  Effect.flatMap(KonserveStore, (store) => store.multiDissoc(keys, options))

/**
 * @since 0.1.0
 * @category accessors
 */
export const append = (key: Key, element: unknown): Effect.Effect<void, KonserveError.KonserveError, KonserveStore> =>
  Effect.flatMap(KonserveStore, (store) => store.append(key, element))

/**
 * @since 0.1.0
 * @category accessors
 */
export const log = (
  key: Key
): Effect.Effect<Option.Option<ReadonlyArray<unknown>>, KonserveError.KonserveError, KonserveStore> =>
  Effect.flatMap(KonserveStore, (store) => store.log(key))

/**
 * @since 0.1.0
 * @category accessors
 */
export const reduceLog = <A>(
  key: Key,
  initial: A,
  f: (acc: A, element: unknown) => A
): Effect.Effect<A, KonserveError.KonserveError, KonserveStore> =>
  Effect.flatMap(KonserveStore, (store) => store.reduceLog(key, initial, f))

/**
 * @since 0.1.0
 * @category accessors
 */
export const bassoc = <E = never, R = never>(
  key: Key,
  data: BinaryInput<E, R>,
  options?: WriteOptions
): Effect.Effect<void, KonserveError.KonserveError | E, KonserveStore | R> =>
  Effect.flatMap(KonserveStore, (store) => store.bassoc(key, data, options))

/**
 * @since 0.1.0
 * @category accessors
 */
export const bget = (key: Key): Effect.Effect<Option.Option<Binary>, KonserveError.KonserveError, KonserveStore> =>
  Effect.flatMap(KonserveStore, (store) => store.bget(key))

/**
 * A typed view of the store in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const forSchema = <A, I, R>(
  schema: Schema.Schema<A, I, R>
): Effect.Effect<TypedStore<A, R>, never, KonserveStore> =>
  Effect.map(KonserveStore, (store) => store.forSchema(schema))

/**
 * Serves `@effect/platform`'s `KeyValueStore` (and so its `SchemaStore`) from
 * any `KonserveStore`: `set` stores a string or bytes as a value, `get`
 * yields strings (bytes decoded as UTF-8), `getUint8Array` yields bytes
 * (strings encoded as UTF-8), `clear` removes every key of the store (its
 * prefix only) and `size` counts them. `modify` and `modifyUint8Array` are
 * atomic across processes: they run as an `update` on the version read, so
 * concurrent modifies lose nothing (the platform's default is get-then-set).
 * Failures become `PlatformError`s with the `KonserveError` as `cause`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerKeyValueStore: Layer.Layer<KeyValueStore.KeyValueStore, never, KonserveStore> = Layer.effect(
  // The platform's Tag, by its key (a Tag is its key): `@effect/platform` is loaded when this layer is
  // built, not when this module is imported — importing it costs more than the rest of the store.
  Context.GenericTag<KeyValueStore.KeyValueStore>("@effect/platform/KeyValueStore"),
  Effect.flatMap(KonserveStore, (store) =>
    Effect.map(
      Effect.promise(() => import("./internal/keyValueStore.js")),
      (internal) => internal.fromKonserveStore(store)
    ))
)
