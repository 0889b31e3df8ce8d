/**
 * The cache's bookkeeping, free of Effect: the entries (an LRU by bytes),
 * the loads in flight, whether the cache serves, and how a change from the
 * invalidation stream or a write of this process acts on them. Every method
 * runs in one synchronous step, so nothing interleaves inside one.
 *
 * The rules that keep it coherent (docs/cache.md):
 * - a load installs what it read only if nothing invalidated its key while it
 *   was in flight (each load is marked stale by an invalidation of its key,
 *   and carries the epoch it started in: emptying the cache starts a new one);
 * - a change drops the key's entry, or replaces it when the change carries
 *   the inline value of a newer (or the same) version; a change older than
 *   the entry's version is ignored; a change never creates an entry;
 * - an entry of a key known absent has no version: any change drops it.
 *
 * @internal
 */
import type * as Deferred from "effect/Deferred"
import * as Option from "effect/Option"
import type { KonserveError } from "../../KonserveError.js"
import type { Change, Meta } from "../service.js"
import * as Version from "../version.js"
import { copy } from "./copy.js"
import * as Lru from "./lru.js"
import * as CacheMetrics from "./metrics.js"

/** Bytes counted for an entry besides its key and its encoded value. @internal */
export const ENTRY_OVERHEAD = 128

/**
 * What the cache knows of a key: absent (`meta` undefined), or its `Meta`
 * and, for a value, the value itself (`held`). A binary's or a log's
 * `Meta` is kept; their contents never are.
 *
 * @internal
 */
export interface Entry {
  readonly meta: Meta | undefined
  readonly held: boolean
  readonly value: unknown
  readonly bytes: number
  /** Epoch milliseconds on the fiber's `Clock` from which the entry is not served: its expiry, or `ttl` after it was read. */
  readonly deadline: number
}

/** What a load of a key read: its `Meta` and value (each none when absent), and whether they may be kept. @internal */
export interface Loaded {
  readonly meta: Option.Option<Meta>
  readonly value: Option.Option<unknown>
  /** False when the two were read apart and disagree (a write came in between): answer, but do not keep. */
  readonly installable: boolean
}

/** A load in flight, shared by every read of its key that comes while it runs. @internal */
export interface Load<A> {
  readonly deferred: Deferred.Deferred<A, KonserveError>
  /** Its key was invalidated since it started: what it read may be older than that. */
  stale: boolean
  readonly epoch: number
}

/** The size of an entry as the LRU counts it. @internal */
export const entryBytes = (key: string, meta: Meta | undefined, held: boolean): number =>
  ENTRY_OVERHEAD + key.length + (meta !== undefined && held ? meta.size : 0)

/** Whether version `a` is older than `b`; undefined when either is not a version of this library. @internal */
export const older = (a: string, b: string): boolean | undefined => {
  const x = Version.parse(a)
  const y = Version.parse(b)
  return x === undefined || y === undefined ? undefined : Version.compare(x, y) < 0
}

/** The time of a change's write in epoch milliseconds: its `Meta.lastWrite`, else its version's time. @internal */
export const changeTime = (change: Change): number | undefined => {
  if (Option.isSome(change.meta)) return change.meta.value.lastWrite.getTime()
  const version = Version.parse(change.version)
  return version === undefined ? undefined : Version.timeOf(version) / 1000
}

/** @internal */
export interface Entries {
  /** Whether the cache serves from memory (false while its invalidation stream is down). */
  readonly serving: () => boolean
  /** The live entry of a key at `now` (an expired one is removed), made the most recently used. */
  readonly lookup: (key: string, now: number) => Entry | undefined
  readonly fullLoads: Map<string, Load<Loaded>>
  readonly metaLoads: Map<string, Load<Option.Option<Meta>>>
  /** A new load's bookkeeping (not registered). */
  readonly newLoad: <A>(deferred: Deferred.Deferred<A, KonserveError>) => Load<A>
  /** Whether what a load read may be kept. */
  readonly mayInstall: (load: { readonly stale: boolean; readonly epoch: number }) => boolean
  /** Keeps what a full load read (value and `Meta`, or absence). */
  readonly installFull: (key: string, loaded: Loaded, now: number) => void
  /** Keeps what a `getMeta` read, unless a held entry of the same version is there. */
  readonly installMeta: (key: string, meta: Option.Option<Meta>, now: number) => void
  /** A write of this process to the key ended (committed or maybe): drop the entry, loads in flight go stale. */
  readonly invalidate: (key: string) => void
  /** A change from the invalidation stream. */
  readonly apply: (change: Change, now: number) => void
  /** Stop serving: empty, every load stale. */
  readonly stop: () => void
  /** Serve again, from empty; loads that started before do not install. */
  readonly resume: () => void
  readonly lru: Lru.Lru<Entry>
}

/** @internal */
export const make = (options: {
  readonly maxBytes: number
  /** Milliseconds an entry lives at most; undefined: until its key's expiry or an invalidation. */
  readonly ttlMillis: number | undefined
  readonly serving: boolean
}): Entries => {
  const { ttlMillis } = options
  const lru = Lru.make<Entry>({
    maxBytes: options.maxBytes,
    onEvict: () => CacheMetrics.evictions.unsafeUpdate(1, CacheMetrics.noLabels),
    onBytes: (delta) => CacheMetrics.bytesHeld.unsafeModify(delta, CacheMetrics.noLabels)
  })
  const fullLoads = new Map<string, Load<Loaded>>()
  const metaLoads = new Map<string, Load<Option.Option<Meta>>>()
  let serving = options.serving
  let epoch = 0

  const deadlineOf = (meta: Meta | undefined, now: number): number =>
    Math.min(
      meta?.expiresAt === undefined ? Number.POSITIVE_INFINITY : meta.expiresAt.getTime(),
      ttlMillis === undefined ? Number.POSITIVE_INFINITY : now + ttlMillis
    )

  const keep = (key: string, meta: Meta | undefined, held: boolean, value: unknown, now: number): void => {
    const deadline = deadlineOf(meta, now)
    if (deadline <= now) {
      lru.delete(key)
      return
    }
    lru.set(key, { meta, held, value, bytes: entryBytes(key, meta, held), deadline })
  }

  const staleLoads = (key: string): void => {
    const full = fullLoads.get(key)
    if (full !== undefined) {
      full.stale = true
      fullLoads.delete(key)
    }
    const meta = metaLoads.get(key)
    if (meta !== undefined) {
      meta.stale = true
      metaLoads.delete(key)
    }
  }

  const invalidate = (key: string): void => {
    staleLoads(key)
    lru.delete(key)
  }

  const apply = (change: Change, now: number): void => {
    const written = changeTime(change)
    if (written !== undefined) {
      CacheMetrics.feedLag.unsafeUpdate(Math.max(0, Date.now() - written), CacheMetrics.noLabels)
    }
    staleLoads(change.key)
    const entry = lru.peek(change.key)
    if (entry === undefined) return
    if (entry.meta !== undefined) {
      const isOlder = older(change.version, entry.meta.version)
      if (isOlder === true) return
      const meta = change.meta
      if (
        isOlder === false && change.op === "write" && Option.isSome(meta) && meta.value.type === "value" &&
        Option.isSome(change.value)
      ) {
        keep(change.key, meta.value, true, copy(change.value.value), now)
        CacheMetrics.invalidations.unsafeUpdate(1, CacheMetrics.actionLabels.replace)
        return
      }
    }
    lru.delete(change.key)
    CacheMetrics.invalidations.unsafeUpdate(1, CacheMetrics.actionLabels.drop)
  }

  const staleAll = (): void => {
    for (const load of fullLoads.values()) load.stale = true
    for (const load of metaLoads.values()) load.stale = true
    fullLoads.clear()
    metaLoads.clear()
  }

  return {
    serving: () => serving,
    lookup: (key, now) => {
      const entry = lru.get(key)
      if (entry === undefined) return undefined
      if (entry.deadline <= now) {
        lru.delete(key)
        return undefined
      }
      return entry
    },
    fullLoads,
    metaLoads,
    newLoad: (deferred) => ({ deferred, stale: false, epoch }),
    mayInstall: (load) => serving && !load.stale && load.epoch === epoch,
    installFull: (key, loaded, now) => {
      if (!loaded.installable) return
      if (Option.isNone(loaded.meta)) {
        keep(key, undefined, true, undefined, now)
      } else {
        const meta = loaded.meta.value
        const held = meta.type === "value" && Option.isSome(loaded.value)
        keep(key, meta, held, held ? Option.getOrUndefined(loaded.value) : undefined, now)
      }
    },
    installMeta: (key, meta, now) => {
      const current = lru.peek(key)
      if (
        current !== undefined && current.held && current.meta !== undefined && Option.isSome(meta) &&
        current.meta.version === meta.value.version
      ) return
      if (Option.isNone(meta)) keep(key, undefined, true, undefined, now)
      else keep(key, meta.value, false, undefined, now)
    },
    invalidate,
    apply,
    stop: () => {
      serving = false
      epoch += 1
      staleAll()
      lru.clear()
    },
    resume: () => {
      epoch += 1
      staleAll()
      lru.clear()
      serving = true
    },
    lru
  }
}
