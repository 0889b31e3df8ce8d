/**
 * The store for code without Effect: `open(config)` gives a store whose every
 * operation returns a Promise, with absent values as `undefined`, `keys()` as
 * an async iterable and binaries as web `ReadableStream`s. Rejections are the
 * store's own error classes (`instanceof KonserveError.ItemTooLarge`,
 * `_tag`, fields, message). See docs/promise.md.
 *
 * ```ts
 * import { open } from "konserve-dynamodb/promise"
 *
 * await using store = await open({ table: "konserve", region: "eu-west-1" })
 * await store.assoc("fruit", { name: "banana" })
 * await store.get("fruit") // { name: "banana" }; undefined when absent
 * ```
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as DynamoDBStore from "./DynamoDBStore.js"
import type * as ConfigShape from "./internal/dynamodb/configShape.js"
import * as Run from "./internal/promise/run.js"
import * as Runtime from "./internal/promise/runtime.js"
import * as Transact from "./internal/promise/transact.js"
import * as Update from "./internal/promise/update.js"
import { DEFAULT_CONFLICT_RETRIES } from "./internal/store.js"
import type * as Service from "./KonserveStore.js"
import type { Key, KonserveStore, Meta, Path } from "./KonserveStore.js"
import { KonserveStore as KonserveStoreTag } from "./KonserveStore.js"
import * as MemoryStore from "./MemoryStore.js"

/**
 * A DynamoDB store's configuration without Effect types: the fields of
 * `DynamoDBStore.DynamoDBStoreConfig`, durations in milliseconds and the
 * secret as a plain string (it is wrapped in `Redacted` at once): `retry.baseDelay`
 * and `timeouts` in milliseconds.
 *
 * @since 0.1.0
 * @category models
 */
export interface DynamoDBConfig extends ConfigShape.ConfigShape<string, number> {}

/**
 * A MemoryStore: the same semantics and limits, in this process's memory.
 *
 * @since 0.1.0
 * @category models
 */
export interface MemoryConfig {
  readonly memory: true
  readonly maxValueBytes?: number | undefined
  readonly conflictRetries?: number | undefined
}

/**
 * `WriteOptions` without Effect types: `ttl` in milliseconds (`Infinity`:
 * no expiry).
 *
 * @since 0.1.0
 * @category models
 */
export interface WriteOptions {
  readonly ttl?: number | undefined
  readonly meta?: Readonly<Record<string, unknown>> | undefined
  readonly ifAbsent?: boolean | undefined
  readonly ifVersion?: string | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Updated {
  /** What the function received: `undefined` when the key (or the path) was absent. */
  readonly before: unknown
  readonly after: unknown
}

/**
/**
 * One write the store committed (`changes()`), as `KonserveStore.Change`
 * with its `Option`s as optional fields: `meta` after a write, `value`
 * after a write of a value held inline in the key's head (binaries, logs and
 * chunked values: read them), `batch` the id every key of one atomic
 * `multiAssoc`/`multiDissoc`/`transact` shares. Absent fields are left out.
 *
 * @since 0.2.0
 * @category models
 */
export interface Change {
  readonly key: Key
  readonly op: "write" | "remove" | "expire"
  readonly version: string
  readonly meta?: Meta
  readonly value?: unknown
  readonly batch?: string
}

/**
 * What `changes()` gives: an async iterable (one loop) that is subscribed
 * when `changes()` returns. Leaving the loop, `return()`, `await using` or
 * `close()` of the store releases the subscription.
 *
 * @since 0.2.0
 * @category models
 */
export interface Changes extends AsyncIterableIterator<Change>, AsyncDisposable {
  /** Releases the subscription; a `next()` waiting resolves `done`. */
  readonly return: () => Promise<IteratorResult<Change, undefined>>
}

/**
 * What `transact`'s function returns (or a Promise of it): the keys to write,
 * the keys to remove (each one of the keys read), and what `transact`
 * resolves to.
 *
 * @since 0.2.0
 * @category models
 */
export type TransactPlan<A> = Service.TransactPlan<A>

/**
 * `transact`'s options: `retries`, how many times `f` re-runs after a
 * concurrent change before `ConditionFailed` (default `conflictRetries`).
 *
 * @since 0.2.0
 * @category models
 */
export type TransactOptions = Service.TransactOptions

/**
 * A binary: its bytes as a web stream, read lazily; exactly `size` bytes.
 *
 * @since 0.1.0
 * @category models
 */
export interface Binary {
  readonly meta: Meta
  readonly size: number
  readonly stream: ReadableStream<Uint8Array>
}

/**
 * What `bassoc` takes: bytes, a string (UTF-8), an async iterable or a web
 * stream of bytes.
 *
 * @since 0.1.0
 * @category models
 */
export type BinaryInput = Uint8Array | string | AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>

/**
 * The store: the operations of `KonserveStore`, each a Promise.
 *
 * @since 0.1.0
 * @category models
 */
export interface Store extends AsyncDisposable {
  readonly get: (key: Key) => Promise<unknown>
  readonly getIn: (path: Path) => Promise<unknown>
  readonly getMeta: (key: Key) => Promise<Meta | undefined>
  readonly exists: (key: Key) => Promise<boolean>
  readonly assoc: (key: Key, value: unknown, options?: WriteOptions) => Promise<void>
  readonly assocIn: (path: Path, value: unknown, options?: WriteOptions) => Promise<void>
  /** `f` may return a value or a Promise of one; see docs/promise.md for how each runs. */
  readonly update: (key: Key, f: (current: unknown) => unknown, options?: WriteOptions) => Promise<Updated>
  readonly updateIn: (path: Path, f: (current: unknown) => unknown, options?: WriteOptions) => Promise<Updated>
  readonly dissoc: (key: Key, options?: { readonly ifVersion?: string | undefined }) => Promise<boolean>
  /** Every key with its `Meta`, lazily, across every page; breaking the loop stops the scan. */
  readonly keys: () => AsyncIterable<Meta>
  readonly multiGet: (keys: Iterable<Key>) => Promise<ReadonlyMap<Key, unknown>>
  readonly multiAssoc: (
    entries: Iterable<readonly [Key, unknown]> | Readonly<Record<Key, unknown>>,
    options?: WriteOptions & { readonly atomic?: boolean | undefined }
  ) => Promise<void>
  readonly multiDissoc: (
    keys: Iterable<Key>,
    options?: { readonly atomic?: boolean | undefined }
  ) => Promise<ReadonlyMap<Key, boolean>>
  readonly append: (key: Key, element: unknown) => Promise<void>
  /** `undefined` for a missing key or a key of another kind. */
  readonly log: (key: Key) => Promise<ReadonlyArray<unknown> | undefined>
  readonly reduceLog: <A>(key: Key, initial: A, f: (acc: A, element: unknown) => A) => Promise<A>
  readonly bassoc: (key: Key, data: BinaryInput, options?: WriteOptions) => Promise<void>
  readonly bget: (key: Key) => Promise<Binary | undefined>
  /**
   * The writes this store commits from when `changes()` returns (subscribed
   * at once: a write made after it returns is delivered), as
   * `KonserveStore.changes`: after the commit, per key in commit order, a
   * subscriber more than 1024 changes behind ends with `DynamoDBError` code
   * "ChangesOverflow". Leaving the loop releases the subscription.
   */
  readonly changes: () => Changes
  /**
   * A serializable transaction over `keys` (at most 100): `f` receives the
   * values found (absent keys are missing from the map) and returns a plan
   * or a Promise of one, committed atomically on the condition that no key
   * read has changed; on a conflict the keys are read again and `f` re-runs
   * (so `f` may run more than once). A rejection or throw of `f` aborts with
   * nothing written and rejects with that very error. Resolves to the plan's
   * `result`.
   */
  readonly transact: <A>(
    keys: Iterable<Key>,
    f: (current: ReadonlyMap<Key, unknown>) => TransactPlan<A> | PromiseLike<TransactPlan<A>>,
    options?: TransactOptions
  ) => Promise<A>
  /** Releases the client; every operation afterwards rejects with `StoreClosed`. */
  readonly close: () => Promise<void>
}

/**
 * What an operation on a closed store rejects with.
 *
 * @since 0.1.0
 * @category errors
 */
export class StoreClosed extends Error {
  constructor(operation: string) {
    super(`${operation}: the store is closed (close() was called)`)
    this.name = "StoreClosed"
  }
}

const dynamoDBConfig = (config: DynamoDBConfig): DynamoDBStore.DynamoDBStoreConfig => {
  const { credentials, retry, timeouts, ...rest } = config
  return {
    ...rest,
    ...(credentials === undefined ? {} : {
      credentials: {
        accessKeyId: credentials.accessKeyId,
        secretAccessKey: Redacted.make(credentials.secretAccessKey),
        ...(credentials.sessionToken === undefined ? {} : { sessionToken: Redacted.make(credentials.sessionToken) })
      }
    }),
    ...(retry === undefined ? {} : { retry }),
    ...(timeouts === undefined ? {} : { timeouts })
  }
}

/**
 * Opens a store: a DynamoDB table (created when missing, as
 * `DynamoDBStore.layer`) or, with `{ memory: true }`, a MemoryStore. One
 * runtime per store; `close()` (or `await using`) releases its client.
 * Rejects with `StoreNotFound` or `DynamoDBError` as the layer fails.
 *
 * @since 0.1.0
 * @category constructors
 */
export const open = async (config: DynamoDBConfig | MemoryConfig): Promise<Store> => {
  const layer = "memory" in config && config.memory === true
    ? MemoryStore.layer({ maxValueBytes: config.maxValueBytes, conflictRetries: config.conflictRetries })
    : DynamoDBStore.layer(dynamoDBConfig(config as DynamoDBConfig))
  const managed = ManagedRuntime.make(layer)
  const built = await Runtime.build(managed)
  if (Exit.isFailure(built)) {
    await managed.dispose()
    throw Run.causeError(built.cause)
  }
  const service = Context.get(Runtime.context(built.value), KonserveStoreTag)
  const runtime = built.value as Runtime.Services<never>
  return makeStore(runtime, service, () => managed.dispose(), config.conflictRetries ?? DEFAULT_CONFLICT_RETRIES)
}

const makeStore = (
  runtime: Runtime.Services<never>,
  service: KonserveStore,
  dispose: () => Promise<void>,
  retries: number
): Store => {
  let closed: Promise<void> | undefined
  const subscriptions = new Set<Run.Subscription<Change>>()
  const guard = (operation: string): void => {
    if (closed !== undefined) throw new StoreClosed(`store.${operation}`)
  }
  const run = async <A>(operation: string, effect: () => Effect.Effect<A, unknown>): Promise<A> => {
    guard(operation)
    return Run.run(runtime, Effect.suspend(effect))
  }
  /** Ends every `changes()` subscription still open, then releases the runtime; once. */
  const close = (): Promise<void> => {
    closed ??= Promise.allSettled(Array.from(subscriptions, (subscription) => subscription.return())).then(dispose)
    return closed
  }
  return {
    get: (key) => run("get", () => Effect.map(service.get(key), Option.getOrUndefined)),
    getIn: (path) => run("getIn", () => Effect.map(service.getIn(path), Option.getOrUndefined)),
    getMeta: (key) => run("getMeta", () => Effect.map(service.getMeta(key), Option.getOrUndefined)),
    exists: (key) => run("exists", () => service.exists(key)),
    assoc: (key, value, options) => run("assoc", () => service.assoc(key, value, options)),
    assocIn: (path, value, options) => run("assocIn", () => service.assocIn(path, value, options)),
    update: async (key, f, options) => {
      guard("update")
      return Update.update({ runtime, service, retries, path: [key], f, options })
    },
    updateIn: async (path, f, options) => {
      guard("updateIn")
      return Update.update({ runtime, service, retries, path, f, options })
    },
    dissoc: (key, options) => run("dissoc", () => service.dissoc(key, options)),
    keys: () => {
      guard("keys")
      return Run.iterate(runtime, service.keys)
    },
    multiGet: (keys) => run("multiGet", () => service.multiGet(keys)),
    multiAssoc: (entries, options) => run("multiAssoc", () => service.multiAssoc(entries, options)),
    multiDissoc: (keys, options) => run("multiDissoc", () => service.multiDissoc(keys, options)),
    append: (key, element) => run("append", () => service.append(key, element)),
    log: (key) => run("log", () => Effect.map(service.log(key), Option.getOrUndefined)),
    reduceLog: (key, initial, f) => run("reduceLog", () => service.reduceLog(key, initial, f)),
    bassoc: (key, data, options) => run("bassoc", () => service.bassoc(key, data, options)),
    bget: (key) =>
      run("bget", () =>
        Effect.map(service.bget(key), (binary) =>
          Option.isNone(binary) ? undefined : {
            meta: binary.value.meta,
            size: binary.value.size,
            stream: Run.readable(runtime, binary.value.stream)
          })),
    changes: () => {
      guard("changes")
      const subscription = Run.subscribe(
        runtime,
        Stream.map(service.changes, toChange),
        (self) => subscriptions.delete(self)
      )
      subscriptions.add(subscription)
      return subscription
    },
    transact: async (keys, f, options) => {
      guard("transact")
      return Transact.transact(runtime, service, keys, f, options)
    },
    close,
    [Symbol.asyncDispose]: close
  }
}

const toChange = (change: Service.Change): Change => ({
  key: change.key,
  op: change.op,
  version: change.version,
  ...(Option.isSome(change.meta) ? { meta: change.meta.value } : {}),
  ...(Option.isSome(change.value) ? { value: change.value.value } : {}),
  ...(Option.isSome(change.batch) ? { batch: change.batch.value } : {})
})
