/**
 * The machinery of `konserve-dynamodb/promise`: running the store's Effects
 * and Streams on a runtime and handing back plain Promises, async iterables
 * and web `ReadableStream`s, with the store's own error classes.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import type * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"

/**
 * What a failed run rejects with: the typed failure itself (a
 * `KonserveError`, never a `FiberFailure` around it), else the defect as it
 * was thrown, else an interruption error.
 *
 * @internal
 */
export const causeError = <E>(cause: Cause.Cause<E>): unknown => original(Cause.squash(cause))

/** Effect annotates errors with the span they crossed through a proxy; the caller gets the error it threw. */
const originalKey = Symbol.for("effect/OriginalAnnotation")
const original = (error: unknown): unknown =>
  typeof error === "object" && error !== null && originalKey in error
    ? original((error as Record<symbol, unknown>)[originalKey])
    : error

/**
 * Runs an Effect to a Promise that resolves with its value or rejects with
 * `causeError` of its failure.
 *
 * @internal
 */
export const run = async <A, E, R>(runtime: Runtime.Runtime<R>, effect: Effect.Effect<A, E, R>): Promise<A> => {
  const exit = await Runtime.runPromiseExit(runtime, effect)
  if (Exit.isSuccess(exit)) return exit.value
  throw causeError(exit.cause)
}

/**
 * A Stream as an async iterable: pulled chunk by chunk; the stream's scope
 * (a Scan in flight, a subscription) is closed when the loop ends, breaks
 * or throws.
 *
 * @internal
 */
export const iterate = <A, E, R>(runtime: Runtime.Runtime<R>, stream: Stream.Stream<A, E, R>): AsyncIterable<A> => ({
  [Symbol.asyncIterator]: () => generate(runtime, stream)
})

async function* generate<A, E, R>(runtime: Runtime.Runtime<R>, stream: Stream.Stream<A, E, R>): AsyncGenerator<A> {
  const scope = await run(runtime, Scope.make())
  try {
    const pull = await run(runtime, Scope.extend(Stream.toPull(stream), scope))
    while (true) {
      const exit = await Runtime.runPromiseExit(runtime, pull)
      if (Exit.isSuccess(exit)) {
        yield* Chunk.toReadonlyArray(exit.value)
        continue
      }
      const failure = Cause.failureOption(exit.cause)
      if (Option.isSome(failure)) {
        if (Option.isNone(failure.value)) return
        throw original(failure.value.value)
      }
      throw causeError(exit.cause)
    }
  } finally {
    await run(runtime, Scope.close(scope, Exit.void))
  }
}

/**
 * A Stream of bytes as a web `ReadableStream`: read lazily (pull), errors
 * as the store's error classes, cancel interrupts the stream.
 *
 * @internal
 */
export const readable = <E, R>(
  runtime: Runtime.Runtime<R>,
  stream: Stream.Stream<Uint8Array, E, R>
): ReadableStream<Uint8Array> => {
  let iterator: AsyncIterator<Uint8Array> | undefined
  return new ReadableStream<Uint8Array>({
    pull: async (controller) => {
      iterator ??= generate(runtime, stream)
      const next = await iterator.next()
      if (next.done === true) controller.close()
      else controller.enqueue(next.value)
    },
    cancel: async () => {
      await iterator?.return?.(undefined)
    }
  }, { highWaterMark: 0 })
}

/**
 * Whether a value is a thenable (a Promise or a look-alike).
 *
 * @internal
 */
export const isThenable = (value: unknown): value is PromiseLike<unknown> =>
  (typeof value === "object" || typeof value === "function") && value !== null &&
  typeof (value as { readonly then?: unknown }).then === "function"
