/**
 * Every `BinaryInput` shape as one `Stream` of bytes, and the byte limit
 * that guards it.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type { DynamoDBError } from "../KonserveError.js"
import { ItemTooLarge } from "../KonserveError.js"
import * as FailureCodes from "./failureCodes.js"
import type { BinaryInput } from "./service.js"

/** Bytes given whole (a `Uint8Array` or a string), or undefined for streamed input. @internal */
export const wholeBytes = <E, R>(data: BinaryInput<E, R>): Uint8Array | undefined =>
  typeof data === "string" ? new TextEncoder().encode(data) : data instanceof Uint8Array ? data : undefined

const readError = (key: string) => (cause: unknown) =>
  FailureCodes.inputStreamError(
    "bassoc",
    `bassoc of key ${JSON.stringify(key)}: reading the input failed: ${String(cause)}`,
    cause
  )

/**
 * The input as a stream. Failures of an Effect `Stream` keep their own type;
 * an `AsyncIterable` or `ReadableStream` that throws fails with a
 * `DynamoDBError` named "InputStreamError".
 *
 * @internal
 */
export const toStream = <E, R>(
  key: string,
  data: BinaryInput<E, R>
): Stream.Stream<Uint8Array, E | DynamoDBError, R> => {
  const whole = wholeBytes(data)
  if (whole !== undefined) return Stream.succeed(whole)
  if (Stream.StreamTypeId in (data as object)) return data as Stream.Stream<Uint8Array, E, R>
  if (typeof ReadableStream !== "undefined" && data instanceof ReadableStream) {
    return Stream.fromReadableStream(() => data as ReadableStream<Uint8Array>, readError(key))
  }
  return Stream.fromAsyncIterable(data as AsyncIterable<Uint8Array>, readError(key))
}

/**
 * The stream, failing with `ItemTooLarge` as soon as it has yielded more
 * than `limit` bytes (before any more is consumed).
 *
 * @internal
 */
export const limitBytes = <E, R>(
  key: string,
  limit: number,
  stream: Stream.Stream<Uint8Array, E, R>
): Stream.Stream<Uint8Array, E | ItemTooLarge, R> =>
  Stream.suspend(() => {
    let total = 0
    return Stream.mapEffect(stream, (chunk) => {
      total += chunk.length
      return total > limit
        ? Effect.fail(new ItemTooLarge({ key, size: total, limit, streamed: true }))
        : Effect.succeed(chunk)
    })
  })
