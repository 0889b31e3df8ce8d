/**
 * The one retry vocabulary of the store: the live clock every backoff sleeps
 * on, the retry policy of failed requests and its `Schedule`, and "run again
 * while a concurrent change gets in the way, then `ConditionFailed`" as one
 * combinator.
 *
 * Backoffs sleep on the live clock, not on the calling fiber's: a test on
 * `TestClock` never hangs on a backoff, while TTL arithmetic still follows
 * the fiber's `Clock` (see `internal/store.ts`).
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"

/** The clock every backoff sleeps on. @internal */
export const liveClock: Clock.Clock = Clock.make()

/** Runs an effect whose sleeps must be real whatever clock the caller runs on. @internal */
export const live = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => Effect.withClock(self, liveClock)

/** @internal */
export interface RetryPolicy {
  /** Attempts in all, the first one included. */
  readonly maxAttempts: number
  readonly baseDelay: Duration.Duration
}

/** The default retry policy: 10 attempts, exponential from 20 ms, jittered, capped at 2 s. @internal */
export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 10, baseDelay: Duration.millis(20) }

/** The longest pause between two attempts. @internal */
export const MAX_RETRY_DELAY: Duration.Duration = Duration.seconds(2)

/**
 * The pauses between the attempts of a policy: exponential from `baseDelay`,
 * jittered (×0.8 to ×1.2), each capped at `MAX_RETRY_DELAY`; it recurs
 * `maxAttempts - 1` times.
 *
 * @internal
 */
export const schedule = (policy: RetryPolicy): Schedule.Schedule<unknown, unknown> =>
  Schedule.exponential(policy.baseDelay, 2).pipe(
    Schedule.jittered,
    Schedule.modifyDelay((_, delay) => Duration.min(delay, MAX_RETRY_DELAY)),
    Schedule.intersect(Schedule.recurs(Math.max(0, policy.maxAttempts - 1)))
  )

/**
 * A concurrent change got in the way of an attempt (the version read is gone,
 * a transaction was cancelled by another writer): run it again on fresh
 * state. Internal: `whileConflict` turns the last one into the caller's
 * failure, usually `ConditionFailed`.
 *
 * @internal
 */
export class Conflict extends Data.TaggedError("Conflict")<{}> {}

/** The one `Conflict`. @internal */
export const conflict: Conflict = new Conflict()

/**
 * The pauses between attempts after a concurrent change: "full jitter"
 * (uniform in [0, cap)), the cap exponential from 5 ms and at most 500 ms, so
 * that writers racing for one key spread out.
 *
 * @internal
 */
export const conflictSchedule = (retries: number): Schedule.Schedule<unknown, unknown> =>
  Schedule.exponential(Duration.millis(5), 2).pipe(
    Schedule.modifyDelay((_, delay) => conflictDelay(Duration.toMillis(delay))),
    Schedule.intersect(Schedule.recurs(Math.max(0, retries)))
  )

const conflictDelay = (capMillis: number): Duration.Duration =>
  Duration.millis(Math.random() * Math.min(500, capMillis))

/** The pause of `conflictSchedule` before attempt `round + 1`, for a loop that is a state machine, not a retry. @internal */
export const conflictPause = (round: number): Effect.Effect<void> => live(Effect.sleep(conflictDelay(5 * 2 ** round)))

/**
 * Runs `body` again while it fails with `Conflict`, at most `retries` more
 * times, pausing on `conflictSchedule`; a `Conflict` after that becomes
 * `onExhausted()`. Other failures pass through at once.
 *
 * @internal
 */
export const whileConflict = <A, E, R, E2>(
  body: Effect.Effect<A, E | Conflict, R>,
  retries: number,
  onExhausted: () => E2
): Effect.Effect<A, Exclude<E, Conflict> | E2, R> =>
  retrying(body, { schedule: conflictSchedule(retries), while: isConflict }).pipe(
    Effect.catchIf(isConflict, () => Effect.fail(onExhausted()))
  ) as Effect.Effect<A, Exclude<E, Conflict> | E2, R>

/**
 * `Effect.retry` whose pauses sleep on the live clock while `self` keeps the
 * caller's clock (its TTL arithmetic stays on the caller's `TestClock`).
 *
 * @internal
 */
export const retrying = <A, E, R>(
  self: Effect.Effect<A, E, R>,
  options: { readonly schedule: Schedule.Schedule<unknown, E>; readonly while: (error: E) => boolean }
): Effect.Effect<A, E, R> =>
  Effect.clockWith((callerClock) =>
    live(Effect.retry(Effect.withClock(self, callerClock), { schedule: options.schedule, while: options.while }))
  )

const isConflict = (error: unknown): error is Conflict =>
  typeof error === "object" && error !== null && (error as { readonly _tag?: unknown })._tag === "Conflict"
