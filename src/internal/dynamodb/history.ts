/**
 * A head's memory of the key's recent writes, and what it proves about a
 * write whose answer was lost.
 *
 * Every write of a key sets `ver` to its own version and shifts the versions
 * before it into `r1`…`r7` (a shift register in the `UpdateExpression`:
 * `r7 = r6, …, r1 = ver, ver = :v`), tombstones included; and every write is
 * conditioned on `ver < :v`. So a key's versions strictly increase, an
 * attempt can apply at most once (after it, `ver >= :v` for good), and the
 * head holds the newest `HISTORY` versions of the key, in order.
 *
 * Given the head an attempt's failed condition returned:
 * - the head remembers the version: the write was applied (by an earlier
 *   attempt whose answer was lost);
 * - the head "covers" the version — it holds fewer than `HISTORY` versions
 *   (the key's whole history since its item was made), or its oldest
 *   remembered version is older than this one — and does not remember it:
 *   the write was not applied;
 * - otherwise `HISTORY` newer writes have pushed it out, if it was there:
 *   undecidable, when some attempt may have been applied.
 *
 * @internal
 */
import * as Version from "../version.js"
import type { Item } from "./item.js"
import { A } from "./item.js"

/** How many versions a head remembers: `ver` and `r1`…`r7`. @internal */
export const HISTORY = 8

/** The attributes of the history, newest first. @internal */
export const SLOTS: ReadonlyArray<string> = [A.version, ...Array.from({ length: HISTORY - 1 }, (_, i) => `r${i + 1}`)]

/** The empty slot (a history shorter than `HISTORY`). @internal */
export const EMPTY = new Uint8Array(0)

/** The versions a head remembers, newest first. @internal */
export interface Trace {
  readonly versions: ReadonlyArray<Uint8Array>
  /** The key's whole history since its item was made (fewer than `HISTORY` writes). */
  readonly complete: boolean
}

/** The trace of a head item (none: the empty, complete trace). @internal */
export const traceOf = (item: Item | undefined): Trace => {
  const versions: Array<Uint8Array> = []
  if (item !== undefined) {
    for (const slot of SLOTS) {
      const version = item[slot]?.B
      if (version === undefined || version.length === 0) break
      versions.push(version)
    }
  }
  return { versions, complete: versions.length < HISTORY }
}

/** Whether the head remembers a write of `version`. @internal */
export const remembers = (trace: Trace, version: Uint8Array): boolean =>
  trace.versions.some((v) => Version.equals(v, version))

/** Whether the trace would still hold `version` had it been applied. @internal */
export const covers = (trace: Trace, version: Uint8Array): boolean =>
  trace.complete || Version.compare(trace.versions[trace.versions.length - 1], version) < 0

/**
 * What a head proves about a write of `version`: `Applied`, `NotApplied`, or
 * `Unknown` (only when some attempt of it was ambiguous: without one, every
 * attempt was refused and it certainly was not applied).
 *
 * @internal
 */
export type Verdict = "Applied" | "NotApplied" | "Unknown"

/** @internal */
export const verdict = (trace: Trace, version: Uint8Array, ambiguous: boolean): Verdict =>
  remembers(trace, version) ? "Applied" : !ambiguous || covers(trace, version) ? "NotApplied" : "Unknown"

/**
 * How long a head's history must outlive its write, in seconds: DynamoDB's
 * TTL sweeper never deletes a tombstone or an expired head sooner, so that
 * every retry of a write (bounded by the retry schedule and the request
 * timeouts: well under a minute) still finds it.
 *
 * @internal
 */
export const TRACE_SECONDS = 3600
