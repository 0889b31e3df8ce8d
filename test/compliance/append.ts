/**
 * Compliance: append logs. Called from `test/compliance.ts` for every
 * backend.
 */
import { expect } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as KonserveStore from "../../src/KonserveStore.js"
import { domainValues, outOfDomain } from "./domain.js"
import {
  assertBytes,
  assertNone,
  assertSome,
  assertSomeEqual,
  expectTag,
  getMetaSome,
  randomBytes,
  range,
  uniqueKey
} from "./helpers.js"
import type { Suite } from "./helpers.js"

/** Registers the compliance tests of append logs. */
export const appendSuite = ({ block }: Suite): void => {
  block("append logs", (it) => {
    it.effect(
      "append keeps order; log returns the elements; reduceLog folds them in order",
      () =>
        Effect.gen(function*() {
          const key = uniqueKey("log")
          for (const element of ["a", "b", "c", "d"]) yield* KonserveStore.append(key, element)
          assertSomeEqual(yield* KonserveStore.log(key), ["a", "b", "c", "d"])
          expect(yield* KonserveStore.reduceLog(key, "", (acc, element) => acc + String(element))).toBe("abcd")
          expect(yield* KonserveStore.reduceLog(key, 0, (acc) => acc + 1)).toBe(4)
        })
    )

    it.effect(
      "log of a missing key is none; reduceLog of a missing key is the initial value",
      () =>
        Effect.gen(function*() {
          const key = uniqueKey("log-missing")
          assertNone(yield* KonserveStore.log(key))
          let calls = 0
          const initial = { untouched: true }
          const result = yield* KonserveStore.reduceLog(key, initial, (acc) => {
            calls++
            return acc
          })
          expect(result).toBe(initial)
          expect(calls).toBe(0)
        })
    )

    it.effect("log elements of every domain kind round-trip", () =>
      Effect.gen(function*() {
        const key = uniqueKey("log-domain")
        const elements = domainValues.map(([, value]) => value)
        for (const element of elements) yield* KonserveStore.append(key, element)
        assertSomeEqual(yield* KonserveStore.log(key), elements)
      }))

    it.effect(
      "log elements larger than one DynamoDB item (400 KB) are stored transparently",
      () =>
        Effect.gen(function*() {
          const key = uniqueKey("log-large")
          const big = randomBytes(600_000, 95)
          yield* KonserveStore.append(key, "small")
          yield* KonserveStore.append(key, { big })
          yield* KonserveStore.append(key, "after")
          assertSomeEqual(yield* KonserveStore.log(key), ["small", { big }, "after"])
          expect((yield* getMetaSome(key)).size).toBe(3)
          expect(yield* KonserveStore.dissoc(key)).toBe(true)
          assertNone(yield* KonserveStore.log(key))
        })
    )

    it.effect("concurrent appends (20 fibers) are all present, each once", () =>
      Effect.gen(function*() {
        const key = uniqueKey("log-concurrent")
        yield* Effect.all(
          range(20).map((i) =>
            KonserveStore.append(key, i).pipe(
              Effect.retry({ while: (error) => error._tag === "ConditionFailed", times: 30 })
            )
          ),
          { concurrency: "unbounded" }
        )
        const elements = assertSome(yield* KonserveStore.log(key)) as ReadonlyArray<number>
        expect([...elements].sort((a, b) => a - b)).toEqual(range(20))
        expect((yield* getMetaSome(key)).size).toBe(20)
      }))

    it.effect("get of a log key yields the array of its elements", () =>
      Effect.gen(function*() {
        const key = uniqueKey("log-get")
        yield* KonserveStore.append(key, { n: 1 })
        yield* KonserveStore.append(key, 2n)
        assertSomeEqual(yield* KonserveStore.get(key), [{ n: 1 }, 2n])
        expect(yield* KonserveStore.exists(key)).toBe(true)
      }))

    it.effect("log of a value key or a binary key is none", () =>
      Effect.gen(function*() {
        const value = uniqueKey("log-of-value")
        const binary = uniqueKey("log-of-binary")
        yield* KonserveStore.assoc(value, [1, 2])
        yield* KonserveStore.bassoc(binary, "bytes")
        assertNone(yield* KonserveStore.log(value), "log of a value")
        assertNone(yield* KonserveStore.log(binary), "log of a binary")
        expect(yield* KonserveStore.reduceLog(value, "init", (acc) => acc + "!")).toBe("init")
      }))

    it.effect(
      "append to a key holding a value or a binary fails with ConditionFailed and changes nothing",
      () =>
        Effect.gen(function*() {
          const value = uniqueKey("append-value")
          const binary = uniqueKey("append-binary")
          yield* KonserveStore.assoc(value, [1, 2])
          yield* KonserveStore.bassoc(binary, new Uint8Array([7]))
          const error = yield* expectTag(KonserveStore.append(value, 3), "ConditionFailed")
          expect(error.key).toBe(value)
          expect(error.operation).toMatch(/append/)
          yield* expectTag(KonserveStore.append(binary, 3), "ConditionFailed")
          assertSomeEqual(yield* KonserveStore.get(value), [1, 2])
          expect((yield* getMetaSome(value)).type).toBe("value")
          assertBytes(assertSome(yield* KonserveStore.get(binary)), new Uint8Array([7]))
        })
    )

    it.effect(
      "append of an out-of-domain element fails with SerializationError and appends nothing",
      () =>
        Effect.gen(function*() {
          const key = uniqueKey("append-bad")
          yield* KonserveStore.append(key, 1)
          for (const [label, element] of outOfDomain()) {
            const error = yield* expectTag(KonserveStore.append(key, element), "SerializationError")
            expect(error.key, label).toBe(key)
          }
          assertSomeEqual(yield* KonserveStore.log(key), [1])
          const fresh = uniqueKey("append-bad-fresh")
          yield* expectTag(KonserveStore.append(fresh, () => 1), "SerializationError")
          assertNone(yield* KonserveStore.log(fresh))
          expect(yield* KonserveStore.exists(fresh)).toBe(false)
        })
    )

    it.effect("dissoc removes a log; assoc over a log replaces it with a value", () =>
      Effect.gen(function*() {
        const key = uniqueKey("log-replace")
        yield* KonserveStore.append(key, 1)
        yield* KonserveStore.assoc(key, "value now")
        assertNone(yield* KonserveStore.log(key))
        assertSomeEqual(yield* KonserveStore.get(key), "value now")
        expect((yield* getMetaSome(key)).type).toBe("value")
        yield* KonserveStore.dissoc(key)
        yield* KonserveStore.append(key, "x")
        expect(yield* KonserveStore.dissoc(key)).toBe(true)
        assertNone(yield* KonserveStore.log(key))
        yield* KonserveStore.append(key, "fresh")
        assertSomeEqual(yield* KonserveStore.log(key), ["fresh"], "a log made again starts empty")
      }))
  })
}
