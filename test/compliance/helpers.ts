/**
 * The helpers every file of the compliance suite shares: unique keys,
 * assertions, bytes and the shapes of binary input, listing, and the `Suite`
 * that `test/compliance.ts` gives each file.
 */
import type { Vitest } from "@effect/vitest"
import { assert } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import { inspect } from "node:util"
import type * as KonserveError from "../../src/KonserveError.js"
import * as KonserveStore from "../../src/KonserveStore.js"
import { deepEqual } from "../utils/deepEqual.js"

export type Store = KonserveStore.KonserveStore
export type It = Vitest.MethodsNonLive<Store>
export type LayerOptions = { readonly maxValueBytes?: number }

/** A block of tests sharing one fresh store (`makeLayer()` unless `store` is given). */
export type Block = (title: string, f: (it: It) => void, store?: Layer.Layer<Store, unknown>) => void

/**
 * What `compliance` gives each file of the suite: the block of tests with a
 * store of its own, the backend's `makeLayer`, the options of a `layer(...)`
 * made by hand, and the options of a property test with `numRuns` runs. The
 * timeout is set once, on the suite's `describe`.
 */
export type Suite = {
  readonly block: Block
  readonly makeLayer: (options?: LayerOptions) => Layer.Layer<Store, unknown>
  readonly layerOptions: { readonly timeout?: Duration.Duration }
  readonly propOptions: (numRuns: number) => { readonly fastCheck: { readonly numRuns: number } }
}

export const runId = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`
let sequence = 0

/** A key no other test of this run uses. */
export const uniqueKey = (label: string): string => `${label}/${runId}/${(sequence++).toString(36)}`

export const show = (u: unknown): string =>
  inspect(u, { depth: 8, maxArrayLength: 20, maxStringLength: 120, breakLength: 160 })

export const utf8 = new TextEncoder()
export const utf8Bytes = (s: string): number => utf8.encode(s).byteLength

/** The failure of an effect that must fail (a success or a defect fails the test). */
export const failureOf = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<E, never, R> =>
  Effect.flatMap(Effect.exit(self), (exit) => {
    if (Exit.isSuccess(exit)) {
      return Effect.dieMessage(`expected a failure, got a success: ${show(exit.value)}`)
    }
    const failure = Cause.failureOption(exit.cause)
    return Option.isSome(failure)
      ? Effect.succeed(failure.value)
      : Effect.dieMessage(`expected a typed failure, got: ${Cause.pretty(exit.cause)}`)
  })

/** The failure of an effect that must fail with the tagged error `tag`. */
export const expectTag = <const T extends string, A, E, R>(
  self: Effect.Effect<A, E, R>,
  tag: T
): Effect.Effect<Extract<E, { readonly _tag: T }>, never, R> =>
  Effect.map(failureOf(self), (error) => {
    assert.strictEqual((error as { readonly _tag?: unknown })._tag, tag, `expected ${tag}, got ${show(error)}`)
    return error as Extract<E, { readonly _tag: T }>
  })

export const assertEqual = (actual: unknown, expected: unknown, label = "value"): void => {
  assert.isTrue(deepEqual(actual, expected), `${label}: expected ${show(expected)}, got ${show(actual)}`)
}

export const assertSome = <A>(actual: Option.Option<A>, label = "value"): A => {
  if (Option.isNone(actual)) {
    return assert.fail(`${label}: expected some, got none`)
  }
  return actual.value
}

export const assertSomeEqual = (actual: Option.Option<unknown>, expected: unknown, label = "value"): void => {
  assertEqual(assertSome(actual, label), expected, label)
}

export const assertNone = (actual: Option.Option<unknown>, label = "value"): void => {
  assert.isTrue(Option.isNone(actual), `${label}: expected none, got ${show(actual)}`)
}

export const assertBytes = (actual: unknown, expected: Uint8Array, label = "bytes"): void => {
  assert.isTrue(actual instanceof Uint8Array, `${label}: expected a Uint8Array, got ${show(actual)}`)
  const bytes = actual as Uint8Array
  assert.strictEqual(bytes.byteLength, expected.byteLength, `${label}: length`)
  for (let i = 0; i < expected.byteLength; i++) {
    if (bytes[i] !== expected[i]) {
      assert.fail(`${label}: first difference at byte ${i}: expected ${expected[i]}, got ${bytes[i]}`)
    }
  }
}

export const concatBytes = (chunks: ReadonlyArray<Uint8Array>): Uint8Array => {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0))
  let offset = 0
  for (const chunk of chunks) {
    out.set(chunk, offset)
    offset += chunk.byteLength
  }
  return out
}

export const collectBytes = <E, R>(stream: Stream.Stream<Uint8Array, E, R>): Effect.Effect<Uint8Array, E, R> =>
  Effect.map(Stream.runCollect(stream), (chunks) => concatBytes(Chunk.toReadonlyArray(chunks)))

/** `size` deterministic pseudo-random bytes (xorshift32), different for each seed. */
export const randomBytes = (size: number, seed = 1): Uint8Array => {
  const out = new Uint8Array(size)
  let x = (seed * 2654435761) >>> 0 || 1
  for (let i = 0; i < size; i++) {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    out[i] = x & 0xff
  }
  return out
}

/** A string of exactly `size` UTF-8 bytes mixing 1-, 2-, 3- and 4-byte characters. */
export const textOfBytes = (size: number): string => {
  const pieces = ["a", "é", "€", "😀", "z", "\n", "日"]
  const out: Array<string> = []
  let n = 0
  let i = 0
  while (n < size) {
    const piece = pieces[i++ % pieces.length]
    const bytes = utf8Bytes(piece)
    if (n + bytes > size) {
      out.push("a".repeat(size - n))
      n = size
    } else {
      out.push(piece)
      n += bytes
    }
  }
  return out.join("")
}

/** Splits bytes into chunks of cycling, odd sizes (views into the same buffer), with an empty chunk among them. */
export const chunksOf = (bytes: Uint8Array): Array<Uint8Array> => {
  const sizes = [1, 7, 4093, 65536, 13, 100003]
  const chunks: Array<Uint8Array> = []
  let offset = 0
  let i = 0
  while (offset < bytes.byteLength) {
    const end = Math.min(bytes.byteLength, offset + sizes[i++ % sizes.length])
    chunks.push(bytes.subarray(offset, end))
    if (chunks.length === 2) chunks.push(new Uint8Array(0))
    offset = end
  }
  return chunks
}

export const asyncIterableOf = async function*(chunks: ReadonlyArray<Uint8Array>): AsyncGenerator<Uint8Array> {
  for (const chunk of chunks) {
    yield chunk
  }
}

export const readableStreamOf = (chunks: ReadonlyArray<Uint8Array>): ReadableStream<Uint8Array> => {
  let i = 0
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (i < chunks.length) {
        controller.enqueue(chunks[i++])
      } else {
        controller.close()
      }
    }
  })
}

export const shapes = ["Uint8Array", "string", "Stream", "AsyncIterable", "ReadableStream"] as const
export type Shape = typeof shapes[number]

/** A fresh `BinaryInput` of one shape holding exactly `size` bytes, and those bytes. */
export const binaryInput = (
  shape: Shape,
  size: number,
  seed = 1
): { readonly input: KonserveStore.BinaryInput; readonly bytes: Uint8Array } => {
  if (shape === "string") {
    const text = textOfBytes(size)
    return { input: text, bytes: utf8.encode(text) }
  }
  const bytes = randomBytes(size, seed)
  switch (shape) {
    case "Uint8Array":
      return { input: bytes.slice(), bytes }
    case "Stream":
      return { input: Stream.fromIterable(chunksOf(bytes)), bytes }
    case "AsyncIterable":
      return { input: asyncIterableOf(chunksOf(bytes)), bytes }
    case "ReadableStream":
      return { input: readableStreamOf(chunksOf(bytes)), bytes }
  }
}

export class StreamBoom extends Data.TaggedError("StreamBoom")<{ readonly reason: string }> {}

export const listKeys: Effect.Effect<ReadonlyArray<KonserveStore.Meta>, KonserveError.KonserveError, Store> = Effect
  .map(
    Stream.runCollect(KonserveStore.keys),
    Chunk.toReadonlyArray
  )

export const keyNames: Effect.Effect<ReadonlyArray<string>, KonserveError.KonserveError, Store> = Effect.map(
  listKeys,
  (metas) => metas.map((meta) => meta.key).sort()
)

/** Everything observable of the store's keys, to compare before and after an operation. */
export const snapshot: Effect.Effect<string, KonserveError.KonserveError, Store> = Effect.map(
  listKeys,
  (metas) =>
    JSON.stringify(
      metas
        .map((m) => [m.key, m.type, m.version, m.size, m.lastWrite.getTime(), m.expiresAt?.getTime() ?? null])
        .sort((a, b) => (String(a[0]) < String(b[0]) ? -1 : 1))
    )
)

export const getMetaSome = (key: string) =>
  Effect.map(KonserveStore.getMeta(key), (meta) => assertSome(meta, `meta of ${key}`))

export const bgetSome = (key: string) =>
  Effect.map(KonserveStore.bget(key), (binary) => assertSome(binary, `bget ${key}`))

export const countOf = (keys: ReadonlyArray<string>, key: string): number => keys.filter((k) => k === key).length

export const increment = (current: Option.Option<unknown>): number =>
  Option.match(current, { onNone: () => 1, onSome: (n) => (n as number) + 1 })

export const range = (n: number): Array<number> => Array.from({ length: n }, (_, i) => i)

/** Sets the TestClock to the wall clock (never backwards) and returns that time. */
export const startClock = Effect.gen(function*() {
  const current = yield* Clock.currentTimeMillis
  const now = Math.max(Date.now(), current + 1)
  yield* TestClock.setTime(now)
  return now
})

export const MiB = 1024 * 1024
