/**
 * What every read and write of one store needs, passed whole.
 *
 * @internal
 */
import type { VersionClock } from "../version.js"
import type { Client } from "./client.js"
import type { Layout } from "./item.js"

/** @internal */
export interface Context {
  readonly client: Client
  readonly layout: Layout
  /** Strongly consistent reads. */
  readonly consistent: boolean
  /** How many times a write runs again after a concurrent change before `ConditionFailed`. */
  readonly conflictRetries: number
  readonly versions: VersionClock
}
