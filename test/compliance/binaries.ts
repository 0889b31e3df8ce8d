/**
 * Compliance: binaries, and the value size limit. Called from
 * `test/compliance.ts` for every backend.
 */
import { assert, expect } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import * as KonserveError from "../../src/KonserveError.js"
import * as KonserveStore from "../../src/KonserveStore.js"
import { deepEqual } from "../utils/deepEqual.js"
import {
  assertBytes,
  assertNone,
  assertSome,
  assertSomeEqual,
  bgetSome,
  binaryInput,
  chunksOf,
  collectBytes,
  countOf,
  expectTag,
  failureOf,
  getMetaSome,
  keyNames,
  MiB,
  randomBytes,
  range,
  shapes,
  show,
  StreamBoom,
  uniqueKey,
  utf8,
  utf8Bytes
} from "./helpers.js"
import type { Suite } from "./helpers.js"

/** Registers the compliance tests of binaries, and the value size limit. */
export const binariesSuite = ({ block, makeLayer }: Suite): void => {
  block("binaries", (it) => {
    const sizes: ReadonlyArray<readonly [string, number]> = [
      ["0 bytes", 0],
      ["1 byte", 1],
      ["~3 MiB", 3 * MiB + 12_345]
    ]
    for (const shape of shapes) {
      for (const [label, size] of sizes) {
        it.effect(
          `bassoc from ${shape} of ${label}: bget yields exactly those bytes, get one Uint8Array`,
          () =>
            Effect.gen(function*() {
              const key = uniqueKey(`bin-${shape}`)
              const { bytes, input } = binaryInput(shape, size, size + 3)
              yield* KonserveStore.bassoc(key, input)
              const binary = yield* bgetSome(key)
              expect(binary.size).toBe(bytes.byteLength)
              expect(binary.meta.key).toBe(key)
              expect(binary.meta.type).toBe("binary")
              expect(binary.meta.size).toBe(bytes.byteLength)
              assertBytes(yield* collectBytes(binary.stream), bytes, "bget stream")
              assertBytes(assertSome(yield* KonserveStore.get(key)), bytes, "get")
              expect(yield* KonserveStore.exists(key)).toBe(true)
              expect(yield* KonserveStore.dissoc(key)).toBe(true)
              assertNone(yield* KonserveStore.bget(key))
            })
        )
      }
    }

    it.effect("the string input is stored as its UTF-8 bytes", () =>
      Effect.gen(function*() {
        const key = uniqueKey("bin-utf8")
        yield* KonserveStore.bassoc(key, "h€llo 😀")
        assertBytes(assertSome(yield* KonserveStore.get(key)), utf8.encode("h€llo 😀"))
        expect((yield* bgetSome(key)).size).toBe(utf8Bytes("h€llo 😀"))
      }))

    it.effect("a binary's stream can be run twice with the same bytes", () =>
      Effect.gen(function*() {
        const key = uniqueKey("bin-twice")
        const bytes = randomBytes(1_000_000, 11)
        yield* KonserveStore.bassoc(key, bytes)
        const binary = yield* bgetSome(key)
        assertBytes(yield* collectBytes(binary.stream), bytes, "first run")
        assertBytes(yield* collectBytes(binary.stream), bytes, "second run")
      }))

    it.effect("bytes given to bassoc and bytes read back are copies", () =>
      Effect.gen(function*() {
        const key = uniqueKey("bin-copy")
        const bytes = new Uint8Array([1, 2, 3])
        yield* KonserveStore.bassoc(key, bytes)
        bytes[0] = 99
        const read = assertSome(yield* KonserveStore.get(key)) as Uint8Array
        assertBytes(read, new Uint8Array([1, 2, 3]), "after mutating the input")
        read[1] = 99
        const chunks = yield* Stream.runCollect((yield* bgetSome(key)).stream)
        Chunk.forEach(chunks, (chunk) => chunk.fill(0))
        assertBytes(assertSome(yield* KonserveStore.get(key)), new Uint8Array([1, 2, 3]), "after mutating reads")
      }))

    it.effect("bget of a value key, a log key or a missing key is none", () =>
      Effect.gen(function*() {
        const value = uniqueKey("bget-value")
        const log = uniqueKey("bget-log")
        yield* KonserveStore.assoc(value, new Uint8Array([1, 2]))
        yield* KonserveStore.append(log, new Uint8Array([1, 2]))
        assertNone(yield* KonserveStore.bget(value), "bget of a value (even of bytes)")
        assertNone(yield* KonserveStore.bget(log), "bget of a log")
        assertNone(yield* KonserveStore.bget(uniqueKey("bget-missing")), "bget of a missing key")
      }))

    it.effect(
      "bassoc over a value replaces it with a binary, assoc over a binary with a value",
      () =>
        Effect.gen(function*() {
          const key = uniqueKey("bin-replace")
          yield* KonserveStore.assoc(key, { v: 1 })
          yield* KonserveStore.bassoc(key, new Uint8Array([5]))
          expect((yield* getMetaSome(key)).type).toBe("binary")
          assertBytes(assertSome(yield* KonserveStore.get(key)), new Uint8Array([5]))
          yield* KonserveStore.assoc(key, { v: 2 })
          assertNone(yield* KonserveStore.bget(key))
          assertSomeEqual(yield* KonserveStore.get(key), { v: 2 })
          yield* KonserveStore.bassoc(key, randomBytes(2 * MiB, 3))
          yield* KonserveStore.bassoc(key, "small again")
          assertBytes(assertSome(yield* KonserveStore.get(key)), utf8.encode("small again"))
        })
    )

    it.effect(
      "bassoc from a failing Stream fails with the stream's own error and keeps the old value",
      () =>
        Effect.gen(function*() {
          const key = uniqueKey("bin-failing")
          const old = randomBytes(600_000, 21)
          yield* KonserveStore.bassoc(key, old)
          const version = (yield* getMetaSome(key)).version
          const failing = Stream.fromIterable(chunksOf(randomBytes(2 * MiB, 22))).pipe(
            Stream.concat(Stream.fail(new StreamBoom({ reason: "disk on fire" })))
          )
          const error = yield* failureOf(KonserveStore.bassoc(key, failing))
          assert.instanceOf(error, StreamBoom)
          expect((error as StreamBoom).reason).toBe("disk on fire")
          assertBytes(yield* collectBytes((yield* bgetSome(key)).stream), old, "the old binary")
          expect((yield* getMetaSome(key)).version).toBe(version)
          expect(countOf(yield* keyNames, key)).toBe(1)
          const fresh = uniqueKey("bin-failing-fresh")
          yield* failureOf(KonserveStore.bassoc(fresh, Stream.fail(new StreamBoom({ reason: "at once" }))))
          expect(yield* KonserveStore.exists(fresh)).toBe(false)
          expect(countOf(yield* keyNames, fresh)).toBe(0)
        })
    )

    it.effect(
      "an interrupted bassoc leaves the old value intact and the key listed once",
      () =>
        Effect.gen(function*() {
          const key = uniqueKey("bin-interrupted")
          const old = randomBytes(500_000, 31)
          yield* KonserveStore.bassoc(key, old)
          const version = (yield* getMetaSome(key)).version
          const pulled = yield* Deferred.make<void>()
          const endless = Stream.fromIterable(chunksOf(randomBytes(2 * MiB, 32))).pipe(
            Stream.concat(Stream.drain(Stream.fromEffect(Deferred.succeed(pulled, undefined)))),
            Stream.concat(Stream.never)
          )
          const fiber = yield* Effect.fork(KonserveStore.bassoc(key, endless))
          yield* Deferred.await(pulled)
          yield* Fiber.interrupt(fiber)
          assertBytes(yield* collectBytes((yield* bgetSome(key)).stream), old, "the old binary")
          expect((yield* getMetaSome(key)).version).toBe(version)
          expect(countOf(yield* keyNames, key)).toBe(1)
        })
    )

    it.effect(
      "a read overlapping a rewrite of a binary sees the old or the new bytes whole",
      () =>
        Effect.gen(function*() {
          const key = uniqueKey("bin-overlap")
          const a = randomBytes(1_200_000, 41)
          const b = randomBytes(1_200_000, 42)
          yield* KonserveStore.bassoc(key, a)
          const writer = Effect.forEach(range(4), (i) => KonserveStore.bassoc(key, i % 2 === 0 ? b : a), {
            discard: true
          })
          const read = Effect.flatMap(bgetSome(key), (binary) => collectBytes(binary.stream))
          const reader = Effect.forEach(range(8), () => Effect.either(read))
          const [, reads] = yield* Effect.all([writer, reader], { concurrency: "unbounded" })
          for (const result of reads) {
            if (Either.isLeft(result)) {
              assert.isTrue(KonserveError.isKonserveError(result.left), `an untyped failure: ${show(result.left)}`)
            } else {
              assert.isTrue(deepEqual(result.right, a) || deepEqual(result.right, b), "a read saw mixed bytes")
            }
          }
        })
    )
  })

  const limit = MiB
  block("maxValueBytes (a store with maxValueBytes: 1 MiB)", (it) => {
    it.effect("bassoc of exactly maxValueBytes succeeds", () =>
      Effect.gen(function*() {
        const key = uniqueKey("limit-exact")
        const bytes = randomBytes(limit, 51)
        yield* KonserveStore.bassoc(key, Stream.fromIterable(chunksOf(bytes)))
        expect((yield* bgetSome(key)).size).toBe(limit)
        assertBytes(assertSome(yield* KonserveStore.get(key)), bytes)
      }))

    for (const shape of shapes) {
      it.effect(
        `bassoc from ${shape} over maxValueBytes fails with ItemTooLarge and keeps the old value`,
        () =>
          Effect.gen(function*() {
            const key = uniqueKey(`limit-${shape}`)
            const old = randomBytes(1000, 52)
            yield* KonserveStore.bassoc(key, old)
            const version = (yield* getMetaSome(key)).version
            const streamed = shape === "Stream" || shape === "AsyncIterable" || shape === "ReadableStream"
            const size = streamed ? 2 * limit : limit + 1
            const { input } = binaryInput(shape, size, 53)
            const error = yield* expectTag(KonserveStore.bassoc(key, input), "ItemTooLarge")
            expect(error.key).toBe(key)
            expect(error.limit).toBe(limit)
            if (streamed) {
              expect(error.size).toBeGreaterThan(limit)
              expect(error.size).toBeLessThanOrEqual(size)
            } else {
              expect(error.size).toBe(limit + 1)
            }
            expect(error.message).toContain(String(limit))
            expect(error.message).toContain(key)
            assertBytes(yield* collectBytes((yield* bgetSome(key)).stream), old, "the old binary")
            expect((yield* getMetaSome(key)).version).toBe(version)
            expect(countOf(yield* keyNames, key)).toBe(1)
          })
      )
    }

    it.effect(
      "sizes count encoded bytes before compression: a 2 MiB run of one letter is too large, whatever it deflates to",
      () =>
        Effect.gen(function*() {
          const key = uniqueKey("limit-compressible")
          const tooLarge = yield* expectTag(KonserveStore.assoc(key, "x".repeat(2 * limit)), "ItemTooLarge")
          expect(tooLarge.size).toBeGreaterThan(2 * limit)
          yield* expectTag(KonserveStore.append(key, "x".repeat(2 * limit)), "ItemTooLarge")
          yield* expectTag(KonserveStore.update(key, () => "x".repeat(2 * limit)), "ItemTooLarge")
          assertNone(yield* KonserveStore.get(key))
          // Meta.size is the size before compression too
          yield* KonserveStore.assoc(key, "x".repeat(100_000))
          expect((yield* getMetaSome(key)).size).toBe(4 + 5 + 100_000) // header, text head (0x7a + 4 bytes), text
        })
    )

    it.effect(
      "assoc of a value whose encoding exceeds maxValueBytes fails with ItemTooLarge",
      () =>
        Effect.gen(function*() {
          const key = uniqueKey("limit-value")
          yield* KonserveStore.assoc(key, "old")
          const error = yield* expectTag(KonserveStore.assoc(key, randomBytes(limit + 10, 54)), "ItemTooLarge")
          expect(error.key).toBe(key)
          expect(error.limit).toBe(limit)
          expect(error.size).toBeGreaterThan(limit)
          assertSomeEqual(yield* KonserveStore.get(key), "old")
          const fresh = uniqueKey("limit-value-fresh")
          yield* expectTag(KonserveStore.assoc(fresh, { bytes: randomBytes(limit, 55) }), "ItemTooLarge")
          expect(yield* KonserveStore.exists(fresh)).toBe(false)
        })
    )

    it.effect(
      "update, assocIn and atomic multiAssoc over maxValueBytes fail with ItemTooLarge and change nothing",
      () =>
        Effect.gen(function*() {
          const key = uniqueKey("limit-update")
          yield* KonserveStore.assoc(key, { small: true })
          yield* expectTag(KonserveStore.update(key, () => randomBytes(limit + 1, 56)), "ItemTooLarge")
          yield* expectTag(KonserveStore.assocIn([key, "big"], randomBytes(limit + 1, 57)), "ItemTooLarge")
          assertSomeEqual(yield* KonserveStore.get(key), { small: true })
          const fresh = uniqueKey("limit-multi")
          yield* expectTag(
            KonserveStore.multiAssoc([[fresh, 1], [key, randomBytes(limit + 1, 58)]]),
            "ItemTooLarge"
          )
          assertNone(yield* KonserveStore.get(fresh))
          assertSomeEqual(yield* KonserveStore.get(key), { small: true })
        })
    )
  }, makeLayer({ maxValueBytes: limit }))
}
