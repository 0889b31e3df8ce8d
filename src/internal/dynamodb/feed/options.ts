/**
 * The options of `DynamoDBStore.changes` checked and defaulted: a finite,
 * positive `pollInterval`, `from` "latest" or "oldest", a non-empty
 * `checkpoint` name.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { DynamoDBError } from "../../../KonserveError.js"
import * as Options from "../../options.js"
import * as Feed from "./feed.js"

/** @internal */
export const check = (
  options: {
    readonly from?: unknown
    readonly checkpoint?: unknown
    readonly pollInterval?: Duration.DurationInput | undefined
  } | undefined
): Effect.Effect<Feed.Options, DynamoDBError> =>
  Effect.suspend(() => {
    const pollInterval = options?.pollInterval === undefined
      ? Option.some(Feed.DEFAULT_POLL_INTERVAL)
      : Options.nonNegativeDuration(options.pollInterval)
    if (Option.isNone(pollInterval) || Duration.isZero(pollInterval.value) || !Duration.isFinite(pollInterval.value)) {
      return Effect.fail(Options.invalidConfiguration(
        `invalid pollInterval: ${String(options?.pollInterval)} is not a finite, positive duration`,
        "DynamoDBStore.changes"
      ))
    }
    const from = options?.from
    if (from !== undefined && from !== "latest" && from !== "oldest") {
      return Effect.fail(Options.invalidConfiguration(
        `invalid from: ${JSON.stringify(from)}; "latest" or "oldest"`,
        "DynamoDBStore.changes"
      ))
    }
    const checkpoint = options?.checkpoint
    if (checkpoint !== undefined && (typeof checkpoint !== "string" || checkpoint.length === 0)) {
      return Effect.fail(
        Options.invalidConfiguration("invalid checkpoint: a non-empty name", "DynamoDBStore.changes")
      )
    }
    return Effect.succeed({ from, checkpoint, pollInterval: pollInterval.value })
  })
