/**
 * `transact` for `konserve-dynamodb/promise`: the store's own transaction
 * (its strong reads, its commit on the versions read, its conflict re-runs),
 * with `f` returning a plan or a Promise of one. `f` runs inside the store's
 * loop as an Effect that awaits the Promise; a rejection (or a throw) of `f`
 * travels through the store's loop wrapped, so that it is never taken for a
 * store failure (a `ConditionFailed` thrown by `f` is not a conflict to
 * re-run), aborts with nothing written, and is rethrown as it was.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type { Key, KonserveStore, TransactOptions, TransactPlan } from "../../KonserveStore.js"
import { causeError, isThenable } from "./run.js"
import * as Runtime from "./runtime.js"

/** What `f` rejected with, on its way through the store's loop. */
class Rejected {
  constructor(readonly error: unknown) {}
}

/**
 * Runs the store's `transact` with `f` returning a plan or a Promise of one;
 * resolves to the plan's `result`.
 *
 * @internal
 */
export const transact = async <A>(
  runtime: Runtime.Services<never>,
  service: KonserveStore,
  keys: Iterable<Key>,
  f: (current: ReadonlyMap<Key, unknown>) => TransactPlan<A> | PromiseLike<TransactPlan<A>>,
  options: TransactOptions | undefined
): Promise<A> => {
  const effectful = (current: ReadonlyMap<Key, unknown>): Effect.Effect<TransactPlan<A>, Rejected> =>
    Effect.suspend(() => {
      let plan: TransactPlan<A> | PromiseLike<TransactPlan<A>>
      try {
        plan = f(current)
      } catch (error) {
        return Effect.fail(new Rejected(error))
      }
      return isThenable(plan)
        ? Effect.tryPromise({ try: () => Promise.resolve(plan), catch: (error) => new Rejected(error) })
        : Effect.succeed(plan)
    })
  const exit = await Runtime.runPromiseExit(runtime, service.transact(keys, effectful, options))
  if (Exit.isSuccess(exit)) return exit.value
  const error = causeError(exit.cause)
  throw error instanceof Rejected ? error.error : error
}
