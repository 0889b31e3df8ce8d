/**
 * The konserve protocol on Amazon DynamoDB: one table (created on demand),
 * values of any size up to `maxValueBytes` (large ones in chunks of their
 * own partitions), conditional writes for atomic `update`s across processes,
 * transactions for atomic multi-key writes and appends, and the store's own
 * retry schedule for throttling, 5xx and network failures.
 *
 * The constructors go from the most managed to the least:
 * `layer`/`make` build and destroy their own `DynamoDBClient`, `layerConfig`
 * reads the same configuration from `Config`, `layerWithClient` borrows a
 * client the caller owns.
 *
 * @since 0.1.0
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type * as Client from "./internal/dynamodb/client.js"
import type * as ConfigShape from "./internal/dynamodb/configShape.js"
import * as Connect from "./internal/dynamodb/connect.js"
import * as Content from "./internal/dynamodb/content.js"
import * as Feed from "./internal/dynamodb/feed/feed.js"
import * as FeedOptions from "./internal/dynamodb/feed/options.js"
import * as StreamsClient from "./internal/dynamodb/feed/streamsClient.js"
import * as StreamTable from "./internal/dynamodb/feed/streamTable.js"
import * as KeyLayout from "./internal/dynamodb/keyLayout.js"
import * as Prefix from "./internal/dynamodb/prefix.js"
import { acquireClient, type Settings, settingsOf, streamsSettings } from "./internal/dynamodb/settings.js"
import * as Sweep from "./internal/dynamodb/sweep.js"
import * as Table from "./internal/dynamodb/table.js"
import * as Transport from "./internal/dynamodb/transport.js"
import * as Options from "./internal/options.js"
import type { DynamoDBError, KonserveError } from "./KonserveError.js"
import { StoreNotFound } from "./KonserveError.js"
import type * as KonserveStore from "./KonserveStore.js"
import { KonserveStore as KonserveStoreTag } from "./KonserveStore.js"

/**
 * The configuration of a DynamoDB store.
 *
 * @since 0.1.0
 * @category models
 */
export interface DynamoDBStoreConfig
  extends ConfigShape.ConfigShape<Redacted.Redacted<string>, Duration.DurationInput>
{
  /**
   * The table's DynamoDB stream, for `changes`: true creates the table with
   * a stream (view type `NEW_AND_OLD_IMAGES`), or turns it on for an
   * existing table, when the store is built. Default false (a table's stream
   * is left as it is).
   */
  readonly stream?: boolean | undefined
}

/**
 * The options of `layerWithClient`: the configuration without what the
 * client already holds (region, endpoint, credentials), and the client.
 *
 * @since 0.1.0
 * @category models
 */
export type LayerWithClientOptions = Omit<DynamoDBStoreConfig, "region" | "endpoint" | "credentials" | "timeouts"> & {
  readonly client: DynamoDBClient
}

/**
 * A store on its own `DynamoDBClient`, destroyed when the scope closes.
 * Checks the table while it is built (creating it when missing, unless
 * `createTable` is false: `StoreNotFound`), so a wrong table, endpoint or
 * credentials fail here, not on the first `get`.
 *
 * @since 0.1.0
 * @category constructors
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { DynamoDBStore } from "konserve-dynamodb"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const store = yield* DynamoDBStore.make({ table: "konserve" })
 *   yield* store.assoc("fruit", { name: "banana" })
 *   return yield* store.get("fruit")
 * }))
 * ```
 */
export const make = (
  config: DynamoDBStoreConfig
): Effect.Effect<KonserveStore.KonserveStore, StoreNotFound | DynamoDBError, Scope.Scope> =>
  Effect.gen(function*() {
    const settings = yield* settingsOf(config)
    const sdk = yield* acquireClient(config, settings)
    return yield* Connect.makeWith(sdk, settings, "own")
  }).pipe(Effect.withSpan("DynamoDBStore.make"))

/**
 * The store as a layer, on its own `DynamoDBClient` (destroyed when the
 * layer's scope closes). See `make`.
 *
 * @since 0.1.0
 * @category layers
 * @example
 * ```ts
 * import { Effect, Option } from "effect"
 * import { DynamoDBStore, KonserveStore } from "konserve-dynamodb"
 *
 * const program = KonserveStore.update("counter", (n) => Option.getOrElse(n, () => 0) as number + 1)
 * const runnable = program.pipe(Effect.provide(DynamoDBStore.layer({ table: "konserve", prefix: "app" })))
 * ```
 */
export const layer = (
  config: DynamoDBStoreConfig
): Layer.Layer<KonserveStore.KonserveStore, StoreNotFound | DynamoDBError> =>
  Layer.scoped(KonserveStoreTag, make(config))

/** `Config.unwrap`, also tolerating plain values where a `Config` is expected. */
const unwrapConfig = (wrapped: unknown): Config.Config<unknown> => {
  if (Config.isConfig(wrapped)) return wrapped
  if (Predicate.isRecord(wrapped) && !Redacted.isRedacted(wrapped) && !Duration.isDuration(wrapped)) {
    return Config.all(Object.fromEntries(Object.entries(wrapped).map(([k, v]) => [k, unwrapConfig(v)])))
  }
  return Config.succeed(wrapped)
}

/**
 * The store as a layer, its configuration read from `Config` (environment
 * variables by default, any `ConfigProvider` in tests): every field, nested
 * ones included, may be a `Config`.
 *
 * @since 0.1.0
 * @category layers
 * @example
 * ```ts
 * import { Config } from "effect"
 * import { DynamoDBStore } from "konserve-dynamodb"
 *
 * const StoreLive = DynamoDBStore.layerConfig({
 *   table: Config.string("KONSERVE_TABLE"),
 *   prefix: Config.string("KONSERVE_PREFIX").pipe(Config.withDefault("app"))
 * })
 * ```
 */
export const layerConfig = (
  config: Config.Config.Wrap<DynamoDBStoreConfig>
): Layer.Layer<KonserveStore.KonserveStore, ConfigError.ConfigError | StoreNotFound | DynamoDBError> =>
  Layer.scoped(
    KonserveStoreTag,
    Effect.flatMap(unwrapConfig(config) as Config.Config<DynamoDBStoreConfig>, make)
  )

/**
 * The store as a layer on a `DynamoDBClient` the caller owns (custom
 * middleware, tracing, credentials). The client is borrowed: the store
 * never destroys it, also when the layer's scope closes. Its retry settings
 * are the caller's: the store retries on its own schedule on top of them.
 *
 * @since 0.1.0
 * @category layers
 * @example
 * ```ts
 * import { DynamoDBClient } from "@aws-sdk/client-dynamodb"
 * import { DynamoDBStore } from "konserve-dynamodb"
 *
 * const client = new DynamoDBClient({ region: "eu-west-1" })
 * const StoreLive = DynamoDBStore.layerWithClient({ client, table: "konserve" })
 * ```
 */
export const layerWithClient = (
  options: LayerWithClientOptions
): Layer.Layer<KonserveStore.KonserveStore, StoreNotFound | DynamoDBError> =>
  Layer.effect(
    KonserveStoreTag,
    Effect.flatMap(settingsOf(options), (settings) =>
      Connect.makeWith(options.client, settings, Transport.borrowedTransport(options.client))).pipe(
        Effect.withSpan("DynamoDBStore.make")
      )
  )

const withClient = <A>(
  config: DynamoDBStoreConfig | LayerWithClientOptions,
  f: (client: Client.Client, settings: Settings) => Effect.Effect<A, DynamoDBError>
): Effect.Effect<A, DynamoDBError> =>
  Effect.scoped(Effect.flatMap(Connect.scopedClient(config), ({ client, settings }) => f(client, settings)))

/**
 * Deletes a store: without a prefix, its table (and waits until it is
 * gone); with one, every item of that prefix, keeping the table and the
 * other prefixes. A missing table is not an error. Takes the configuration
 * of `layer` or the options of `layerWithClient` (whose client stays open).
 *
 * @since 0.1.0
 * @category utils
 * @example
 * ```ts
 * import { DynamoDBStore } from "konserve-dynamodb"
 *
 * const cleanup = DynamoDBStore.deleteStore({ table: "konserve", prefix: "test-run-42" })
 * ```
 */
export const deleteStore = (config: DynamoDBStoreConfig | LayerWithClientOptions): Effect.Effect<void, DynamoDBError> =>
  withClient(config, (client, settings) => {
    if (settings.prefix === undefined) return Table.remove(client)
    const prefix = settings.prefix
    return Effect.flatMap(
      Table.describe(client),
      (table) => table === undefined ? Effect.void : Effect.mapError(Prefix.remove(client, prefix), Table.narrowAll)
    )
  }).pipe(Effect.withSpan("DynamoDBStore.deleteStore"))

/**
 * Whether a store exists: its table exists (and, with a prefix, holds at
 * least one of its keys). Takes the configuration of `layer` or the options
 * of `layerWithClient` (whose client stays open).
 *
 * @since 0.1.0
 * @category utils
 * @example
 * ```ts
 * import { DynamoDBStore } from "konserve-dynamodb"
 *
 * const exists = DynamoDBStore.storeExists({ table: "konserve" })
 * ```
 */
export const storeExists = (
  config: DynamoDBStoreConfig | LayerWithClientOptions
): Effect.Effect<boolean, DynamoDBError> =>
  withClient(config, (client, settings) =>
    Effect.flatMap(Table.describe(client), (table) =>
      table === undefined
        ? Effect.succeed(false)
        : settings.prefix === undefined
        ? Effect.succeed(true)
        : Effect.mapError(Prefix.holdsAKey(client, settings.prefix), Table.narrowAll))).pipe(
      Effect.withSpan("DynamoDBStore.storeExists")
    )

/**
 * Where a `sweep` is. The counts are cumulative; the last element of the
 * stream has `done: true`.
 *
 * @since 0.1.0
 * @category models
 */
export interface SweepProgress {
  /** Items of the store read so far (its prefix's items; other stores' are not counted). */
  readonly scanned: number
  /** Items no head references, older than the grace (and tombstones, expired heads past their TTL). */
  readonly unreferenced: number
  /** Of those, deleted (0 with `dryRun`). */
  readonly removed: number
  /** Approximate bytes of the deleted items (a chunk counts as a full 380 KiB chunk). */
  readonly bytesFreed: number
  readonly done: boolean
}

/**
 * The options of `sweep`.
 *
 * @since 0.1.0
 * @category models
 */
export interface SweepOptions {
  /**
   * How old an item must be to go: default 1 hour. Keep it above 35 minutes
   * (a chunked write's 30-minute limit plus the 5 minutes a signed request
   * stays valid) plus the clock skew between writers and the sweeping
   * machine: a shorter grace can remove the chunks of a write still in
   * progress, whose key then fails to read once its head lands
   * (docs/consistency.md, "Sweeping").
   */
  readonly grace?: Duration.DurationInput | undefined
  /** Count what would go, delete nothing. */
  readonly dryRun?: boolean | undefined
}

/** The default grace of `sweep`. */
const DEFAULT_GRACE = Duration.hours(1)

/** The shortest grace that is safe against writes in progress on machines with exact clocks. */
const SAFE_GRACE = Duration.sum(Content.CHUNKED_WRITE_LIMIT, Content.SIGNATURE_WINDOW)

/**
 * Removes what no head of the store references, once older than `grace`
 * (default 1 hour): chunks of replaced or never-committed values and
 * binaries (left by faults, dead writers, deletions that failed), log
 * elements of generations their key left behind, and the store's own
 * bookkeeping past its use — tombstones and expired heads whose TTL
 * attribute has passed (what DynamoDB's TTL sweeper removes, for tables
 * where it is off or behind). It never changes what any read, `keys` or
 * `size` sees, also while writers run; with a prefix it touches only that
 * prefix's items, and items it does not recognise are left alone.
 *
 * One pass of `Scan` over the table (in parallel segments: `scanSegments`,
 * else one per 64 MiB of the table, up to 8), a page at a time: memory stays
 * at a page per segment. Each candidate's head is read strongly
 * consistently after its age was decided; chunks and elements are deleted in
 * `BatchWriteItem`s, dead heads by a `DeleteItem` conditioned on the version
 * read. Throttling is retried on the store's `retry` schedule.
 *
 * Takes the configuration of `layer` or the options of `layerWithClient`
 * (whose client stays open). A missing table fails with `StoreNotFound`.
 * Ages are measured on the machine's clock, not the fiber's `Clock`.
 *
 * @since 0.1.0
 * @category utils
 * @example
 * ```ts
 * import { Effect, Option, Stream } from "effect"
 * import { DynamoDBStore } from "konserve-dynamodb"
 *
 * // what a sweep would remove, without removing anything
 * const preview = DynamoDBStore.sweep({ table: "konserve", prefix: "app" }, { dryRun: true }).pipe(
 *   Stream.runLast,
 *   Effect.map(Option.map((progress) => `${progress.unreferenced} of ${progress.scanned} items unreferenced`))
 * )
 * ```
 */
export const sweep = (
  config: DynamoDBStoreConfig | LayerWithClientOptions,
  options?: SweepOptions
): Stream.Stream<SweepProgress, KonserveError> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const grace = options?.grace === undefined ? Option.some(DEFAULT_GRACE) : Options.nonNegativeDuration(options.grace)
    if (Option.isNone(grace)) {
      return yield* Options.invalidConfiguration(
        `invalid grace: ${String(options?.grace)} is not a duration of zero or more`,
        "DynamoDBStore.sweep"
      )
    }
    const { client, settings } = yield* Connect.scopedClient(config)
    const table = yield* Table.describe(client)
    if (table === undefined) return yield* new StoreNotFound({ table: settings.table })
    if (Duration.lessThan(grace.value, SAFE_GRACE)) {
      yield* Effect.logWarning(
        `konserve-dynamodb: sweep with a grace of ${Duration.format(grace.value)}, under ` +
          `${Duration.format(SAFE_GRACE)}: it may remove the chunks of writes still in progress`
      )
    }
    return Sweep.run(client, KeyLayout.layout(settings.prefix), {
      graceMillis: Duration.toMillis(grace.value),
      dryRun: options?.dryRun ?? false,
      segments: Sweep.segmentsFor(settings.scanSegments, table.TableSizeBytes)
    })
  })).pipe(Stream.withSpan("DynamoDBStore.sweep"))

/**
 * The options of `changes`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ChangesOptions {
  /** Where a reader without a saved position starts: "latest" (default) or "oldest" (the stream's trim horizon). */
  readonly from?: "latest" | "oldest" | undefined
  /**
   * A name: the reader's position is kept in the table under the store's
   * prefix and resumed by the next reader of that name (one reader per
   * name at a time).
   */
  readonly checkpoint?: string | undefined
  /** The pause between polls when no shard has a new record; default 250 ms. */
  readonly pollInterval?: Duration.DurationInput | undefined
}

/**
 * Every process's writes to the store, read from the table's DynamoDB
 * stream (turn it on with `stream: true`; without one this fails with
 * `DynamoDBError` code "StreamNotEnabled"). Each change reaches the reader at
 * least once, per key in version order (not ordered across keys); only the
 * store's keys (its prefix), never its chunks, log elements or bookkeeping.
 * A TTL deletion is `op: "expire"`. `value` is the value when the head held
 * it inline; `batch` as in-process: the shared version of an atomic
 * `multiAssoc` / `multiDissoc` / `transact` (see docs/changes.md).
 *
 * With a `checkpoint` name the position is saved in the table: a reader
 * restarted with the same name misses nothing and repeats at most the batch
 * it had not finished. The stream's SDK client is built and destroyed with
 * the stream. Takes the configuration of `layer` or the options of
 * `layerWithClient`.
 *
 * @since 0.1.0
 * @category utils
 * @example
 * ```ts
 * import { Effect, Stream } from "effect"
 * import { DynamoDBStore } from "konserve-dynamodb"
 *
 * const printed = DynamoDBStore.changes({ table: "konserve", prefix: "app" }, { checkpoint: "printer" }).pipe(
 *   Stream.runForEach((change) => Effect.log(`${change.op} ${change.key} ${change.version}`))
 * )
 * ```
 */
export const changes = (
  config: DynamoDBStoreConfig | LayerWithClientOptions,
  options?: ChangesOptions
): Stream.Stream<KonserveStore.Change, KonserveError> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const checked = yield* FeedOptions.check(options)
    const { client, settings } = yield* Connect.scopedClient(config)
    const streams = yield* StreamsClient.acquire(streamsSettings(config, settings), settings.retry)
    return Feed.run(client, streams, KeyLayout.layout(settings.prefix), settings.maxValueBytes, checked)
  })).pipe(Stream.withSpan("DynamoDBStore.changes"))

/**
 * Whether the store's table has a DynamoDB stream (what `changes` reads);
 * false when the table does not exist. Takes the configuration of `layer`
 * or the options of `layerWithClient`.
 *
 * @since 0.1.0
 * @category utils
 */
export const hasStream = (
  config: DynamoDBStoreConfig | LayerWithClientOptions
): Effect.Effect<boolean, DynamoDBError> =>
  withClient(config, (client) => Effect.map(StreamTable.status(client), (status) => status?.enabled === true)).pipe(
    Effect.withSpan("DynamoDBStore.hasStream")
  )
