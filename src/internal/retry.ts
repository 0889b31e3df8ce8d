/**
 * The one retry vocabulary of the store: the live clock every backoff sleeps
 * on, the retry policy of failed requests and its `Schedule`, and the one
 * re-plan loop (`replan`): a write sent again, re-planned, while a concurrent
 * change gets in the way, at most so many rounds; "run again while
 * `Conflict`, then `ConditionFailed`" (`whileConflict`) is that loop whose
 * rounds start afresh.
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

const conflictDelay = (capMillis: number): Duration.Duration =>
  Duration.millis(Math.random() * Math.min(500, capMillis))

/**
 * The pause before attempt `round + 1` after a concurrent change got in the
 * way: "full jitter" (uniform in [0, cap)), the cap exponential from 5 ms and
 * at most 500 ms, so that writers racing for one key spread out. It sleeps on
 * the live clock.
 *
 * @internal
 */
export const conflictPause = (round: number): Effect.Effect<void> => live(Effect.sleep(conflictDelay(5 * 2 ** round)))

/**
 * Runs `body` again while it fails with `Conflict`, at most `retries` more
 * times, pausing by `conflictPause`; a `Conflict` after that becomes
 * `onExhausted()`. Other failures pass through at once. A `replan` loop whose
 * every round starts afresh.
 *
 * @internal
 */
export const whileConflict = <A, E, R, E2>(
  body: Effect.Effect<A, E | Conflict, R>,
  retries: number,
  onExhausted: () => E2
): Effect.Effect<A, Exclude<E, Conflict> | E2, R> =>
  replan({
    initial: undefined,
    maxRounds: retries,
    attempt: () =>
      Effect.catchIf(
        Effect.map(body, done),
        isConflict,
        () => Effect.succeed(again(undefined, { ambiguous: false, contended: true }))
      ),
    exhausted: onExhausted
  }) as Effect.Effect<A, Exclude<E, Conflict> | E2, R>

// -------------------------------------------------------------------------------------------------
// the re-plan loop

/**
 * A round of a write that is sent again, re-planned, until it is done: the
 * state of the attempt to make (a head write, a transaction's writes, nothing
 * when each attempt starts afresh), whether an earlier attempt may have been
 * applied, and how many attempts came before.
 *
 * @internal
 */
export interface Pending<S> {
  readonly state: S
  readonly ambiguous: boolean
  readonly round: number
}

/**
 * What one attempt tells: done (with its answer), or to be made again with a
 * new state; `ambiguous`, whether an attempt so far may have been applied;
 * `contended`, another writer got in the way (pause before the next).
 *
 * @internal
 */
export type Attempted<S, A> =
  | { readonly _tag: "Done"; readonly value: A }
  | { readonly _tag: "Again"; readonly state: S; readonly ambiguous: boolean; readonly contended: boolean }

/** @internal */
export type Again<S> = Extract<Attempted<S, never>, { readonly _tag: "Again" }>

/** @internal */
export const done = <A>(value: A): Attempted<never, A> => ({ _tag: "Done", value })

/** @internal */
export const again = <S>(
  state: S,
  options: { readonly ambiguous: boolean; readonly contended: boolean }
): Attempted<S, never> => ({ _tag: "Again", state, ambiguous: options.ambiguous, contended: options.contended })

/**
 * The one re-plan loop of the store's writes: `attempt` from `initial` (not
 * ambiguous, round 0), and again from the state it returns, until it is done
 * or fails. An attempt of round `maxRounds` that asks for another fails with
 * `exhausted` of what it asked; a contended one pauses first (`conflictPause`
 * of its round, on the live clock). At most `maxRounds + 1` attempts.
 *
 * @internal
 */
export const replan = <S, A, E, R, E2>(options: {
  readonly initial: S
  readonly maxRounds: number
  readonly attempt: (pending: Pending<S>) => Effect.Effect<Attempted<S, A>, E, R>
  readonly exhausted: (last: Again<S>) => E2
}): Effect.Effect<A, E | E2, R> => {
  const run = (pending: Pending<S>): Effect.Effect<A, E | E2, R> =>
    Effect.flatMap(options.attempt(pending), (attempted): Effect.Effect<A, E | E2, R> => {
      if (attempted._tag === "Done") return Effect.succeed(attempted.value)
      if (pending.round >= options.maxRounds) return Effect.fail(options.exhausted(attempted))
      const next = Effect.suspend(() =>
        run({ state: attempted.state, ambiguous: attempted.ambiguous, round: pending.round + 1 })
      )
      return attempted.contended ? Effect.zipRight(conflictPause(pending.round), next) : next
    })
  return Effect.suspend(() => run({ state: options.initial, ambiguous: false, round: 0 }))
}

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
