/**
 * What every read and write of one store needs, passed whole.
 *
 * @internal
 */
import type { VersionClock } from "../version.js"
import type { Client } from "./client.js"
import type { HeadState, Item } from "./item.js"
import { stateOf } from "./item.js"
import type { Layout } from "./keyLayout.js"
import type { ScanPlan } from "./scanPlan.js"

/** @internal */
export interface Context {
  readonly client: Client
  readonly layout: Layout
  /** Strongly consistent reads. */
  readonly consistent: boolean
  /** How many times a write runs again after a concurrent change before `ConditionFailed`. */
  readonly conflictRetries: number
  /** The store's `maxValueBytes`: what it reads (a larger value fails with `ItemTooLarge`; limits belong to the reader). */
  readonly maxValueBytes: number
  readonly versions: VersionClock
  /** How many `Scan` segments `keys` reads side by side. */
  readonly scanPlan: ScanPlan
}

/** How this store reads a head item for a write's decisions. @internal */
export const readState = (ctx: Context) => (item: Item | undefined): HeadState => stateOf(ctx.layout, item)
