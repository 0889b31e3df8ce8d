/**
 * The cache's metrics (`KonserveStore.layerCache`), beside the store's
 * (`internal/metrics.ts`) in the global registry, updated synchronously
 * (`unsafeUpdate`/`unsafeModify` on labels made once).
 *
 * @internal
 */
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import * as MetricLabel from "effect/MetricLabel"
import { counter } from "../metrics.js"

/** Reads answered from memory, by `operation`. @internal */
export const hits = counter("konserve_cache_hits_total", "Cache reads answered from memory, by operation")

/** Reads (per key) that went to the store: not cached, expired, or the cache not serving; by `operation`. @internal */
export const misses = counter(
  "konserve_cache_misses_total",
  "Cache reads (per key) that went to the store, by operation"
)

/** Entries evicted to stay within `maxBytes`. @internal */
export const evictions = counter(
  "konserve_cache_evictions_total",
  "Cache entries evicted (least recently used) to stay within maxBytes"
)

/** Bytes held by every cache of the process (encoded values, keys, a fixed overhead per entry). @internal */
export const bytesHeld = Metric.gauge("konserve_cache_bytes", {
  description: "Bytes held by the caches of this process (encoded values plus keys and a fixed overhead per entry)"
})

/** Changes of the invalidation stream that dropped or replaced an entry, by `action` (drop/replace). @internal */
export const invalidations = counter(
  "konserve_cache_invalidations_total",
  "Changes from the invalidation stream that dropped or replaced a cache entry, by action"
)

/** How old a change is when it reaches the cache, in milliseconds (now − its write's time). @internal */
export const feedLag = Metric.histogram(
  "konserve_cache_feed_lag_ms",
  MetricBoundaries.exponential({ start: 1, factor: 2, count: 16 }),
  "Age of a change when the cache applies it, in milliseconds (now minus the write's time)"
)

/** Times the invalidation stream failed or ended (the cache emptied and passes reads through until it is back). @internal */
export const feedDown = counter(
  "konserve_cache_feed_down_total",
  "Times the cache's invalidation stream failed or ended; the cache emptied and serves nothing until back"
)

/** Caches of this process whose invalidation stream is not running (they serve nothing from memory). @internal */
export const feedsDown = Metric.gauge("konserve_cache_feeds_down", {
  description: "Caches whose invalidation stream is down (reads pass through to the store)"
})

const label = MetricLabel.make

/** The labels of each read operation, made once. @internal */
export const operationLabels = {
  get: [label("operation", "get")],
  getIn: [label("operation", "getIn")],
  getMeta: [label("operation", "getMeta")],
  exists: [label("operation", "exists")],
  multiGet: [label("operation", "multiGet")]
} as const

/** @internal */
export type ReadOperation = keyof typeof operationLabels

/** @internal */
export const actionLabels = {
  drop: [label("action", "drop")],
  replace: [label("action", "replace")]
} as const

/** @internal */
export const noLabels: ReadonlyArray<MetricLabel.MetricLabel> = []
