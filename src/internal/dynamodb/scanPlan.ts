/**
 * How many `Scan` segments a store's `keys` reads side by side: the store's
 * `scanSegments` when set, else learned from its last complete listing (see
 * listing.ts). Its own module so that `Context` holds a plan without
 * importing the listing that reads it.
 *
 * @internal
 */
/**
 * Pages of the last complete listing per learned segment: one, so that a
 * listing reads every page side by side (10,000 heads of 200-byte values,
 * 3 pages: 287 ms in one segment, 141 ms in three, same requests).
 *
 * @internal
 */
export const PAGES_PER_SEGMENT = 1

/** The most segments the store chooses by itself (`scanSegments` may ask for more). @internal */
export const MAX_LEARNED_SEGMENTS = 8

/**
 * The segment count of a store's listings: fixed, or learned from the last
 * complete one.
 *
 * @internal
 */
export interface ScanPlan {
  readonly segments: () => number
  /** A listing read `pages` pages to the end. */
  readonly completed: (pages: number) => void
}

/** @internal */
export const scanPlan = (fixed: number | undefined): ScanPlan => {
  let learned = 1
  return {
    segments: () => fixed ?? learned,
    completed: (pages) => {
      learned = Math.min(MAX_LEARNED_SEGMENTS, Math.max(1, Math.ceil(pages / PAGES_PER_SEGMENT)))
    }
  }
}
