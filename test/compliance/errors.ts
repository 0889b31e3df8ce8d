/**
 * Compliance: SerializationError and InvalidKey. Called from
 * `test/compliance.ts` for every backend.
 */
import { assert, expect } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type * as KonserveError from "../../src/KonserveError.js"
import * as KonserveStore from "../../src/KonserveStore.js"
import { deepEqual } from "../utils/deepEqual.js"
import { invalidKeyArbitrary, invalidKeyOperations, outOfDomain, valueArbitrary } from "./domain.js"
import {
  assertNone,
  assertSomeEqual,
  countOf,
  expectTag,
  failureOf,
  getMetaSome,
  keyNames,
  randomBytes,
  show,
  snapshot,
  uniqueKey
} from "./helpers.js"
import type { Store, Suite } from "./helpers.js"

/** Registers the compliance tests of SerializationError and InvalidKey. */
export const errorsSuite = ({ block, propOptions }: Suite): void => {
  block("SerializationError", (it) => {
    it.effect(
      "a meta too large for one item fails with SerializationError before anything is written",
      () =>
        Effect.gen(function*() {
          const key = uniqueKey("big-meta")
          const meta = { blob: "m".repeat(320 * 1024) }
          for (
            const write of [
              KonserveStore.assoc(key, 1, { meta }),
              KonserveStore.update(key, () => 1, { meta }),
              KonserveStore.bassoc(key, "b", { meta }),
              KonserveStore.multiAssoc([[key, 1]], { meta }),
              KonserveStore.multiAssoc([[key, 1]], { meta, atomic: false })
            ]
          ) {
            const error = yield* expectTag(write, "SerializationError")
            expect(error.message).toContain("meta")
          }
          assertNone(yield* KonserveStore.get(key))
          // a large meta that fits one item is fine
          yield* KonserveStore.assoc(key, 1, { meta: { blob: "m".repeat(200 * 1024) } })
          expect((yield* getMetaSome(key)).user).toEqual({ blob: "m".repeat(200 * 1024) })
        })
    )

    it.effect(
      "an atomic multiAssoc that cannot fit one transaction (100 × 45 KB metas) fails before writing",
      () =>
        Effect.gen(function*() {
          const keys = Array.from({ length: 100 }, (_, i) => uniqueKey(`tx-meta-${i}`))
          const meta = { note: randomBytes(45_000, 71) } // incompressible: metas are stored compressed when they shrink
          const error = yield* expectTag(
            KonserveStore.multiAssoc(keys.map((key) => [key, { small: true }] as const), { meta }),
            "TransactionLimitExceeded"
          )
          expect(error.items).toBe(100)
          expect(error.limit).toBe(100)
          expect(error.bytes).toBeGreaterThan(4_000_000)
          expect(yield* KonserveStore.multiGet(keys)).toEqual(new Map())
          // fewer keys with the same metas fit, and so do all of them one by one
          yield* KonserveStore.multiAssoc(keys.slice(0, 60).map((key) => [key, { small: true }] as const), { meta })
          yield* KonserveStore.multiAssoc(keys.map((key) => [key, { small: true }] as const), { meta, atomic: false })
          expect((yield* KonserveStore.multiGet(keys)).size).toBe(100)
        })
    )

    it.effect(
      "assocIn and updateIn with a path deeper than 512 fail with SerializationError and write nothing",
      () =>
        Effect.gen(function*() {
          const key = uniqueKey("deep-path")
          yield* KonserveStore.assoc(key, { a: 1 })
          for (const depth of [513, 20_000]) {
            const steps = Array.from({ length: depth }, (_, i) => `s${i}`)
            const error = yield* expectTag(KonserveStore.assocIn([key, ...steps], 1), "SerializationError")
            expect(error.message).toContain("512")
            yield* expectTag(KonserveStore.updateIn([key, ...steps], () => 1), "SerializationError")
          }
          assertSomeEqual(yield* KonserveStore.get(key), { a: 1 })
          // a deep path to read is just a path that is not there
          assertNone(yield* KonserveStore.getIn([key, ...Array.from({ length: 20_000 }, () => "a")]))
          // 512 steps with a scalar leaf: the deepest value there is, and it round-trips
          const deepest = Array.from({ length: 511 }, (_, i) => i % 2 === 0 ? "x" : "y")
          yield* KonserveStore.assocIn([uniqueKey("deepest"), ...deepest], 1)
        })
    )

    it.effect(
      "values outside the domain fail with SerializationError on every write and write nothing",
      () =>
        Effect.gen(function*() {
          const existing = uniqueKey("ser-existing")
          yield* KonserveStore.assoc(existing, { keep: 1 })
          const version = (yield* getMetaSome(existing)).version
          for (const [label, bad] of outOfDomain()) {
            const fresh = uniqueKey("ser-fresh")
            const writes: ReadonlyArray<
              readonly [string, string, Effect.Effect<unknown, KonserveError.KonserveError, Store>]
            > = [
              ["assoc", fresh, KonserveStore.assoc(fresh, bad)],
              ["assoc over a value", existing, KonserveStore.assoc(existing, bad)],
              ["assocIn", existing, KonserveStore.assocIn([existing, "keep"], bad)],
              ["update", existing, KonserveStore.update(existing, () => bad)],
              ["updateIn", existing, KonserveStore.updateIn([existing, "keep"], () => bad)],
              ["multiAssoc", fresh, KonserveStore.multiAssoc([[fresh, bad]])]
            ]
            for (const [operation, key, write] of writes) {
              if (label === "undefined" && (operation === "assocIn" || operation === "updateIn")) continue
              const error = yield* expectTag(write, "SerializationError")
              expect(error.key, `${operation} of ${label}`).toBe(key)
              expect(error.message.length).toBeGreaterThan(0)
            }
            expect(yield* KonserveStore.exists(fresh), label).toBe(false)
          }
          assertSomeEqual(yield* KonserveStore.get(existing), { keep: 1 })
          expect((yield* getMetaSome(existing)).version).toBe(version)
        })
    )

    it.effect(
      "a negative, NaN or zero ttl fails with SerializationError on every write that takes one, writing nothing",
      () =>
        Effect.gen(function*() {
          const existing = uniqueKey("ttl-bad-existing")
          yield* KonserveStore.assoc(existing, { n: 1 })
          const version = (yield* getMetaSome(existing)).version
          const typed = KonserveStore.forSchema(Schema.Struct({ n: Schema.Number }))
          // Effect makes Duration.seconds(-5) Duration.zero: zero is refused with the negatives (docs/values.md)
          const bad: ReadonlyArray<Duration.DurationInput> = [
            "-5 seconds",
            Duration.seconds(-5),
            -5000,
            NaN,
            "0 seconds"
          ]
          for (const ttl of bad) {
            const fresh = uniqueKey("ttl-bad-fresh")
            const writes: ReadonlyArray<
              readonly [string, Effect.Effect<unknown, KonserveError.KonserveError, Store>]
            > = [
              ["assoc", KonserveStore.assoc(fresh, 1, { ttl })],
              ["assoc over a value", KonserveStore.assoc(existing, 2, { ttl })],
              ["assocIn", KonserveStore.assocIn([existing, "n"], 2, { ttl })],
              ["update", KonserveStore.update(existing, () => ({ n: 2 }), { ttl })],
              ["updateIn", KonserveStore.updateIn([existing, "n"], () => 2, { ttl })],
              ["multiAssoc", KonserveStore.multiAssoc([[fresh, 1]], { ttl })],
              ["multiAssoc atomic: false", KonserveStore.multiAssoc([[fresh, 1]], { ttl, atomic: false })],
              ["bassoc", KonserveStore.bassoc(fresh, "bytes", { ttl })],
              ["bassoc of a stream", KonserveStore.bassoc(fresh, Stream.make(new Uint8Array([1, 2])), { ttl })],
              ["typed assoc", Effect.flatMap(typed, (t) => t.assoc(fresh, { n: 1 }, { ttl }))],
              ["typed update", Effect.flatMap(typed, (t) => t.update(existing, () => ({ n: 2 }), { ttl }))],
              ["typed multiAssoc", Effect.flatMap(typed, (t) => t.multiAssoc([[fresh, { n: 1 }]], { ttl }))]
            ]
            for (const [operation, write] of writes) {
              const error = yield* expectTag(write, "SerializationError")
              expect(error.message, `${operation}, ttl ${String(ttl)}`).toMatch(
                /ttl .*(negative|zero|not a Duration)/
              )
            }
            expect(yield* KonserveStore.exists(fresh), String(ttl)).toBe(false)
          }
          assertSomeEqual(yield* KonserveStore.get(existing), { n: 1 })
          expect((yield* getMetaSome(existing)).version).toBe(version)
          // the smallest ttl there is still writes, and Duration.infinity means none
          yield* KonserveStore.assoc(existing, { n: 3 }, { ttl: "1 minute" })
          expect((yield* getMetaSome(existing)).expiresAt).toBeInstanceOf(Date)
        })
    )

    it.effect("update whose f returns undefined fails with SerializationError", () =>
      Effect.gen(function*() {
        const key = uniqueKey("ser-undefined")
        yield* KonserveStore.assoc(key, 1)
        yield* expectTag(KonserveStore.update(key, () => undefined), "SerializationError")
        assertSomeEqual(yield* KonserveStore.get(key), 1)
      }))

    it.effect(
      "update or updateIn whose f returns an Option, an Either or an Effect fails with SerializationError saying so",
      () =>
        Effect.gen(function*() {
          const key = uniqueKey("ser-wrapped")
          yield* KonserveStore.assoc(key, { a: 1 })
          const { version } = yield* getMetaSome(key)
          const cases: ReadonlyArray<readonly [string, (current: Option.Option<unknown>) => unknown, string]> = [
            ["the Option it received", (current) => current, "returned an Option (Option.some/none)"],
            ["Option.some", (current) => Option.map(current, () => 2), "returned an Option (Option.some/none)"],
            ["Option.none", () => Option.none(), "returned an Option (Option.some/none)"],
            ["Either.right", () => Either.right(2), "returned an Either"],
            ["Effect.succeed", () => Effect.succeed(2), "returned an Effect"]
          ]
          for (const [label, f, says] of cases) {
            for (
              const [operation, write] of [
                ["update", KonserveStore.update(key, f)],
                ["updateIn", KonserveStore.updateIn([key, "a"], f)]
              ] as const
            ) {
              const error = yield* expectTag(write, "SerializationError")
              expect(error.key, `${operation} of ${label}`).toBe(key)
              expect(error.message, `${operation} of ${label}`).toContain(`${operation}'s function ${says}`)
              if (says.includes("Effect")) {
                expect(error.message, `${operation} of ${label}`).toContain(
                  `${operation} takes a pure function — run the effect first`
                )
              } else {
                expect(error.message, `${operation} of ${label}`).toContain("return the new value itself")
              }
            }
          }
          assertSomeEqual(yield* KonserveStore.get(key), { a: 1 }, "unchanged")
          expect((yield* getMetaSome(key)).version, "nothing written").toBe(version)
          // nested, the codec names it too
          const nested = yield* expectTag(KonserveStore.assoc(key, { o: Option.some(1) }), "SerializationError")
          expect(nested.message).toContain("an Option (Option.some/none) at $.o")
        })
    )
  })

  block("InvalidKey", (it) => {
    const invalidKeys: ReadonlyArray<readonly [string, unknown]> = [
      ["the empty string", ""],
      ["1025 one-byte characters", "a".repeat(1025)],
      ["342 × \"€\" (1026 UTF-8 bytes, 342 UTF-16 units)", "€".repeat(342)],
      ["1023 × \"a\" + \"é\" (1025 UTF-8 bytes)", "a".repeat(1023) + "é"],
      ["a number", 42],
      ["null", null],
      ["undefined", undefined],
      ["an object", { key: "a" }],
      ["an array", ["a"]],
      ["a bigint", 1n],
      ["a symbol", Symbol("key")]
    ]
    for (const [label, bad] of invalidKeys) {
      it.effect(
        `${label} fails with InvalidKey in every operation and nothing is written`,
        () =>
          Effect.gen(function*() {
            const existing = uniqueKey("invalid-existing")
            yield* KonserveStore.assoc(existing, "keep")
            const before = yield* snapshot
            let calls = 0
            const fresh: Array<string> = []
            const operations = invalidKeyOperations(
              bad,
              () => {
                const key = uniqueKey("invalid-fresh")
                fresh.push(key)
                return key
              },
              existing,
              () => calls++
            )
            for (const [operation, effect] of operations) {
              const error = yield* expectTag(
                Effect.mapError(effect, (e) => e as KonserveError.KonserveError),
                "InvalidKey"
              )
              assert.isTrue(deepEqual(error.key, bad), `${operation}: InvalidKey.key is ${show(error.key)}`)
              expect(typeof error.reason, operation).toBe("string")
              expect(error.reason.length, operation).toBeGreaterThan(0)
              expect(error.message.length, operation).toBeGreaterThan(0)
            }
            expect(calls, "update's f ran").toBe(0)
            expect(yield* snapshot).toBe(before)
            expect((yield* KonserveStore.multiGet(fresh)).size).toBe(0)
            assertSomeEqual(yield* KonserveStore.get(existing), "keep")
            yield* KonserveStore.dissoc(existing)
          })
      )
    }

    it.effect("an empty path fails with InvalidKey", () =>
      Effect.gen(function*() {
        const before = yield* snapshot
        const empty = [] as unknown as KonserveStore.Path
        yield* expectTag(KonserveStore.getIn(empty), "InvalidKey")
        yield* expectTag(KonserveStore.assocIn(empty, 1), "InvalidKey")
        yield* expectTag(KonserveStore.updateIn(empty, () => 1), "InvalidKey")
        expect(yield* snapshot).toBe(before)
      }))

    it.effect.prop(
      "random invalid keys are always rejected and nothing is written (property)",
      { bad: invalidKeyArbitrary, pick: FastCheck.nat() },
      ({ bad, pick }) =>
        Effect.gen(function*() {
          const before = yield* snapshot
          const operations = invalidKeyOperations(
            bad,
            () => uniqueKey("prop-fresh"),
            uniqueKey("prop-missing"),
            () => {}
          )
          const [operation, effect] = operations[pick % operations.length]
          const error = yield* failureOf(effect)
          assert.strictEqual((error as { _tag?: unknown })._tag, "InvalidKey", `${operation}: ${show(error)}`)
          expect(yield* snapshot).toBe(before)
        }),
      propOptions(40)
    )

    it.effect.prop(
      "any string of 1 to 1024 UTF-8 bytes is a valid key that round-trips and is listed (property)",
      { key: FastCheck.string({ unit: "binary", minLength: 1, maxLength: 200 }), value: valueArbitrary },
      ({ key, value }) =>
        Effect.gen(function*() {
          yield* KonserveStore.assoc(key, value)
          assertSomeEqual(yield* KonserveStore.get(key), value, show(key))
          expect(countOf(yield* keyNames, key)).toBe(1)
          expect(yield* KonserveStore.dissoc(key)).toBe(true)
        }),
      propOptions(30)
    )
  })
}
