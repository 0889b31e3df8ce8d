/**
 * The `KonserveStore` service built once on top of a backend's primitives:
 * key validation, the value codec, `maxValueBytes`, TTL against the calling
 * fiber's `Clock`, path walking, the `update` conflict loop and typed views.
 *
 * @internal
 */
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { DecodeError } from "../KonserveError.js"
import { ConditionFailed, ItemTooLarge, type KonserveError } from "../KonserveError.js"
import type { Backend, Condition, Entry, PutRequest, WriteHeader } from "./backend.js"
import { isAlive } from "./backend.js"
import * as BinaryInput from "./binaryInput.js"
import * as CacheReads from "./cache/reads.js"
import * as Changes from "./changes.js"
import * as Keys from "./key.js"
import * as Metrics from "./metrics.js"
import { meteredBassoc, meteredTransact, noStackTrace, operation } from "./operation.js"
import * as Paths from "./path.js"
import {
  checkAtomicLimit,
  checkPathDepth,
  checkResult,
  checkTransactionSize,
  decodeBytes,
  encodeValue,
  metaOf,
  normalizeEntries,
  pathResult,
  prepare,
  type Prepared,
  userCondition
} from "./prepare.js"
import * as Publish from "./publish.js"
import * as Retry from "./retry.js"
import type {
  Binary,
  BinaryInput as Input,
  DissocOptions,
  Key,
  KonserveStore,
  Meta,
  Path,
  Updated,
  WriteOptions
} from "./service.js"
import * as Transact from "./transact.js"
import { makeTypedStore, type UpdateWith } from "./typedStore.js"

/** @internal */
export interface StoreOptions {
  readonly maxValueBytes: number
  /** How many times `update` re-runs `f` after a concurrent change before `ConditionFailed`. */
  readonly conflictRetries: number
}

/** The default `maxValueBytes`: 64 MiB. @internal */
export const DEFAULT_MAX_VALUE_BYTES = 64 * 1024 * 1024

/** The default `conflictRetries`. @internal */
export const DEFAULT_CONFLICT_RETRIES = 10

/**
 * Builds the service on a backend.
 *
 * @internal
 */
export const make = (unmetered: Backend, options: StoreOptions): KonserveStore => {
  const { conflictRetries, maxValueBytes } = options
  const backend = Metrics.meteredBackend(unmetered)
  const now = Clock.currentTimeMillis
  const hub = Changes.make()
  const { noBatch, published, publishedRemovals, wrote } = Publish.make(hub, maxValueBytes)

  const checkSize = (key: string, size: number): Effect.Effect<void, ItemTooLarge> =>
    size > maxValueBytes ? Effect.fail(new ItemTooLarge({ key, size, limit: maxValueBytes })) : Effect.void

  const header = (
    write: {
      readonly key: string
      readonly operation: string
      readonly kind: "value" | "binary"
      readonly now: number
    },
    prepared: Prepared,
    condition: Condition
  ): WriteHeader => ({
    ...write,
    expiresAt: prepared.ttl === undefined ? undefined : write.now + Duration.toMillis(prepared.ttl),
    user: prepared.user,
    condition
  })

  const aliveEntry = (key: string) => Effect.flatMap(now, (at) => backend.readEntry(key, at))

  /**
   * The public value of a live entry: a decoded value, a binary's bytes, a
   * log's elements. A value or binary over this store's limit, written by a
   * store with a larger one, fails with `ItemTooLarge`: limits belong to the
   * reader (its head is well-formed: `getMeta`, `exists` and `keys` see it).
   */
  const valueOf = (entry: Entry): Effect.Effect<unknown, KonserveError> =>
    entry._tag === "Log"
      ? decodeElements(entry.head.key, entry.elements)
      : entry.head.size > maxValueBytes
      ? Effect.fail(new ItemTooLarge({ key: entry.head.key, size: entry.head.size, limit: maxValueBytes }))
      : entry.head.kind === "value"
      ? decodeBytes(entry.head.key, entry.bytes, maxValueBytes)
      : Effect.succeed(entry.bytes.slice())

  /** A log's elements; one whose stored bytes are over this store's limit fails with `ItemTooLarge`. */
  const decodeElements = (key: string, elements: ReadonlyArray<Uint8Array>) =>
    Effect.forEach(elements, (bytes): Effect.Effect<unknown, KonserveError> =>
      bytes.length > maxValueBytes
        ? Effect.fail(new ItemTooLarge({ key, size: bytes.length, limit: maxValueBytes }))
        : decodeBytes(key, bytes, maxValueBytes, "log element"))

  const readLog = (key: string): Effect.Effect<Option.Option<Array<unknown>>, KonserveError> =>
    Effect.flatMap(
      Effect.zip(backend.readLog(key), now),
      ([log, at]) =>
        Option.isNone(log) || !isAlive(log.value.head, at)
          ? Effect.succeed(Option.none())
          : Effect.asSome(decodeElements(key, log.value.elements))
    )

  const readValue = function*(key: Key) {
    const valid = yield* Keys.validate(key)
    const entry = yield* aliveEntry(valid)
    return Option.isNone(entry) ? Option.none() : Option.some(yield* valueOf(entry.value))
  }

  const get = operation("KonserveStore.get")(readValue)

  /** `get` without its span and metering, for the operations built on it. */
  const getValue = Effect.fnUntraced(readValue)

  const getIn = operation("KonserveStore.getIn", "path")(function*(path: Path) {
    const value = yield* getValue(path[0])
    return Option.flatMap(value, (v) => Paths.getIn(v, path.slice(1)))
  })

  const getMeta = operation("KonserveStore.getMeta")(function*(key: Key) {
    const valid = yield* Keys.validate(key)
    const [head, at] = yield* Effect.zip(backend.readHead(valid), now)
    return Option.isNone(head) || !isAlive(head.value, at) ? Option.none() : Option.some(yield* metaOf(head.value))
  })

  const exists = operation("KonserveStore.exists")(function*(key: Key) {
    const valid = yield* Keys.validate(key)
    const [head, at] = yield* Effect.zip(backend.readHead(valid), now)
    return Option.isSome(head) && isAlive(head.value, at)
  })

  const writeValue = function*(key: Key, value: unknown, writeOptions?: WriteOptions) {
    const valid = yield* Keys.validate(key)
    const { bytes, size } = yield* encodeValue(valid, value)
    yield* checkSize(valid, size)
    const prepared = yield* prepare(valid, writeOptions)
    const at = yield* now
    const write = { key: valid, operation: "assoc", kind: "value", now: at } as const
    wrote(bytes)(yield* backend.put({ ...header(write, prepared, userCondition(writeOptions)), bytes, size }))
  }

  const assoc = operation("KonserveStore.assoc")(writeValue)

  /** `assoc` without its span and metering, for `assocIn` of a key alone. */
  const assocValue = Effect.fnUntraced(writeValue)

  /**
   * The conflict loop of `update`/`updateIn`/`assocIn`: read, apply, write
   * on the version read; when another writer got there first (the backend's
   * `ConditionFailed`: this write was not applied) run again on the fresh
   * value, at most `conflictRetries` times.
   */
  const updateWith: UpdateWith = (key, operation, writeOptions, apply) =>
    Effect.flatMap(prepare(key, writeOptions), (prepared) => {
      const attempt = Effect.gen(function*() {
        const entry = yield* aliveEntry(key)
        const head = Option.map(entry, (e) => e.head)
        if (writeOptions?.ifAbsent === true && Option.isSome(head)) {
          return yield* new ConditionFailed({ key, operation })
        }
        if (
          writeOptions?.ifVersion !== undefined &&
          (Option.isNone(head) || head.value.version !== writeOptions.ifVersion)
        ) {
          return yield* new ConditionFailed({ key, operation })
        }
        const current = Option.isNone(entry) ? Option.none() : Option.some(yield* valueOf(entry.value))
        const { result, whole } = yield* apply(current)
        const { bytes, size } = yield* encodeValue(key, whole)
        yield* checkSize(key, size)
        const at = yield* now
        const condition: Condition = Option.isSome(head)
          ? { _tag: "Version", version: head.value.version }
          : { _tag: "Absent" }
        const write = { key, operation, kind: "value", now: at } as const
        const request: PutRequest = { ...header(write, prepared, condition), bytes, size }
        wrote(bytes)(yield* backend.put(request).pipe(Effect.catchTag("ConditionFailed", () => Retry.conflict)))
        return result
      })
      return Retry.whileConflict(attempt, conflictRetries, () => new ConditionFailed({ key, operation }))
    })

  const update = operation("KonserveStore.update")(function*(
    key: Key,
    f: (current: Option.Option<unknown>) => unknown,
    writeOptions?: WriteOptions
  ) {
    const valid = yield* Keys.validate(key)
    return yield* updateWhole(valid, "update", f, writeOptions)
  })

  /** `update`, and `updateIn` of the key alone: `f` returns the whole new value. */
  const updateWhole = (
    key: string,
    operation: string,
    f: (current: Option.Option<unknown>) => unknown,
    writeOptions: WriteOptions | undefined
  ) =>
    updateWith(key, operation, writeOptions, (current) =>
      Effect.suspend(() => {
        const after = f(current)
        return Effect.as(checkResult(key, operation, after), {
          whole: after,
          result: { before: current, after } satisfies Updated
        })
      }))

  const updateIn = operation("KonserveStore.updateIn", "path")(function*(
    path: Path,
    f: (current: Option.Option<unknown>) => unknown,
    writeOptions?: WriteOptions
  ) {
    const valid = yield* Keys.validate(path[0])
    const steps = path.slice(1)
    if (steps.length === 0) return yield* updateWhole(valid, "updateIn", f, writeOptions)
    yield* checkPathDepth(valid, steps)
    return yield* updateWith(valid, "updateIn", writeOptions, (current) =>
      Effect.gen(function*() {
        const before = Option.flatMap(current, (value) => Paths.getIn(value, steps))
        const after = f(before)
        yield* checkResult(valid, "updateIn", after)
        const whole = yield* pathResult(valid, current, steps, after)
        return { whole, result: { before, after } satisfies Updated }
      }))
  })

  const assocIn = operation("KonserveStore.assocIn", "path")(
    function*(path: Path, value: unknown, writeOptions?: WriteOptions) {
      const valid = yield* Keys.validate(path[0])
      const steps = path.slice(1)
      if (steps.length === 0) return yield* assocValue(valid, value, writeOptions)
      yield* checkPathDepth(valid, steps)
      // Fail on an unstorable leaf before reading anything.
      yield* encodeValue(valid, value)
      yield* updateWith(
        valid,
        "assocIn",
        writeOptions,
        (current) => Effect.map(pathResult(valid, current, steps, value), (whole) => ({ whole, result: undefined }))
      )
    }
  )

  const dissoc = operation("KonserveStore.dissoc")(function*(key: Key, dissocOptions?: DissocOptions) {
    const valid = yield* Keys.validate(key)
    const ifVersion = dissocOptions?.ifVersion
    const condition = ifVersion === undefined
      ? { _tag: "None" } as const
      : { _tag: "Version", version: ifVersion } as const
    const removed = yield* backend.remove(valid, yield* now, condition)
    publishedRemovals([[valid, removed]], false)
    return Option.isSome(removed)
  })

  // One pass per page: a page's live heads become their `Meta`s without an Effect per key.
  const keys: Stream.Stream<Meta, KonserveError> = Stream.mapChunksEffect(
    backend.scan,
    (heads) =>
      Effect.flatMap(now, (at): Effect.Effect<Chunk.Chunk<Meta>, DecodeError> => {
        const metas: Array<Meta> = []
        for (const head of heads) {
          if (!isAlive(head, at)) continue
          const meta = metaOf(head)
          if (Either.isLeft(meta)) return Effect.fail(meta.left)
          metas.push(meta.right)
        }
        return Effect.succeed(Chunk.unsafeFromArray(metas))
      })
  ).pipe(Stream.withSpan("KonserveStore.keys", noStackTrace))

  const multiGet = operation("KonserveStore.multiGet", "keys")(function*(keys: Iterable<Key>) {
    const valid = yield* Keys.validateAll(keys)
    if (valid.length === 0) return new Map<Key, unknown>()
    const entries = yield* backend.readMany(valid, yield* now)
    const found = new Map<Key, unknown>()
    for (const key of valid) {
      const entry = entries.get(key)
      if (entry !== undefined) {
        found.set(key, yield* valueOf(entry))
      }
    }
    return found as ReadonlyMap<Key, unknown>
  })

  const multiAssoc = operation("KonserveStore.multiAssoc", "keys")(function*(
    entries: Iterable<readonly [Key, unknown]> | Readonly<Record<Key, unknown>>,
    writeOptions?: WriteOptions & { readonly atomic?: boolean | undefined }
  ) {
    const pairs = normalizeEntries(entries)
    const byKey = new Map<string, unknown>()
    for (const [key, value] of pairs) {
      byKey.set(yield* Keys.validate(key), value)
    }
    yield* checkAtomicLimit("multiAssoc", byKey.size, writeOptions?.atomic)
    if (byKey.size === 0) return
    const prepared = yield* prepare(byKey.keys().next().value!, writeOptions)
    const at = yield* now
    const requests: Array<PutRequest> = []
    for (const [key, value] of byKey) {
      const { bytes, size } = yield* encodeValue(key, value)
      yield* checkSize(key, size)
      const write = { key, operation: "multiAssoc", kind: "value", now: at } as const
      requests.push({ ...header(write, prepared, userCondition(writeOptions)), bytes, size })
    }
    const atomic = writeOptions?.atomic !== false
    if (atomic) yield* checkTransactionSize("multiAssoc", requests)
    const written = yield* backend.putMany(requests, { atomic })
    published(written, (i) => requests[i].bytes, atomic ? Option.some(written[0].head.version) : noBatch)
  })

  const multiDissoc = operation("KonserveStore.multiDissoc", "keys")(function*(
    keys: Iterable<Key>,
    dissocOptions?: { readonly atomic?: boolean | undefined }
  ) {
    const valid = yield* Keys.validateAll(keys)
    yield* checkAtomicLimit("multiDissoc", valid.length, dissocOptions?.atomic)
    if (valid.length === 0) return new Map<Key, boolean>()
    const atomic = dissocOptions?.atomic !== false
    const removed = yield* backend.removeMany(valid, { atomic, now: yield* now })
    publishedRemovals(removed, atomic)
    return new Map(valid.map((key) => [key, Option.isSome(removed.get(key) ?? Option.none())])) as ReadonlyMap<
      Key,
      boolean
    >
  })

  const append = operation("KonserveStore.append")(function*(key: Key, element: unknown) {
    const valid = yield* Keys.validate(key)
    const { bytes, size } = yield* encodeValue(valid, element, "log element")
    yield* checkSize(valid, size)
    const at = yield* now
    const head = yield* backend.append({ key: valid, element: bytes, now: at })
    published([{ head, inline: false }], () => undefined, noBatch)
  })

  const log = operation("KonserveStore.log")(function*(key: Key) {
    const valid = yield* Keys.validate(key)
    return yield* readLog(valid)
  })

  const reduceLog = <A>(key: Key, initial: A, f: (acc: A, element: unknown) => A): Effect.Effect<A, KonserveError> =>
    Effect.map(log(key), Option.match({ onNone: () => initial, onSome: (elements) => elements.reduce(f, initial) }))
      .pipe(Effect.withSpan("KonserveStore.reduceLog", noStackTrace))

  const bassoc = <E = never, R = never>(
    key: Key,
    data: Input<E, R>,
    writeOptions?: WriteOptions
  ): Effect.Effect<void, KonserveError | E, R> =>
    Effect.gen(function*() {
      const valid = yield* Keys.validate(key)
      const prepared = yield* prepare(valid, writeOptions)
      const at = yield* now
      const writeHeader = header(
        { key: valid, operation: "bassoc", kind: "binary", now: at },
        prepared,
        userCondition(writeOptions)
      )
      const whole = BinaryInput.wholeBytes(data)
      if (whole !== undefined) {
        yield* checkSize(valid, whole.length)
        return wrote()(yield* backend.put({ ...writeHeader, bytes: whole, size: whole.length }))
      }
      wrote()(
        yield* backend.putStream(
          writeHeader,
          BinaryInput.limitBytes(valid, maxValueBytes, BinaryInput.toStream(valid, data))
        )
      )
    }).pipe(Effect.withSpan("KonserveStore.bassoc", noStackTrace), meteredBassoc)

  const bget = operation("KonserveStore.bget")(function*(key: Key) {
    const valid = yield* Keys.validate(key)
    const [binary, at] = yield* Effect.zip(backend.readBinary(valid), now)
    if (Option.isNone(binary) || !isAlive(binary.value.head, at)) return Option.none<Binary>()
    yield* checkSize(valid, binary.value.head.size)
    const meta = yield* metaOf(binary.value.head)
    return Option.some<Binary>({ meta, size: binary.value.head.size, stream: binary.value.stream })
  })

  const transact = Transact.make({
    backend,
    conflictRetries,
    now,
    encode: encodeValue,
    decode: (key, bytes) => decodeBytes(key, bytes, maxValueBytes),
    checkSize,
    publish: (committed, puts) => {
      const batch = Option.fromNullable(committed.version)
      published(committed.written, (i) => puts[i].bytes, batch)
      publishedRemovals(committed.removed.map((key) => [key, batch] as const), true)
    }
  })

  const store: KonserveStore = {
    get,
    getIn,
    getMeta,
    exists,
    assoc,
    assocIn,
    update,
    updateIn,
    dissoc,
    keys,
    multiGet,
    multiAssoc,
    multiDissoc,
    append,
    log,
    reduceLog,
    bassoc,
    bget,
    changes: hub.stream,
    transact: (keys, f, transactOptions) =>
      transact(keys, f, transactOptions).pipe(Effect.withSpan("KonserveStore.transact", noStackTrace), meteredTransact),
    forSchema: (schema) => makeTypedStore(store, updateWith, schema)
  }
  // For `KonserveStore.layerCache`: a value with the `Meta` of its version, in the one read `get` makes.
  CacheReads.attach(store, {
    get,
    read: operation("KonserveStore.get")(function*(key: Key) {
      const entry = yield* aliveEntry(key)
      if (Option.isNone(entry)) return Option.none<CacheReads.Read>()
      const meta = yield* metaOf(entry.value.head)
      return Option.some<CacheReads.Read>({ meta, value: yield* valueOf(entry.value) })
    }),
    readMany: operation("KonserveStore.multiGet", "keys")(function*(keys: ReadonlyArray<Key>) {
      const entries = yield* backend.readMany(keys, yield* now)
      const found = new Map<Key, CacheReads.Read>()
      for (const key of keys) {
        const entry = entries.get(key)
        if (entry !== undefined) found.set(key, { meta: yield* metaOf(entry.head), value: yield* valueOf(entry) })
      }
      return found as ReadonlyMap<Key, CacheReads.Read>
    })
  })
  return store
}
