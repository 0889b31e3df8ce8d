/**
 * Node.js streams as Effect streams and sinks, pulled and written with
 * backpressure: a readable is read only as fast as the stream is consumed,
 * and a sink waits for `'drain'` when the writable's buffer is full, so that
 * data of any size takes bounded memory.
 *
 * @internal
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Sink from "effect/Sink"
import * as Stream from "effect/Stream"
import type { Readable, Writable } from "node:stream"

/** A Node.js error of a stream, kept until it is read (a stream reports it once, as an event). */
interface Failure {
  readonly error: unknown
}

/**
 * The chunks of a readable, read when the stream pulls: each pull takes what
 * the readable has buffered, or waits for it (`'readable'`), the end
 * (`'end'`) or an error (`'error'`, mapped by `onError`). The readable is
 * destroyed when the stream ends, fails or is interrupted, unless
 * `closeOnDone` is false (stdin).
 *
 * @internal
 */
export const fromReadable = <E>(
  evaluate: () => Readable,
  onError: (error: unknown) => E,
  options?: { readonly closeOnDone?: boolean }
): Stream.Stream<Uint8Array, E> =>
  Stream.unwrapScoped(Effect.map(
    Effect.acquireRelease(
      Effect.sync(() => watchReadable(evaluate())),
      (watched) => Effect.sync(() => watched.release(options?.closeOnDone !== false))
    ),
    (watched) => Stream.repeatEffectChunkOption(watched.pull(onError))
  ))

const watchReadable = (readable: Readable) => {
  let failure: Failure | undefined
  let ended = false
  let wake: (() => void) | undefined
  const signal = () => {
    const resume = wake
    wake = undefined
    resume?.()
  }
  const onEnd = () => {
    ended = true
    signal()
  }
  // listening keeps an error from being thrown as an unhandled 'error' event between pulls
  const onFailure = (error: unknown) => {
    failure ??= { error }
    signal()
  }
  readable.on("readable", signal)
  readable.on("end", onEnd)
  readable.on("error", onFailure)

  const pull = <E>(onError: (error: unknown) => E): Effect.Effect<Chunk.Chunk<Uint8Array>, Option.Option<E>> =>
    Effect.async((resume) => {
      const attempt = (): boolean => {
        const chunks: Array<Uint8Array> = []
        for (let chunk: Uint8Array | null = readable.read(); chunk !== null; chunk = readable.read()) {
          chunks.push(chunk)
        }
        if (chunks.length > 0) {
          resume(Effect.succeed(Chunk.unsafeFromArray(chunks)))
          return true
        }
        const error = failure ?? (readable.errored === null ? undefined : { error: readable.errored })
        if (error !== undefined) {
          resume(Effect.fail(Option.some(onError(error.error))))
          return true
        }
        if (ended || readable.readableEnded || readable.destroyed) {
          resume(Effect.fail(Option.none()))
          return true
        }
        return false
      }
      const retry = () => {
        if (!attempt()) wake = retry
      }
      retry()
      // interrupted while waiting: no one is woken
      return Effect.sync(() => {
        wake = undefined
      })
    })

  const release = (close: boolean) => {
    readable.off("readable", signal)
    readable.off("end", onEnd)
    readable.off("error", onFailure)
    if (close && !readable.destroyed) readable.destroy()
  }

  return { pull, release }
}

/**
 * A sink to a writable: each element written in turn, waiting for `'drain'`
 * whenever `write` reports a full buffer. With `endOnDone` (the default) the
 * writable is ended when the stream is done and the sink is done once
 * everything is flushed (`'finish'`); on a failure or an interruption it is
 * destroyed. Without (stdout), the writable stays open and the sink is done
 * once what it wrote is flushed (an empty write's callback). An error of the
 * writable fails the sink (mapped by `onError`).
 *
 * @internal
 */
export const toWritable = <E>(
  evaluate: () => Writable,
  onError: (error: unknown) => E,
  options?: { readonly endOnDone?: boolean }
): Sink.Sink<void, string | Uint8Array, never, E> => {
  const endOnDone = options?.endOnDone !== false
  return Sink.unwrapScoped(Effect.map(
    Effect.acquireRelease(
      Effect.sync(() => watchWritable(evaluate())),
      (watched, exit) => Effect.sync(() => watched.release(endOnDone && Exit.isFailure(exit)))
    ),
    (watched) =>
      Sink.forEachChunk((chunk: Chunk.Chunk<string | Uint8Array>) => watched.write(chunk, onError)).pipe(
        Sink.mapEffect(() => endOnDone ? watched.end(onError) : watched.flush(onError))
      )
  ))
}

const watchWritable = (writable: Writable) => {
  let failure: Failure | undefined
  let wake: (() => void) | undefined
  const onFailure = (error: unknown) => {
    failure ??= { error }
    const resume = wake
    wake = undefined
    resume?.()
  }
  writable.on("error", onFailure)

  const check = <E>(onError: (error: unknown) => E): Effect.Effect<void, E> =>
    Effect.suspend(() => failure === undefined ? Effect.void : Effect.fail(onError(failure.error)))

  /** Waits for `event` (or an error); no wait when `ready` already holds. */
  const waitFor = <E>(
    event: "drain" | "finish",
    ready: () => boolean,
    onError: (error: unknown) => E
  ): Effect.Effect<void, E> =>
    Effect.async((resume) => {
      const done = () => {
        writable.off(event, done)
        wake = undefined
        resume(failure === undefined ? Effect.void : Effect.fail(onError(failure.error)))
      }
      if (failure !== undefined || ready()) return done()
      wake = done
      writable.on(event, done)
      return Effect.sync(() => {
        writable.off(event, done)
        wake = undefined
      })
    })

  const write = <E>(chunk: Chunk.Chunk<string | Uint8Array>, onError: (error: unknown) => E): Effect.Effect<void, E> =>
    Effect.suspend(() => {
      if (failure !== undefined) return Effect.fail(onError(failure.error))
      const items = Chunk.toReadonlyArray(chunk)
      const from = (i: number): Effect.Effect<void, E> => {
        for (let j = i; j < items.length; j++) {
          if (!writable.write(items[j])) {
            return Effect.flatMap(
              waitFor("drain", () => !writable.writableNeedDrain, onError),
              () => from(j + 1)
            )
          }
        }
        return check(onError)
      }
      return from(0)
    })

  /** Waits until what was written is flushed: an empty write's callback comes after the writes before it. */
  const flush = <E>(onError: (error: unknown) => E): Effect.Effect<void, E> =>
    Effect.async((resume) => {
      const settle = (error: unknown) => {
        // the writable's own error (EPIPE) rather than the "destroyed" of a write after it
        const cause = failure?.error ?? writable.errored ?? error
        resume(cause === null || cause === undefined ? Effect.void : Effect.fail(onError(cause)))
      }
      if (failure !== undefined || writable.destroyed) return settle(undefined)
      writable.write("", settle)
    })

  const end = <E>(onError: (error: unknown) => E): Effect.Effect<void, E> =>
    Effect.suspend(() => {
      if (failure !== undefined) return Effect.fail(onError(failure.error))
      if (!writable.writableEnded) writable.end()
      return waitFor("finish", () => writable.writableFinished, onError)
    })

  const release = (destroy: boolean) => {
    if (destroy && !writable.destroyed) writable.destroy()
    // an error after the release (of a destroyed stream) is of no one's concern any more
    writable.off("error", onFailure)
    if (destroy) writable.on("error", () => {})
  }

  return { write, end, check, flush, release }
}
