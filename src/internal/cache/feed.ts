/**
 * The consumer of the invalidation stream: runs it on a fiber of the
 * layer's scope and applies each change to the entries; when the stream
 * fails or ends, the cache stops serving at once (empty, every read passes
 * through) and the stream is run again on the store's retry schedule
 * (exponential from 20 ms, jittered, capped at 2 s, without an attempt
 * limit), with a log line and the `konserve_cache_feed_*` metrics.
 *
 * "Running", when the layer is built, means: the stream has been started on
 * its fiber and that fiber has either received its first chunk or come to
 * wait on something (its first pull is in flight: a PubSub subscription
 * taken, a first request sent). A stream cannot say more about itself; one
 * that must position itself before it sees writes delivers every write made
 * after its first pull (`DynamoDBStore.changes` with `from: "latest"` starts
 * at the moment it is first pulled, before any request; docs/cache.md).
 *
 * After a failure the cache serves again only once the new run has
 * delivered a chunk: a run that has only started proves nothing (a feed
 * whose `GetRecords` keeps failing starts, waits on its first requests,
 * and fails again), so until a change comes through — any write to the
 * table's prefix, this process's own included — reads pass through.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberStatus from "effect/FiberStatus"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { DynamoDBError, type KonserveError } from "../../KonserveError.js"
import * as FailureCodes from "../failureCodes.js"
import * as Retry from "../retry.js"
import type { Change } from "../service.js"
import type { Entries } from "./entries.js"
import * as CacheMetrics from "./metrics.js"

/** How many times the layer yields while waiting for a started stream to settle (first chunk or first wait). */
const SETTLE_YIELDS = 1000

/** The pause before run `attempt + 1` of the stream (attempt 0: the first reconnection). @internal */
export const reconnectDelay = (attempt: number): Duration.Duration => {
  const base = Duration.toMillis(Retry.DEFAULT_RETRY.baseDelay) * 2 ** Math.min(attempt, 20)
  return Duration.min(Duration.millis(base * (0.8 + Math.random() * 0.4)), Retry.MAX_RETRY_DELAY)
}

/** Waits until a started fiber has received something, waits on something, or ended. */
const settle = (fiber: Fiber.RuntimeFiber<void, KonserveError>, received: () => boolean): Effect.Effect<void> =>
  Effect.gen(function*() {
    for (let i = 0; i < SETTLE_YIELDS && !received(); i++) {
      const status = yield* Fiber.status(fiber)
      if (!FiberStatus.isRunning(status)) return
      yield* Effect.yieldNow()
    }
  })

/** What a failure of the first run becomes: the layer's error. */
const buildFailure = (exit: Exit.Exit<void, KonserveError>): DynamoDBError => {
  if (Exit.isSuccess(exit)) {
    return FailureCodes.invalidConfiguration(
      "KonserveStore.layerCache",
      "the invalidation stream ended as soon as it started: the cache would never be told of other writes"
    )
  }
  const failure = Cause.failureOption(exit.cause)
  if (Option.isSome(failure) && failure.value._tag === "DynamoDBError") return failure.value
  const operation = "KonserveStore.layerCache"
  const message = `the invalidation stream failed as it started: ${
    Option.isSome(failure) ? failure.value.message : Cause.pretty(exit.cause)
  }`
  return Option.isSome(failure)
    ? new DynamoDBError({ operation, code: failure.value._tag, message, retryable: false })
    : FailureCodes.invalidConfiguration(operation, message)
}

/**
 * Starts the consumer on a fiber of the scope and returns once the stream
 * is running; fails with the stream's failure (as a `DynamoDBError`) when
 * its first run ends before it is running.
 *
 * @internal
 */
export const start = (
  stream: Stream.Stream<Change, KonserveError>,
  entries: Entries
): Effect.Effect<void, DynamoDBError, Scope.Scope> =>
  Effect.gen(function*() {
    const first = yield* Deferred.make<void, DynamoDBError>()
    let down = false
    /** A reconnected stream delivered: the cache (empty) serves again. */
    const back = Effect.suspend(() => {
      entries.resume()
      if (!down) return Effect.void
      down = false
      CacheMetrics.feedsDown.unsafeModify(-1, CacheMetrics.noLabels)
      return Effect.logInfo("KonserveStore cache: the invalidation stream is back; serving from memory again")
    })
    const consume = Effect.gen(function*() {
      let attempt = 0
      let runs = 0
      while (true) {
        const started = yield* Deferred.make<void>()
        let received = false
        // a reconnection serves again at its first chunk, the first run once it is running
        let backAtChunk = runs > 0
        const run = Stream.runForEachChunk(
          Stream.unwrap(Effect.as(Deferred.succeed(started, undefined), stream)),
          (chunk) =>
            Effect.clockWith((clock) =>
              Effect.suspend(() => {
                received = true
                const now = clock.unsafeCurrentTimeMillis()
                if (!backAtChunk) {
                  for (const change of chunk) entries.apply(change, now)
                  return Effect.void
                }
                backAtChunk = false
                return back
              })
            )
        )
        const fiber = yield* Effect.fork(run)
        yield* Deferred.await(started)
        yield* settle(fiber, () => received)
        const running = Option.isNone(yield* Fiber.poll(fiber))
        runs += 1
        if (running && runs === 1) {
          entries.resume()
          yield* Deferred.succeed(first, undefined)
        }
        const exit = yield* Fiber.await(fiber)
        if (runs === 1 && !running) return yield* Deferred.fail(first, buildFailure(exit))
        entries.stop()
        if (!down) {
          down = true
          CacheMetrics.feedsDown.unsafeModify(1, CacheMetrics.noLabels)
        }
        CacheMetrics.feedDown.unsafeUpdate(1, CacheMetrics.noLabels)
        yield* Effect.logWarning(
          `KonserveStore cache: the invalidation stream ${
            Exit.isSuccess(exit) ? "ended" : "failed"
          }; the cache is empty and passes every read to the store until the stream is back`
        ).pipe(Exit.isFailure(exit) ? Effect.annotateLogs("cause", Cause.pretty(exit.cause)) : (self) => self)
        attempt = running && received ? 0 : attempt + 1
        yield* Retry.live(Effect.sleep(reconnectDelay(attempt)))
      }
    }).pipe(
      Effect.ensuring(Effect.sync(() => {
        entries.stop()
        if (down) CacheMetrics.feedsDown.unsafeModify(-1, CacheMetrics.noLabels)
      }))
    )
    yield* Effect.forkScoped(consume)
    yield* Deferred.await(first)
  })
