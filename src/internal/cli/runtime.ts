/**
 * Runs the CLI's program as the process's main fiber: SIGINT and SIGTERM
 * interrupt it (its finalizers run: a started DynamoDB Local is stopped, a
 * partial export file removed), and when it is done `teardown` turns its
 * exit into the process's exit code.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as Logger from "effect/Logger"

/**
 * Forks `program`. Failures are not reported here (the program reports its
 * own, `teardown` the rest); logs go through Effect's pretty logger.
 * `teardown` calls `onExit(code)` once the process may end: with a code
 * other than 0, or after a signal, the process then exits with it; with 0 it
 * ends by itself, once nothing is left to do (stdout flushed).
 *
 * @internal
 */
export const runMain = <A, E>(
  program: Effect.Effect<A, E>,
  teardown: (exit: Exit.Exit<A, E>, onExit: (code: number) => void) => void
): void => {
  const fiber = Effect.runFork(Effect.provide(program, Logger.pretty))
  // the process stays up while the fiber waits on nothing Node.js counts (a latch, a sleep of Effect)
  const keepAlive = setInterval(() => {}, 2 ** 31 - 1)
  let signalled = false
  const onSignal = () => {
    signalled = true
    stopListening()
    fiber.unsafeInterruptAsFork(fiber.id())
  }
  const stopListening = () => {
    process.removeListener("SIGINT", onSignal)
    process.removeListener("SIGTERM", onSignal)
  }
  process.on("SIGINT", onSignal)
  process.on("SIGTERM", onSignal)
  fiber.addObserver((exit) => {
    if (!signalled) stopListening()
    clearInterval(keepAlive)
    teardown(exit, (code) => {
      if (signalled || code !== 0) process.exit(code)
    })
  })
}
