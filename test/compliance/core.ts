/**
 * Compliance: the core operations (get, assoc, exists, dissoc) and the paths
 * (getIn, assocIn, update, updateIn). Called from `test/compliance.ts` for
 * every backend.
 */
import { assert, expect } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as KonserveError from "../../src/KonserveError.js"
import * as KonserveStore from "../../src/KonserveStore.js"
import { deepEqual } from "../utils/deepEqual.js"
import { choosePath, domainValues, setIn, treeArbitrary, valueArbitrary } from "./domain.js"
import {
  assertEqual,
  assertNone,
  assertSome,
  assertSomeEqual,
  getMetaSome,
  increment,
  keyNames,
  randomBytes,
  range,
  runId,
  show,
  textOfBytes,
  uniqueKey,
  utf8Bytes
} from "./helpers.js"
import type { Suite } from "./helpers.js"

/** Registers the compliance tests of the core operations (get, assoc, exists, dissoc) and the paths (getIn, assocIn, update, updateIn). */
export const coreSuite = ({ block, makeLayer, propOptions }: Suite): void => {
  block("core: get, assoc, exists, dissoc", (it) => {
    it.effect("get of a missing key is none, exists is false, getMeta is none", () =>
      Effect.gen(function*() {
        const key = uniqueKey("missing")
        assertNone(yield* KonserveStore.get(key), "get")
        assertNone(yield* KonserveStore.getMeta(key), "getMeta")
        expect(yield* KonserveStore.exists(key)).toBe(false)
      }))

    it.effect(
      "assoc then get (read-your-writes) and exists; dissoc is true then false",
      () =>
        Effect.gen(function*() {
          const key = uniqueKey("core")
          yield* KonserveStore.assoc(key, { name: "banana", n: 1 })
          assertSomeEqual(yield* KonserveStore.get(key), { name: "banana", n: 1 })
          expect(yield* KonserveStore.exists(key)).toBe(true)
          expect(yield* KonserveStore.dissoc(key)).toBe(true)
          assertNone(yield* KonserveStore.get(key), "get after dissoc")
          expect(yield* KonserveStore.exists(key)).toBe(false)
          expect(yield* KonserveStore.dissoc(key)).toBe(false)
        })
    )

    it.effect(
      "assoc overwrites the previous value; the service and its accessors agree",
      () =>
        Effect.gen(function*() {
          const store = yield* KonserveStore.KonserveStore
          const key = uniqueKey("overwrite")
          yield* store.assoc(key, 1)
          yield* KonserveStore.assoc(key, [2])
          assertSomeEqual(yield* store.get(key), [2])
          assertSomeEqual(yield* KonserveStore.get(key), [2])
        })
    )

    it.effect(
      "a value of every kind of the domain round-trips through get and multiGet",
      () =>
        Effect.gen(function*() {
          const keys = new Map<string, unknown>()
          for (const [label, value] of domainValues) {
            const key = uniqueKey(`domain-${label}`)
            keys.set(key, value)
            yield* KonserveStore.assoc(key, value)
            assertSomeEqual(yield* KonserveStore.get(key), value, label)
          }
          const many = yield* KonserveStore.multiGet(keys.keys())
          expect(many.size).toBe(keys.size)
          for (const [key, value] of keys) {
            assertEqual(many.get(key), value, `multiGet ${key}`)
          }
        })
    )

    it.effect("-0, NaN and bigints keep their exact kind", () =>
      Effect.gen(function*() {
        const key = uniqueKey("kinds")
        yield* KonserveStore.assoc(key, [-0, NaN, 1n, 2n ** 65n, 1])
        const read = assertSome(yield* KonserveStore.get(key)) as ReadonlyArray<unknown>
        expect(Object.is(read[0], -0)).toBe(true)
        expect(Number.isNaN(read[1])).toBe(true)
        expect(typeof read[2]).toBe("bigint")
        expect(read[3]).toBe(2n ** 65n)
        expect(typeof read[4]).toBe("number")
      }))

    it.effect("what get returns is a fresh copy: mutating it changes nothing stored", () =>
      Effect.gen(function*() {
        const key = uniqueKey("copy-read")
        const make = () => ({
          list: [1, 2],
          map: new Map([["a", 1]]),
          set: new Set([1]),
          bytes: new Uint8Array([1, 2, 3]),
          date: new Date(1000),
          inner: { n: 1 }
        })
        const original = make()
        yield* KonserveStore.assoc(key, original)
        const first = assertSome(yield* KonserveStore.get(key)) as typeof original
        first.list.push(3)
        first.map.set("b", 2)
        first.set.add(2)
        first.bytes[0] = 99
        first.date.setTime(5)
        first.inner.n = 2
        ;(first as Record<string, unknown>).added = true
        assertSomeEqual(yield* KonserveStore.get(key), make(), "after mutating a read")
        const inner = assertSome(yield* KonserveStore.getIn([key, "inner"])) as { n: number }
        inner.n = 3
        assertSomeEqual(yield* KonserveStore.getIn([key, "inner", "n"]), 1, "after mutating a getIn result")
      }))

    it.effect(
      "what assoc stores is a copy: mutating the written value afterwards changes nothing stored",
      () =>
        Effect.gen(function*() {
          const key = uniqueKey("copy-write")
          const value = { list: [1, 2], map: new Map([["a", 1]]), bytes: new Uint8Array([1, 2, 3]) }
          yield* KonserveStore.assoc(key, value)
          value.list.push(3)
          value.map.set("b", 2)
          value.bytes[0] = 99
          assertSomeEqual(yield* KonserveStore.get(key), {
            list: [1, 2],
            map: new Map([["a", 1]]),
            bytes: new Uint8Array([1, 2, 3])
          })
        })
    )

    it.effect(
      "keys of 1024 UTF-8 bytes are valid; keys that extend each other are distinct",
      () =>
        Effect.gen(function*() {
          const ascii = "a".repeat(1024 - runId.length) + runId
          const euro = "€".repeat(341) + "a"
          expect(utf8Bytes(ascii)).toBe(1024)
          expect(utf8Bytes(euro)).toBe(1024)
          yield* KonserveStore.assoc(ascii, "ascii")
          yield* KonserveStore.assoc(euro, "euro")
          assertSomeEqual(yield* KonserveStore.get(ascii), "ascii")
          assertSomeEqual(yield* KonserveStore.get(euro), "euro")
          const base = uniqueKey("t")
          yield* KonserveStore.multiAssoc([[base, 0], [`${base}/x`, 1], [`${base}2`, 2]])
          expect(yield* KonserveStore.dissoc(base)).toBe(true)
          assertNone(yield* KonserveStore.get(base))
          assertSomeEqual(yield* KonserveStore.get(`${base}/x`), 1)
          assertSomeEqual(yield* KonserveStore.get(`${base}2`), 2)
          yield* KonserveStore.multiDissoc([ascii, euro])
        })
    )

    it.effect("a value larger than one DynamoDB item (400 KB) is stored transparently", () =>
      Effect.gen(function*() {
        const key = uniqueKey("large")
        const value = { text: textOfBytes(900_000), bytes: randomBytes(700_000, 7), list: range(20_000) }
        yield* KonserveStore.assoc(key, value)
        assertSomeEqual(yield* KonserveStore.get(key), value)
        const meta = yield* getMetaSome(key)
        expect(meta.size).toBeGreaterThan(700_000) // the random bytes alone do not compress
        expect(yield* KonserveStore.dissoc(key)).toBe(true)
        assertNone(yield* KonserveStore.get(key))
      }))

    it.effect(
      "a read overlapping a rewrite of the same key sees the old or the new value whole",
      () =>
        Effect.gen(function*() {
          const key = uniqueKey("overlap")
          const a = { bytes: randomBytes(600_000, 81), tag: "a" }
          const b = { bytes: randomBytes(600_000, 82), tag: "b" }
          yield* KonserveStore.assoc(key, a)
          const writer = Effect.forEach(range(6), (i) => KonserveStore.assoc(key, i % 2 === 0 ? b : a), {
            discard: true
          })
          const reader = Effect.forEach(range(12), () => Effect.either(KonserveStore.get(key)))
          const [, reads] = yield* Effect.all([writer, reader], { concurrency: "unbounded" })
          for (const read of reads) {
            if (Either.isLeft(read)) {
              assert.isTrue(KonserveError.isKonserveError(read.left), `an untyped failure: ${show(read.left)}`)
            } else {
              const value = assertSome(read.right)
              assert.isTrue(deepEqual(value, a) || deepEqual(value, b), "a read saw a mix or a truncated value")
            }
          }
        })
    )

    it.scoped("stores made by makeLayer are isolated from each other", () =>
      Effect.gen(function*() {
        const other = yield* Layer.build(makeLayer())
        const key = uniqueKey("isolated")
        yield* KonserveStore.assoc(key, "here")
        assertNone(yield* Effect.provide(KonserveStore.get(key), other), "the other store sees the key")
        expect(yield* Effect.provide(keyNames, other)).toEqual([])
        yield* Effect.provide(KonserveStore.assoc(key, "there"), other)
        assertSomeEqual(yield* KonserveStore.get(key), "here")
        assertSomeEqual(yield* Effect.provide(KonserveStore.get(key), other), "there")
      }))
  })

  block("paths: getIn, assocIn, update, updateIn", (it) => {
    it.effect(
      "assocIn creates missing intermediate objects, on a missing key and inside a value",
      () =>
        Effect.gen(function*() {
          const fresh = uniqueKey("assocIn-fresh")
          yield* KonserveStore.assocIn([fresh, "a", "b", "c"], 1)
          assertSomeEqual(yield* KonserveStore.get(fresh), { a: { b: { c: 1 } } })
          const existing = uniqueKey("assocIn-existing")
          yield* KonserveStore.assoc(existing, { keep: true, a: { x: 1 } })
          yield* KonserveStore.assocIn([existing, "a", "y", "z"], "new")
          assertSomeEqual(yield* KonserveStore.get(existing), { keep: true, a: { x: 1, y: { z: "new" } } })
          yield* KonserveStore.assocIn([existing, "a", "x"], [1, 2])
          assertSomeEqual(yield* KonserveStore.get(existing), { keep: true, a: { x: [1, 2], y: { z: "new" } } })
        })
    )

    it.effect("getIn walks object properties, array indices and Map keys", () =>
      Effect.gen(function*() {
        const key = uniqueKey("getIn")
        yield* KonserveStore.assoc(key, {
          user: { name: "ann", tags: ["a", "b", { deep: true }] },
          byId: new Map<unknown, unknown>([[7, { name: "seven" }], ["s", [10, 20]]])
        })
        assertSomeEqual(yield* KonserveStore.getIn([key, "user", "name"]), "ann")
        assertSomeEqual(yield* KonserveStore.getIn([key, "user", "tags", 1]), "b")
        assertSomeEqual(yield* KonserveStore.getIn([key, "user", "tags", 2, "deep"]), true)
        assertSomeEqual(yield* KonserveStore.getIn([key, "byId", 7, "name"]), "seven")
        assertSomeEqual(yield* KonserveStore.getIn([key, "byId", "s", 1]), 20)
        assertSomeEqual(yield* KonserveStore.getIn([key, "user"]), { name: "ann", tags: ["a", "b", { deep: true }] })
      }))

    it.effect("getIn on a missing path is none", () =>
      Effect.gen(function*() {
        const key = uniqueKey("getIn-missing")
        assertNone(yield* KonserveStore.getIn([uniqueKey("nope"), "a"]), "missing key")
        yield* KonserveStore.assoc(key, { a: { b: 1 }, list: [1, 2], m: new Map([[1, "x"]]), n: 5 })
        assertNone(yield* KonserveStore.getIn([key, "x"]), "missing property")
        assertNone(yield* KonserveStore.getIn([key, "a", "c"]), "missing nested property")
        assertNone(yield* KonserveStore.getIn([key, "list", 2]), "index out of range")
        assertNone(yield* KonserveStore.getIn([key, "m", 2]), "missing Map key")
        assertNone(yield* KonserveStore.getIn([key, "m", "1"]), "a string step does not find a number Map key")
        assertNone(yield* KonserveStore.getIn([key, "n", "x"]), "through a number")
        assertNone(yield* KonserveStore.getIn([key, "a", "b", "c"]), "through a leaf")
      }))

    it.effect("assocIn through Map keys and array indices keeps the Map and the array", () =>
      Effect.gen(function*() {
        const key = uniqueKey("assocIn-kinds")
        yield* KonserveStore.assoc(key, {
          m: new Map<unknown, unknown>([[1, { x: 1 }], ["s", 2]]),
          list: [10, 20, 30]
        })
        yield* KonserveStore.assocIn([key, "m", 1, "x"], 5)
        yield* KonserveStore.assocIn([key, "m", "s"], 3)
        yield* KonserveStore.assocIn([key, "list", 1], 21)
        const value = assertSome(yield* KonserveStore.get(key)) as { m: unknown; list: unknown }
        assert.isTrue(value.m instanceof Map, "the Map stays a Map")
        assertEqual(value.m, new Map<unknown, unknown>([[1, { x: 5 }], ["s", 3]]), "map")
        assert.isTrue(Array.isArray(value.list), "the array stays an array")
        assertEqual(value.list, [10, 21, 30], "list")
      }))

    it.effect("a path of the key alone acts on the whole value", () =>
      Effect.gen(function*() {
        const key = uniqueKey("path-key")
        yield* KonserveStore.assocIn([key], { whole: 1 })
        assertSomeEqual(yield* KonserveStore.getIn([key]), { whole: 1 })
        assertSomeEqual(yield* KonserveStore.get(key), { whole: 1 })
        const updated = yield* KonserveStore.updateIn([key], () => ({ whole: 2 }))
        assertSomeEqual(updated.before, { whole: 1 }, "before")
        assertEqual(updated.after, { whole: 2 }, "after")
        assertSomeEqual(yield* KonserveStore.get(key), { whole: 2 })
      }))

    it.effect("update resolves to { before, after }; f receives the current value", () =>
      Effect.gen(function*() {
        const key = uniqueKey("update")
        yield* KonserveStore.assoc(key, 41)
        const seen: Array<Option.Option<unknown>> = []
        const result = yield* KonserveStore.update(key, (current) => {
          seen.push(current)
          return increment(current)
        })
        assertSomeEqual(result.before, 41, "before")
        expect(result.after).toBe(42)
        assertSomeEqual(seen[seen.length - 1], 41, "what f received")
        assertSomeEqual(yield* KonserveStore.get(key), 42)
      }))

    it.effect(
      "update of a missing key: f receives none, before is none, the key is created",
      () =>
        Effect.gen(function*() {
          const key = uniqueKey("update-missing")
          const seen: Array<Option.Option<unknown>> = []
          const result = yield* KonserveStore.update(key, (current) => {
            seen.push(current)
            return { created: true }
          })
          expect(seen.length).toBeGreaterThan(0)
          assertNone(seen[0], "what f received")
          assertNone(result.before, "before")
          assertEqual(result.after, { created: true }, "after")
          assertSomeEqual(yield* KonserveStore.get(key), { created: true })
        })
    )

    it.effect(
      "updateIn([key, \"n\"], inc) gives the old and the new n and keeps the rest",
      () =>
        Effect.gen(function*() {
          const key = uniqueKey("c")
          yield* KonserveStore.assoc(key, { n: 1, other: "x" })
          const result = yield* KonserveStore.updateIn([key, "n"], increment)
          assertSomeEqual(result.before, 1, "before")
          expect(result.after).toBe(2)
          assertSomeEqual(yield* KonserveStore.get(key), { n: 2, other: "x" })
          const again = yield* KonserveStore.updateIn([key, "n"], increment)
          assertSomeEqual(again.before, 2, "before")
          expect(again.after).toBe(3)
        })
    )

    it.effect(
      "updateIn on a missing path: f receives none and intermediate objects are created",
      () =>
        Effect.gen(function*() {
          const key = uniqueKey("updateIn-missing")
          const seen: Array<Option.Option<unknown>> = []
          const result = yield* KonserveStore.updateIn([key, "a", "b"], (current) => {
            seen.push(current)
            return increment(current)
          })
          assertNone(seen[0], "what f received")
          assertNone(result.before, "before")
          expect(result.after).toBe(1)
          assertSomeEqual(yield* KonserveStore.get(key), { a: { b: 1 } })
          yield* KonserveStore.assoc(key, { a: { other: true } })
          const inside = yield* KonserveStore.updateIn([key, "a", "b"], increment)
          assertNone(inside.before, "before of a missing property")
          assertSomeEqual(yield* KonserveStore.get(key), { a: { other: true, b: 1 } })
        })
    )

    it.effect("updateIn through Map keys and array indices", () =>
      Effect.gen(function*() {
        const key = uniqueKey("updateIn-kinds")
        yield* KonserveStore.assoc(key, { m: new Map<unknown, unknown>([[3, [5, 6]]]) })
        const result = yield* KonserveStore.updateIn([key, "m", 3, 1], increment)
        assertSomeEqual(result.before, 6, "before")
        expect(result.after).toBe(7)
        assertSomeEqual(yield* KonserveStore.get(key), { m: new Map<unknown, unknown>([[3, [5, 7]]]) })
      }))

    it.effect("concurrent updates of one key lose nothing (20 fibers)", () =>
      Effect.gen(function*() {
        const key = uniqueKey("counter")
        const fibers = 20
        // An update that gives up with ConditionFailed changed nothing, so trying it again is sound.
        const bump = KonserveStore.update(key, increment).pipe(
          Effect.retry({ while: (error) => error._tag === "ConditionFailed", times: 30 })
        )
        const results = yield* Effect.all(range(fibers).map(() => bump), { concurrency: "unbounded" })
        assertSomeEqual(yield* KonserveStore.get(key), fibers, "the counter")
        expect(results.map((r) => r.after as number).sort((a, b) => a - b)).toEqual(range(fibers).map((i) => i + 1))
        expect(results.filter((r) => Option.isNone(r.before)).length).toBe(1)
        for (const r of results) {
          expect(r.after).toBe(Option.getOrElse(r.before as Option.Option<number>, () => 0) + 1)
        }
      }))

    it.effect("concurrent updateIn of different paths of one key lose nothing", () =>
      Effect.gen(function*() {
        const key = uniqueKey("fields")
        yield* KonserveStore.assoc(key, {})
        yield* Effect.all(
          range(12).map((i) =>
            KonserveStore.updateIn([key, `f${i}`], () => i).pipe(
              Effect.retry({ while: (error) => error._tag === "ConditionFailed", times: 30 })
            )
          ),
          { concurrency: "unbounded" }
        )
        // concurrent writers add the fields in any order: compare them as a set
        const fields = assertSome(yield* KonserveStore.get(key)) as Record<string, unknown>
        expect(Object.keys(fields).sort()).toEqual(range(12).map((i) => `f${i}`).sort())
        range(12).forEach((i) => expect(fields[`f${i}`]).toBe(i))
      }))

    it.effect.prop(
      "assocIn then getIn over random paths (object keys, indices, Map keys) matches the model (property)",
      {
        tree: FastCheck.option(treeArbitrary, { nil: undefined }),
        picks: FastCheck.array(FastCheck.nat(), { maxLength: 4 }),
        tail: FastCheck.array(FastCheck.string({ maxLength: 3 }), { maxLength: 3 }),
        value: valueArbitrary
      },
      ({ picks, tail, tree, value }) =>
        Effect.gen(function*() {
          const key = uniqueKey("prop-path")
          const steps = choosePath(tree, picks, tail)
          const path: KonserveStore.Path = [key, ...steps]
          if (tree !== undefined) yield* KonserveStore.assoc(key, tree)
          yield* KonserveStore.assocIn(path, value)
          assertSomeEqual(yield* KonserveStore.getIn(path), value, `getIn ${show(steps)}`)
          assertSomeEqual(
            yield* KonserveStore.get(key),
            setIn(tree, steps, value),
            `get after assocIn ${show(steps)}`
          )
          yield* KonserveStore.dissoc(key)
        }),
      propOptions(40)
    )
  })
}
