/**
 * `update`/`updateIn` for `konserve-dynamodb/promise`, whose functions may
 * return a Promise. The store's own update loop runs `f` synchronously, so:
 *
 * 1. The store's `update` runs first with `f` wrapped. A plain value is
 *    written by the store's own loop (its conflict retries, its recognition
 *    of its own write after a lost answer).
 * 2. When `f` returns a thenable, the wrapper stops that attempt before
 *    anything is written (a signal thrown from `f`: the store writes nothing
 *    when `f` throws) and the update runs as an optimistic loop here: read
 *    the version, the value and the version again (equal versions: the
 *    value belongs to that version, versions never repeat), await `f`, then
 *    write on that version (`ifVersion`, or `ifAbsent` for a missing key).
 *    A write another writer beat (`ConditionFailed`) runs again on the fresh
 *    value, at most `retries` more times, then fails with `ConditionFailed`,
 *    as the store's own loop.
 *
 * `f` may so run more than once (the store's rule already); the Promise of
 * the first, stopped attempt is dropped (its rejection handled).
 *
 * @internal
 */
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import { ConditionFailed } from "../../KonserveError.js"
import type { Key, KonserveStore, Path, WriteOptions } from "../../KonserveStore.js"
import { causeError, isThenable, run } from "./run.js"
import * as Runtime from "./runtime.js"

class AsyncResult {
  constructor(readonly promise: PromiseLike<unknown>) {}
}

/** @internal */
export interface Updated {
  readonly before: unknown
  readonly after: unknown
}

/** One `update`/`updateIn` call: the runtime, the store, its conflict retries, the path, `f` and the write's options. @internal */
export interface Run {
  readonly runtime: Runtime.Services<never>
  readonly service: KonserveStore
  readonly retries: number
  readonly path: Path
  readonly f: (current: unknown) => unknown
  readonly options: WriteOptions | undefined
}

/**
 * `update` (path of the key alone) or `updateIn`, `f` returning a value or a
 * Promise of one.
 *
 * @internal
 */
export const update = async (call: Run): Promise<Updated> => {
  const { f, options, path, runtime, service } = call
  const wrapped = (current: Option.Option<unknown>): unknown => {
    const after = f(Option.getOrUndefined(current))
    if (isThenable(after)) throw new AsyncResult(after)
    return after
  }
  const native = path.length === 1
    ? service.update(path[0], wrapped, options)
    : service.updateIn(path, wrapped, options)
  const exit = await Runtime.runPromiseExit(runtime, native)
  if (Exit.isSuccess(exit)) return { before: Option.getOrUndefined(exit.value.before), after: exit.value.after }
  const error = causeError(exit.cause)
  if (!(error instanceof AsyncResult)) throw error
  Promise.resolve(error.promise).catch(() => undefined)
  return optimistic(call)
}

const optimistic = async ({ f, options, path, retries, runtime, service }: Run): Promise<Updated> => {
  const key: Key = path[0]
  const operation = path.length === 1 ? "update" : "updateIn"
  for (let attempt = 0; attempt <= retries; attempt++) {
    const first = await run(runtime, service.getMeta(key))
    const current = await run(runtime, path.length === 1 ? service.get(key) : service.getIn(path))
    const second = await run(runtime, service.getMeta(key))
    const version = Option.map(first, (meta) => meta.version)
    if (!Option.getEquivalence<string>((a, b) => a === b)(version, Option.map(second, (meta) => meta.version))) {
      continue
    }
    if (options?.ifAbsent === true && Option.isSome(version)) throw new ConditionFailed({ key, operation })
    if (options?.ifVersion !== undefined && Option.getOrUndefined(version) !== options.ifVersion) {
      throw new ConditionFailed({ key, operation })
    }
    const before = Option.getOrUndefined(current)
    const after = await f(before)
    const condition: WriteOptions = Option.isSome(version)
      ? { ...options, ifAbsent: undefined, ifVersion: version.value }
      : { ...options, ifAbsent: true, ifVersion: undefined }
    const write = path.length === 1 ? service.assoc(key, after, condition) : service.assocIn(path, after, condition)
    const exit = await Runtime.runPromiseExit(runtime, write)
    if (Exit.isSuccess(exit)) return { before, after }
    const error = causeError(exit.cause)
    if (!(error instanceof ConditionFailed)) throw error
  }
  throw new ConditionFailed({ key, operation })
}
