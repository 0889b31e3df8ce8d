/**
 * The cached service: a `KonserveStore` that answers `get`, `getIn`,
 * `getMeta`, `exists` and `multiGet` from memory when it can, shares one
 * load between concurrent reads of a key, and drops the keys of every
 * write that goes through it once the write has ended. Everything else is
 * the store's own (a spread of the service: members added to the service
 * later pass through). `update`, `updateIn`, `assocIn` below the key,
 * `transact` and conditional writes are the store's, so they read the
 * store, never the cache.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import type * as Schema from "effect/Schema"
import type { KonserveError } from "../../KonserveError.js"
import * as Keys from "../key.js"
import * as Paths from "../path.js"
import type { Key, KonserveStore, Meta, Path, TypedStore } from "../service.js"
import { makeTypedStore, type UpdateWith } from "../typedStore.js"
import { copy } from "./copy.js"
import type { Entries, Entry, Load, Loaded } from "./entries.js"
import * as CacheMetrics from "./metrics.js"
import * as CacheReads from "./reads.js"

const hit = (operation: CacheMetrics.ReadOperation, n = 1): void =>
  CacheMetrics.hits.unsafeUpdate(n, CacheMetrics.operationLabels[operation])

const miss = (operation: CacheMetrics.ReadOperation, n = 1): void =>
  CacheMetrics.misses.unsafeUpdate(n, CacheMetrics.operationLabels[operation])

/** Runs a write, then drops its keys (whether it committed, failed or was interrupted: it may have been applied). */
const dropping = <A, E, R>(
  entries: Entries,
  keys: () => Iterable<unknown>,
  write: Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> =>
  Effect.onExit(write, () =>
    Effect.sync(() => {
      for (const key of keys()) if (typeof key === "string") entries.invalidate(key)
    }))

/** Waits for a load another read started; if that read was interrupted, reads on its own (`fallback`). */
const join = <A>(
  load: Load<A>,
  fallback: Effect.Effect<A, KonserveError>
): Effect.Effect<A, KonserveError> =>
  Effect.catchAllCause(
    Deferred.await(load.deferred),
    (cause) => Cause.isInterruptedOnly(cause) ? fallback : Effect.failCause(cause)
  )

/** @internal */
export const make = (store: KonserveStore, entries: Entries): KonserveStore => {
  const reads = CacheReads.of(store)

  // ---------------------------------------------------------------------------
  // loads
  // ---------------------------------------------------------------------------

  /** A key's value and `Meta` from the store: in one read when the store offers it, else `getMeta` beside `get`. */
  const fetchFull = (key: string): Effect.Effect<Loaded, KonserveError> =>
    reads !== undefined
      ? Effect.map(reads.read(key), (read) => ({
        meta: Option.map(read, (r) => r.meta),
        value: Option.map(read, (r) => r.value),
        installable: true
      }))
      : Effect.map(
        Effect.all([store.getMeta(key), store.get(key)], { concurrency: 2 }),
        ([meta, value]) => ({ meta, value, installable: Option.isSome(meta) === Option.isSome(value) })
      )

  /** Runs a load of one key, registered in `loads` while it runs; what it read is kept unless its key was invalidated meanwhile. */
  const runLoad = <A>(
    loads: Map<string, Load<A>>,
    key: string,
    fetch: Effect.Effect<A, KonserveError>,
    install: (value: A, now: number) => void
  ): Effect.Effect<A, KonserveError> =>
    Effect.flatMap(Deferred.make<A, KonserveError>(), (deferred) => {
      const load = entries.newLoad(deferred)
      loads.set(key, load)
      return Effect.onExit(fetch, (exit) =>
        Effect.clockWith((clock) => {
          if (loads.get(key) === load) loads.delete(key)
          if (Exit.isSuccess(exit) && entries.mayInstall(load)) install(exit.value, clock.unsafeCurrentTimeMillis())
          return Deferred.done(deferred, exit)
        }))
    })

  const loadFull = (key: string): Effect.Effect<Loaded, KonserveError> =>
    Effect.suspend(() => {
      const running = entries.fullLoads.get(key)
      if (running !== undefined) return join(running, fetchFull(key))
      return runLoad(entries.fullLoads, key, fetchFull(key), (loaded, now) => entries.installFull(key, loaded, now))
    })

  const loadMeta = (key: string): Effect.Effect<Option.Option<Meta>, KonserveError> =>
    Effect.suspend(() => {
      const full = entries.fullLoads.get(key)
      if (full !== undefined) return Effect.map(join(full, fetchFull(key)), (loaded) => loaded.meta)
      const running = entries.metaLoads.get(key)
      if (running !== undefined) return join(running, store.getMeta(key))
      return runLoad(entries.metaLoads, key, store.getMeta(key), (meta, now) => entries.installMeta(key, meta, now))
    })

  /** The keys of a batch from the store in one `multiGet`-like read, each key a load of its own. */
  const loadMany = (keys: ReadonlyArray<string>): Effect.Effect<ReadonlyMap<string, Loaded>, KonserveError> =>
    Effect.flatMap(Effect.forEach(keys, () => Deferred.make<Loaded, KonserveError>()), (deferreds) => {
      const loads = deferreds.map((deferred, i) => {
        const load = entries.newLoad(deferred)
        entries.fullLoads.set(keys[i], load)
        return load
      })
      return reads!.readMany(keys).pipe(
        Effect.onExit((exit) =>
          Effect.clockWith((clock) => {
            const now = clock.unsafeCurrentTimeMillis()
            return Effect.forEach(keys, (key, i) => {
              const load = loads[i]
              if (entries.fullLoads.get(key) === load) entries.fullLoads.delete(key)
              if (Exit.isFailure(exit)) return Deferred.failCause(load.deferred, exit.cause)
              const loaded = loadedOf(exit.value.get(key))
              if (entries.mayInstall(load)) entries.installFull(key, loaded, now)
              return Deferred.succeed(load.deferred, loaded)
            }, { discard: true })
          })
        ),
        Effect.map((found) => new Map(keys.map((key) => [key, loadedOf(found.get(key))] as const)))
      )
    })

  // ---------------------------------------------------------------------------
  // reads
  // ---------------------------------------------------------------------------

  /**
   * A read of one key: the store's own (a miss) while the cache is not
   * serving, else `cached` on the key's entry at the fiber's clock
   * (undefined when the key is not cached).
   */
  const readKey = <A>(
    operation: CacheMetrics.ReadOperation,
    key: Key,
    fromStore: () => Effect.Effect<A, KonserveError>,
    cached: (entry: Entry | undefined) => Effect.Effect<A, KonserveError>
  ): Effect.Effect<A, KonserveError> =>
    Effect.clockWith((clock) => {
      if (!entries.serving()) {
        miss(operation)
        return fromStore()
      }
      return cached(entries.lookup(key, clock.unsafeCurrentTimeMillis()))
    })

  const get = (key: Key): Effect.Effect<Option.Option<unknown>, KonserveError> =>
    readKey("get", key, () => store.get(key), (entry) => {
      if (entry !== undefined) {
        if (entry.meta === undefined) {
          hit("get")
          return Effect.succeedNone
        }
        if (entry.held) {
          hit("get")
          return Effect.succeed(Option.some(copy(entry.value)))
        }
        if (entry.meta.type !== "value") {
          miss("get")
          return store.get(key)
        }
      }
      miss("get")
      if (Keys.invalidReason(key) !== undefined) return store.get(key)
      return Effect.map(loadFull(key), (loaded) => Option.map(loaded.value, copy))
    })

  const getIn = (path: Path): Effect.Effect<Option.Option<unknown>, KonserveError> =>
    Effect.clockWith((clock) => {
      if (!Array.isArray(path) || path.length === 0 || !entries.serving()) {
        miss("getIn")
        return store.getIn(path)
      }
      const key = path[0]
      const steps = path.slice(1)
      const at = (value: Option.Option<unknown>) =>
        Option.map(Option.flatMap(value, (v) => Paths.getIn(v, steps)), copy)
      const entry = entries.lookup(key, clock.unsafeCurrentTimeMillis())
      if (entry !== undefined && (entry.meta === undefined || entry.held)) {
        hit("getIn")
        return Effect.succeed(entry.meta === undefined ? Option.none() : at(Option.some(entry.value)))
      }
      miss("getIn")
      if ((entry !== undefined && entry.meta?.type !== "value") || Keys.invalidReason(key) !== undefined) {
        return store.getIn(path)
      }
      return Effect.map(loadFull(key), (loaded) => at(loaded.value))
    })

  const getMeta = (key: Key): Effect.Effect<Option.Option<Meta>, KonserveError> =>
    readKey("getMeta", key, () => store.getMeta(key), (entry) => {
      if (entry !== undefined) {
        hit("getMeta")
        return Effect.succeed(entry.meta === undefined ? Option.none() : Option.some(copy(entry.meta) as Meta))
      }
      miss("getMeta")
      if (Keys.invalidReason(key) !== undefined) return store.getMeta(key)
      return Effect.map(loadMeta(key), Option.map((meta) => copy(meta) as Meta))
    })

  const exists = (key: Key): Effect.Effect<boolean, KonserveError> =>
    readKey("exists", key, () => store.exists(key), (entry) => {
      if (entry !== undefined) {
        hit("exists")
        return Effect.succeed(entry.meta !== undefined)
      }
      miss("exists")
      if (Keys.invalidReason(key) !== undefined) return store.exists(key)
      return Effect.map(loadMeta(key), Option.isSome)
    })

  const multiGet = (keys: Iterable<Key>): Effect.Effect<ReadonlyMap<Key, unknown>, KonserveError> =>
    Effect.clockWith((clock) => {
      const all = Array.from(keys)
      if (!entries.serving() || reads === undefined || all.some((key) => Keys.invalidReason(key) !== undefined)) {
        miss("multiGet", all.length)
        return store.multiGet(all)
      }
      const now = clock.unsafeCurrentTimeMillis()
      const distinct = Array.from(new Set(all))
      const known = new Map<string, Option.Option<unknown>>()
      const joined: Array<readonly [string, Load<Loaded>]> = []
      const missing: Array<string> = []
      for (const key of distinct) {
        const entry = entries.lookup(key, now)
        if (entry !== undefined && (entry.meta === undefined || entry.held)) {
          known.set(key, entry.meta === undefined ? Option.none() : Option.some(copy(entry.value)))
          continue
        }
        const running = entries.fullLoads.get(key)
        if (running !== undefined) joined.push([key, running])
        else missing.push(key)
      }
      hit("multiGet", known.size)
      miss("multiGet", joined.length + missing.length)
      if (joined.length === 0 && missing.length === 0) return Effect.succeed(answer(distinct, known))
      return Effect.map(
        Effect.all([
          Effect.forEach(joined, ([key, load]) => Effect.map(join(load, fetchFull(key)), (l) => [key, l] as const)),
          missing.length === 0 ? Effect.succeed(new Map<string, Loaded>()) : loadMany(missing)
        ], { concurrency: "unbounded" }),
        ([fromJoined, fromBatch]) => {
          for (const [key, loaded] of fromJoined) known.set(key, Option.map(loaded.value, copy))
          // the batch's own values are fresh from the store: no copy needed
          for (const [key, loaded] of fromBatch) known.set(key, loaded.value)
          return answer(distinct, known)
        }
      )
    })

  // ---------------------------------------------------------------------------
  // writes: the store's, then the keys dropped
  // ---------------------------------------------------------------------------

  const keyOf = (path: Path): unknown => Array.isArray(path) ? path[0] : undefined

  const cached: KonserveStore = {
    ...store,
    get,
    getIn,
    getMeta,
    exists,
    multiGet,
    assoc: (key, value, options) => dropping(entries, () => [key], store.assoc(key, value, options)),
    assocIn: (path, value, options) => dropping(entries, () => [keyOf(path)], store.assocIn(path, value, options)),
    update: (key, f, options) => dropping(entries, () => [key], store.update(key, f, options)),
    updateIn: (path, f, options) => dropping(entries, () => [keyOf(path)], store.updateIn(path, f, options)),
    dissoc: (key, options) => dropping(entries, () => [key], store.dissoc(key, options)),
    multiAssoc: (input, options) => {
      const pairs = Symbol.iterator in input
        ? Array.from(input as Iterable<readonly [Key, unknown]>)
        : input as Readonly<Record<Key, unknown>>
      const keys = () =>
        Array.isArray(pairs) ? pairs.map((pair) => Array.isArray(pair) ? pair[0] : undefined) : Object.keys(pairs)
      return dropping(entries, keys, store.multiAssoc(pairs, options))
    },
    multiDissoc: (input, options) => {
      const keys = Array.from(input)
      return dropping(entries, () => keys, store.multiDissoc(keys, options))
    },
    append: (key, element) => dropping(entries, () => [key], store.append(key, element)),
    bassoc: (key, data, options) => dropping(entries, () => [key], store.bassoc(key, data, options)),
    // the store's transaction (its reads are the store's, never the cache's), then every key it named dropped:
    // the ones it wrote or removed, and the ones it only read (a cached entry of those may be older than what f saw)
    transact: (keys, f, options) =>
      Effect.suspend(() => {
        const named = Array.from(keys)
        return dropping(entries, () => named, store.transact(named, f, options))
      }),
    forSchema: <A, I, R>(schema: Schema.Schema<A, I, R>): TypedStore<A, R> => typedView(cached, schema)
  }

  /**
   * A typed view of the cached store: reads and whole-value writes go through
   * the cached service; the writes that run the store's conflict loop
   * (`update`, `updateIn`, `assocIn` below the key) are the store's typed
   * view's, followed by the key dropped.
   */
  const typedView = <A, I, R>(self: KonserveStore, schema: Schema.Schema<A, I, R>): TypedStore<A, R> => {
    const own = store.forSchema(schema)
    const view = makeTypedStore(self, unreachable, schema)
    return {
      ...view,
      update: (key, f, options) => dropping(entries, () => [key], own.update(key, f, options)),
      updateIn: (path, f, options) => dropping(entries, () => [keyOf(path)], own.updateIn(path, f, options)),
      assocIn: (path, value, options) =>
        Array.isArray(path) && path.length === 1
          ? view.assocIn(path, value, options)
          : dropping(entries, () => [keyOf(path)], own.assocIn(path, value, options))
    }
  }

  return cached
}

/** The typed view built on the cached service never runs its own conflict loop (`typedView` replaces those writes). */
const unreachable: UpdateWith = () => Effect.dieMessage("the cached typed view runs the store's conflict loop")

const loadedOf = (read: CacheReads.Read | undefined): Loaded => ({
  meta: read === undefined ? Option.none() : Option.some(read.meta),
  value: read === undefined ? Option.none() : Option.some(read.value),
  installable: true
})

/** A `multiGet` answer in the order the keys were asked, found keys only. */
const answer = (keys: ReadonlyArray<string>, known: ReadonlyMap<string, Option.Option<unknown>>) => {
  const found = new Map<Key, unknown>()
  for (const key of keys) {
    const value = known.get(key)
    if (value !== undefined && Option.isSome(value)) found.set(key, value.value)
  }
  return found as ReadonlyMap<Key, unknown>
}
