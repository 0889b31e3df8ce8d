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
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Metric from "effect/Metric"
import type * as Option from "effect/Option"
import type * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Cache from "./internal/cache/layer.js"
import * as Gc from "./internal/gc.js"
import * as Metrics from "./internal/metrics.js"
import type {
  Binary,
  BinaryInput,
  CacheOptions,
  Change,
  DissocOptions,
  GcOptions,
  Key,
  Meta,
  MultiAssocOptions,
  MultiDissocOptions,
  Path,
  TransactOptions,
  TransactPlan,
  TypedStore,
  Updated,
  WriteOptions
} from "./internal/service.js"
import type * as Service from "./internal/service.js"
import * as Tracing from "./internal/tracing.js"
import type * as KonserveError from "./KonserveError.js"
import type { DynamoDBError } from "./KonserveError.js"

// Every model (Key, Path, Meta, Binary, BinaryInput, WriteOptions, MultiAssocOptions, DissocOptions, GcOptions,
// MultiDissocOptions, Updated, Change, TransactPlan, TransactOptions, CacheOptions, TypedStore, TypedTransactPlan),
// documented where it is declared: ./internal/service.ts. The service interface is declared below.
export type * from "./internal/service.js"

/**
 * The konserve protocol.
 *
 * @since 0.1.0
 * @category models
 */
export interface KonserveStore extends Service.KonserveStore {}

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
 * Whether the span of each operation carries the key itself (`konserve.key`)
 * instead of a stable hash of it (`konserve.key.hash`, the default: keys can
 * be personal data). A `Context.Reference`, false unless provided:
 * `Effect.provideService(KonserveStore.TraceKeys, true)`, or
 * `Layer.succeed(KonserveStore.TraceKeys, true)` in the application's layer.
 * See docs/observability.md.
 *
 * @since 0.1.0
 * @category tracing
 */
export const TraceKeys: typeof Tracing.TraceKeys = Tracing.TraceKeys

/**
 * The store's metrics, the very objects it updates (docs/observability.md):
 * read one series with `Metric.value` after `Metric.tagged` with its labels
 * (`KonserveStore.metrics.operations.pipe(Metric.tagged("operation",
 * "KonserveStore.assoc"), Metric.tagged("outcome", "success"))`), or all of
 * them with `Metric.snapshot`. A `Metric.counter` made anew with the same
 * name is another metric (the store's carry a description) and reads 0.
 *
 * @since 0.1.0
 * @category metrics
 */
export const metrics: {
  /** Public operations, by `operation` and `outcome` ("success" or the failure's tag). */
  readonly operations: Metric.Metric.Counter<number>
  /** Latency in milliseconds, by `operation`. */
  readonly operationDuration: Metric.Metric.Histogram<number>
  /** Writes that failed with `UnknownOutcome`, by `operation`. */
  readonly unknownOutcomes: Metric.Metric.Counter<number>
  /** Bytes written, by `kind` (value, binary, log). */
  readonly bytesWritten: Metric.Metric.Counter<number>
  /** Bytes read, by `kind`. */
  readonly bytesRead: Metric.Metric.Counter<number>
  /** DynamoDB requests (every attempt), by `command` and `outcome`. */
  readonly requests: Metric.Metric.Counter<number>
  /** DynamoDB attempts after the first, by `command`. */
  readonly retries: Metric.Metric.Counter<number>
  /** DynamoDB attempts refused for throughput, by `command`. */
  readonly throttles: Metric.Metric.Counter<number>
  /** Capacity units DynamoDB reported (`consumedCapacity: true`), by `command` and `unit`. */
  readonly capacityUnits: Metric.Metric.Counter<number>
} = {
  operations: Metrics.operations,
  operationDuration: Metrics.operationDuration,
  unknownOutcomes: Metrics.unknownOutcomes,
  bytesWritten: Metrics.bytesWritten,
  bytesRead: Metrics.bytesRead,
  requests: Metrics.requests,
  retries: Metrics.retries,
  throttles: Metrics.throttles,
  capacityUnits: Metrics.capacityUnits
}

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
export const dissoc = (
  key: Key,
  options?: DissocOptions
): Effect.Effect<boolean, KonserveError.KonserveError, KonserveStore> =>
  Effect.flatMap(KonserveStore, (store) => store.dissoc(key, options))

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
 * Removes every key not in `keep` whose last write (`Meta.lastWrite`) is
 * before `olderThan`, and resolves to the keys it removed (konserve's
 * `gc/sweep!`). Works on any store: it streams `keys` and removes each key
 * with `dissoc(key, { ifVersion })` on the version it listed, 16 at a time, so
 * a key rewritten (or removed) while gc runs is never removed by it and is
 * not in the answer. Expired keys are absent already: not listed, not
 * removed. A `keep` that holds something other than a key fails with
 * `InvalidKey`, an `olderThan` that is not a valid `Date` (or a `keep` that is
 * not an iterable of keys) with `DynamoDBError` code "InvalidArgument", both
 * before anything is read. Any other failure stops gc (keys removed until then
 * stay removed: run it again).
 *
 * @since 0.1.0
 * @category accessors
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { KonserveStore, MemoryStore } from "konserve-dynamodb"
 *
 * const program = Effect.gen(function*() {
 *   yield* KonserveStore.assoc("session/1", { user: "a" })
 *   yield* KonserveStore.assoc("config", { theme: "dark" })
 *   // every key written before now, except "config"
 *   return yield* KonserveStore.gc({ keep: ["config"], olderThan: new Date(Date.now() + 1) })
 * }).pipe(Effect.provide(MemoryStore.layer())) // ["session/1"]
 * ```
 */
export const gc = (options: GcOptions): Effect.Effect<ReadonlyArray<Key>, KonserveError.KonserveError, KonserveStore> =>
  Effect.flatMap(KonserveStore, (store) => Gc.gc(store, options))

/**
 * The writes the store in context commits, from when the stream runs (see
 * `KonserveStore.changes` and docs/changes.md).
 *
 * @since 0.2.0
 * @category accessors
 * @example
 * ```ts
 * import { Effect, Fiber, Stream } from "effect"
 * import { KonserveStore, MemoryStore } from "konserve-dynamodb"
 *
 * const program = Effect.gen(function*() {
 *   const seen = yield* KonserveStore.changes.pipe(Stream.take(2), Stream.runCollect, Effect.fork)
 *   yield* Effect.sleep("10 millis") // let the subscriber start: it sees the writes from then on
 *   yield* KonserveStore.assoc("a", 1)
 *   yield* KonserveStore.dissoc("a")
 *   return yield* Fiber.join(seen) // a write of "a", then its removal
 * }).pipe(Effect.provide(MemoryStore.layer()))
 * ```
 */
export const changes: Stream.Stream<Change, KonserveError.KonserveError, KonserveStore> = Stream.unwrap(
  Effect.map(KonserveStore, (store) => store.changes)
)

/**
 * `transact` on the store in context (see `KonserveStore.transact`).
 *
 * @since 0.2.0
 * @category accessors
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { KonserveStore, MemoryStore } from "konserve-dynamodb"
 *
 * // Move 10 from a to b, or fail when a has less: serializable over {a, b}.
 * const transfer = KonserveStore.transact(["a", "b"], (current) => {
 *   const a = (current.get("a") as number | undefined) ?? 0
 *   const b = (current.get("b") as number | undefined) ?? 0
 *   return a < 10
 *     ? Effect.fail("insufficient funds" as const)
 *     : Effect.succeed({ assoc: { a: a - 10, b: b + 10 }, result: a - 10 })
 * })
 *
 * const program = Effect.gen(function*() {
 *   yield* KonserveStore.multiAssoc({ a: 100, b: 0 })
 *   return yield* transfer // 90
 * }).pipe(Effect.provide(MemoryStore.layer()))
 * ```
 */
export const transact = <A, E = never, R = never>(
  keys: Iterable<Key>,
  f: (current: ReadonlyMap<Key, unknown>) => Effect.Effect<TransactPlan<A>, E, R>,
  options?: TransactOptions
): Effect.Effect<A, KonserveError.KonserveError | E, R | KonserveStore> =>
  Effect.flatMap(KonserveStore, (store) => store.transact(keys, f, options))

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

/**
 * A read cache in front of the store in context, coherent across processes
 * when given their changes (konserve's `cache`, made coherent).
 *
 * `get`, `getIn`, `getMeta`, `exists` and `multiGet` are answered from
 * memory when the key is cached (a value with its `Meta`, a key known
 * absent, or the `Meta` of a binary or a log, whose contents are never
 * cached); only the keys not cached go to the store, `multiGet`'s in one
 * batch, and concurrent reads of one key share one request. Every value
 * handed out is a fresh copy, as the store's. Every write through this
 * service drops its keys once it has ended (read-your-writes in this
 * process, atomic batches and `transact` included); `update`, `updateIn`,
 * `assocIn` below the key, `transact` and conditional writes read the
 * store, never the cache. An entry is never served after its key's expiry
 * (`WriteOptions.ttl`, on the fiber's `Clock`) nor longer than `ttl` after
 * it was read. Every other operation is the store's own.
 *
 * Staleness: a read may return a value as old as the invalidation stream's
 * lag (or `ttl`, without one). Without `invalidations`, `ttl` is required:
 * neither fails the layer with `DynamoDBError` code "InvalidConfiguration",
 * as does a `maxBytes` that is not a positive integer. Metrics:
 * `konserve_cache_hits_total`, `..._misses_total`, `..._evictions_total`,
 * `konserve_cache_bytes`, `..._invalidations_total`, `..._feed_lag_ms`,
 * `..._feed_down_total` (docs/cache.md).
 *
 * @since 0.2.0
 * @category layers
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { KonserveStore, MemoryStore } from "konserve-dynamodb"
 *
 * const Cached = KonserveStore.layerCache({ ttl: "1 minute" }).pipe(Layer.provide(MemoryStore.layer()))
 *
 * const program = Effect.gen(function*() {
 *   yield* KonserveStore.assoc("config", { theme: "dark" })
 *   yield* KonserveStore.get("config") // from the store, then kept
 *   return yield* KonserveStore.get("config") // from memory
 * }).pipe(Effect.provide(Cached))
 * ```
 */
export const layerCache = (options?: CacheOptions): Layer.Layer<KonserveStore, DynamoDBError, KonserveStore> =>
  Layer.scoped(KonserveStore, Effect.flatMap(KonserveStore, (store) => Cache.make(store, options)))
