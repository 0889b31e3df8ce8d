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
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Runtime from "./runtime.js"

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
export const run = async <A, E, R>(runtime: Runtime.Services<R>, effect: Effect.Effect<A, E, R>): Promise<A> => {
  const exit = await Runtime.runPromiseExit(runtime, effect)
  if (Exit.isSuccess(exit)) return exit.value
  throw causeError(exit.cause)
}

/**
 * A Stream as an async iterable: a new, lazy iterator per loop (`iterate`),
 * pulled chunk by chunk; the stream's scope (a Scan in flight, a
 * subscription) is closed when the loop ends, breaks or throws.
 *
 * @internal
 */
export const iterate = <A, E, R>(runtime: Runtime.Services<R>, stream: Stream.Stream<A, E, R>): AsyncIterable<A> => ({
  [Symbol.asyncIterator]: () => new Pulling(runtime, stream)
})

/**
 * A Stream started at once: its scope is opened and its first pull started
 * before this returns, in this call (a fiber runs synchronously until it
 * first waits), so a subscription the stream makes as it starts — the
 * in-process `changes` hub's — is in place when `subscribe` returns, and a
 * write made afterwards reaches it. One loop only (the iterator is its own
 * iterable); `return()` (a `break`), `[Symbol.asyncDispose]` or `onRelease`'s
 * owner closing it releases the subscription, also when it was never
 * iterated.
 *
 * @internal
 */
export const subscribe = <A, E, R>(
  runtime: Runtime.Services<R>,
  stream: Stream.Stream<A, E, R>,
  onRelease?: (self: Subscription<A>) => void
): Subscription<A> => {
  const pulling = new Pulling(runtime, stream, onRelease as ((self: Pulling<A, E, R>) => void) | undefined)
  pulling.start()
  return pulling
}

/**
 * An async iterator that is its own iterable and can be released at any
 * time (a `next()` waiting is then answered `done`).
 *
 * @internal
 */
export interface Subscription<A> extends AsyncIterableIterator<A>, AsyncDisposable {
  readonly return: () => Promise<IteratorResult<A, undefined>>
}

/**
 * The iterator: a pull of `Stream.toPull` per chunk, each in a fiber of its
 * own (so `return()` can interrupt one that waits); the scope is closed once,
 * whoever ends first (the stream, a failure, `return()`).
 */
class Pulling<A, E, R> implements Subscription<A> {
  private scope: Scope.CloseableScope | undefined
  private pull: Effect.Effect<Chunk.Chunk<A>, Option.Option<E>, R> | undefined
  private inflight: Fiber.RuntimeFiber<Chunk.Chunk<A>, Option.Option<E>> | undefined
  private buffer: ReadonlyArray<A> = []
  private index = 0
  private released: Promise<void> | undefined
  /** `next()` calls answered in order, one pull at a time. */
  private queue: Promise<unknown> = Promise.resolve()

  constructor(
    private readonly runtime: Runtime.Services<R>,
    private readonly stream: Stream.Stream<A, E, R>,
    private readonly onRelease?: ((self: Pulling<A, E, R>) => void) | undefined
  ) {}

  /** Opens the scope and starts the first pull (synchronously up to the pull's first wait). */
  start(): void {
    if (this.scope !== undefined || this.released !== undefined) return
    const scope = Runtime.runSync(this.runtime, Scope.make())
    this.scope = scope
    this.pull = Runtime.runSync(this.runtime, Scope.extend(Stream.toPull(this.stream), scope))
    this.inflight = Runtime.runFork(this.runtime, this.pull)
  }

  next(): Promise<IteratorResult<A, undefined>> {
    const step = this.queue.then(() => this.step())
    this.queue = step.catch(() => undefined)
    return step
  }

  return(): Promise<IteratorResult<A, undefined>> {
    return this.release().then(() => ({ done: true, value: undefined }))
  }

  [Symbol.asyncIterator](): this {
    return this
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.release()
  }

  private async step(): Promise<IteratorResult<A, undefined>> {
    while (true) {
      if (this.index < this.buffer.length) return { done: false, value: this.buffer[this.index++] }
      if (this.released !== undefined) return { done: true, value: undefined }
      this.start()
      const fiber = this.inflight ?? Runtime.runFork(this.runtime, this.pull!)
      this.inflight = fiber
      const exit = await Runtime.runPromise(this.runtime, Fiber.await(fiber))
      if (this.inflight === fiber) this.inflight = undefined
      if (this.released !== undefined) return { done: true, value: undefined }
      if (Exit.isSuccess(exit)) {
        this.buffer = Chunk.toReadonlyArray(exit.value)
        this.index = 0
        continue
      }
      await this.release()
      const failure = Cause.failureOption(exit.cause)
      if (Option.isSome(failure)) {
        if (Option.isNone(failure.value)) return { done: true, value: undefined }
        throw original(failure.value.value)
      }
      throw causeError(exit.cause)
    }
  }

  /** Interrupts a pull in flight and closes the stream's scope; once. */
  private release(): Promise<void> {
    return this.released ??= (async () => {
      this.buffer = []
      this.index = 0
      const fiber = this.inflight
      this.inflight = undefined
      try {
        if (fiber !== undefined) await Runtime.runPromise(this.runtime, Fiber.interrupt(fiber))
        if (this.scope !== undefined) await run(this.runtime, Scope.close(this.scope, Exit.void))
      } finally {
        this.onRelease?.(this)
      }
    })()
  }
}

/**
 * A Stream of bytes as a web `ReadableStream`: read lazily (pull), errors
 * as the store's error classes, cancel interrupts the stream.
 *
 * @internal
 */
export const readable = <E, R>(
  runtime: Runtime.Services<R>,
  stream: Stream.Stream<Uint8Array, E, R>
): ReadableStream<Uint8Array> => {
  const iterator = new Pulling(runtime, stream)
  return new ReadableStream<Uint8Array>({
    pull: async (controller) => {
      const next = await iterator.next()
      if (next.done === true) controller.close()
      else controller.enqueue(next.value)
    },
    cancel: async () => {
      await iterator.return()
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
