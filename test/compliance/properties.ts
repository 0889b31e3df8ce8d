/**
 * Compliance: properties over the value domain, and forSchema. Called from
 * `test/compliance.ts` for every backend.
 */
import { assert, expect } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as FastCheck from "effect/FastCheck"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type * as KonserveError from "../../src/KonserveError.js"
import * as KonserveStore from "../../src/KonserveStore.js"
import { safeObjectKey, valueArbitrary } from "./domain.js"
import {
  assertEqual,
  assertNone,
  assertSome,
  assertSomeEqual,
  countOf,
  expectTag,
  getMetaSome,
  increment,
  range,
  uniqueKey
} from "./helpers.js"
import type { Store, Suite } from "./helpers.js"

/** Registers the compliance tests of properties over the value domain, and forSchema. */
export const propertiesSuite = ({ block, propOptions }: Suite): void => {
  block("properties over the value domain", (it) => {
    it.effect.prop(
      "any storable value round-trips through assoc/get, multiAssoc/multiGet and append/log (property)",
      { value: valueArbitrary },
      ({ value }) =>
        Effect.gen(function*() {
          const key = uniqueKey("prop-value")
          yield* KonserveStore.assoc(key, value)
          assertSomeEqual(yield* KonserveStore.get(key), value, "get")
          const other = uniqueKey("prop-multi")
          yield* KonserveStore.multiAssoc([[other, value]])
          assertEqual((yield* KonserveStore.multiGet([other])).get(other), value, "multiGet")
          const log = uniqueKey("prop-log")
          yield* KonserveStore.append(log, value)
          assertSomeEqual(yield* KonserveStore.log(log), [value], "log")
          yield* KonserveStore.multiDissoc([key, other, log])
        }),
      propOptions(50)
    )

    it.effect.prop(
      "user meta of any record of storable values round-trips (property)",
      { meta: FastCheck.dictionary(safeObjectKey, valueArbitrary, { maxKeys: 3, noNullPrototype: true }) },
      ({ meta }) =>
        Effect.gen(function*() {
          const key = uniqueKey("prop-meta")
          yield* KonserveStore.assoc(key, 1, { meta })
          assertEqual((yield* getMetaSome(key)).user, meta, "user meta")
          yield* KonserveStore.dissoc(key)
        }),
      propOptions(30)
    )
  })

  block("forSchema", (it) => {
    const Item = Schema.Struct({ n: Schema.Number, at: Schema.Date })
    const at = new Date("2024-05-06T07:08:09.010Z")

    it.effect("typed assoc stores the encoded form and typed get decodes it", () =>
      Effect.gen(function*() {
        const typed = yield* KonserveStore.forSchema(Item)
        const key = uniqueKey("typed")
        yield* typed.assoc(key, { n: 1, at })
        assertSomeEqual(yield* KonserveStore.get(key), { n: 1, at: "2024-05-06T07:08:09.010Z" }, "raw")
        const read = assertSome(yield* typed.get(key))
        assert.instanceOf(read.at, Date)
        assertEqual(read, { n: 1, at }, "typed")
        assertNone(yield* typed.get(uniqueKey("typed-missing")))
        const viaService = (yield* KonserveStore.KonserveStore).forSchema(Item)
        assertEqual(assertSome(yield* viaService.get(key)), { n: 1, at })
      }))

    it.effect(
      "typed update resolves to decoded { before, after } and stores the encoded after",
      () =>
        Effect.gen(function*() {
          const typed = yield* KonserveStore.forSchema(Item)
          const key = uniqueKey("typed-update")
          const created = yield* typed.update(key, (current) => {
            assert.isTrue(Option.isNone(current))
            return { n: 0, at }
          })
          assertNone(created.before)
          const later = new Date(at.getTime() + 1000)
          const result = yield* typed.update(key, (current) => ({ n: Option.getOrThrow(current).n + 1, at: later }))
          assertSomeEqual(result.before, { n: 0, at }, "before")
          assertEqual(result.after, { n: 1, at: later }, "after")
          assertSomeEqual(yield* KonserveStore.get(key), { n: 1, at: later.toISOString() }, "raw")
        })
    )

    it.effect("typed multiAssoc (pairs and record) and multiGet (sparse)", () =>
      Effect.gen(function*() {
        const typed = yield* KonserveStore.forSchema(Item)
        const [a, b, c, missing] = range(4).map((i) => uniqueKey(`typed-multi-${i}`))
        yield* typed.multiAssoc([[a, { n: 1, at }]])
        yield* typed.multiAssoc({ [b]: { n: 2, at }, [c]: { n: 3, at } }, { atomic: false })
        const got = yield* typed.multiGet([a, b, c, missing])
        assertEqual(got, new Map([[a, { n: 1, at }], [b, { n: 2, at }], [c, { n: 3, at }]]))
        assertSomeEqual(yield* KonserveStore.get(c), { n: 3, at: at.toISOString() }, "raw")
      }))

    it.effect("a stored value that does not decode fails with DecodeError", () =>
      Effect.gen(function*() {
        const typed = yield* KonserveStore.forSchema(Item)
        const key = uniqueKey("typed-bad")
        const good = uniqueKey("typed-good")
        yield* KonserveStore.assoc(key, { n: "not a number", at: "not a date" })
        yield* typed.assoc(good, { n: 1, at })
        const error = yield* expectTag(typed.get(key), "DecodeError")
        expect(error.key).toBe(key)
        expect(error.message.length).toBeGreaterThan(0)
        yield* expectTag(typed.multiGet([good, key]), "DecodeError")
        yield* expectTag(typed.update(key, () => ({ n: 5, at })), "DecodeError")
        assertSomeEqual(yield* KonserveStore.get(key), { n: "not a number", at: "not a date" }, "unchanged")
      }))

    it.effect(
      "a value that does not encode fails with SerializationError and nothing is written",
      () =>
        Effect.gen(function*() {
          const Positive = Schema.Struct({ n: Schema.Number.pipe(Schema.filter((n) => n > 0)) })
          const typed = yield* KonserveStore.forSchema(Positive)
          const key = uniqueKey("typed-encode")
          const error = yield* expectTag(typed.assoc(key, { n: -1 }), "SerializationError")
          expect(error.key).toBe(key)
          assertNone(yield* KonserveStore.get(key))
          const [a, b] = [uniqueKey("typed-encode-a"), uniqueKey("typed-encode-b")]
          yield* expectTag(typed.multiAssoc([[a, { n: 1 }], [b, { n: -1 }]]), "SerializationError")
          yield* expectTag(typed.multiAssoc([[a, { n: 1 }], [b, { n: -1 }]], { atomic: false }), "SerializationError")
          expect((yield* KonserveStore.multiGet([a, b])).size).toBe(0)
          yield* typed.assoc(key, { n: 1 })
          yield* expectTag(typed.update(key, () => ({ n: -5 })), "SerializationError")
          assertSomeEqual(yield* KonserveStore.get(key), { n: 1 })
        })
    )

    // The rest of the value surface: paths over the decoded value, logs of A, pass-throughs.
    const Doc = Schema.Struct({
      n: Schema.Number,
      at: Schema.Date,
      inner: Schema.Struct({ at: Schema.Date, tags: Schema.Array(Schema.String) })
    })
    type Doc = typeof Doc.Type
    const later = new Date(at.getTime() + 60_000)
    const doc: Doc = { n: 1, at, inner: { at, tags: ["a", "b"] } }
    /** What is stored for a Doc: its Dates as ISO strings. */
    const rawOf = (d: Doc) => ({
      n: d.n,
      at: d.at.toISOString(),
      inner: { at: d.inner.at.toISOString(), tags: d.inner.tags }
    })
    const retryConflicts = <A, E extends { readonly _tag: string }, R>(self: Effect.Effect<A, E, R>) =>
      Effect.retry(self, { while: (error) => error._tag === "ConditionFailed", times: 30 })

    it.effect(
      "typed getIn decodes the whole value with the schema and walks the decoded value",
      () =>
        Effect.gen(function*() {
          const typed = yield* KonserveStore.forSchema(Doc)
          const key = uniqueKey("typed-getIn")
          yield* typed.assoc(key, doc)
          const read = assertSome(yield* typed.getIn([key, "at"]), "at")
          assert.instanceOf(read, Date)
          assertEqual(read, at, "at")
          assert.instanceOf(assertSome(yield* typed.getIn([key, "inner", "at"])), Date)
          assertSomeEqual(yield* typed.getIn([key, "inner", "tags", 1]), "b", "a tag")
          assertSomeEqual(yield* typed.getIn([key]), doc, "the key alone")
          assertNone(yield* typed.getIn([key, "missing"]), "a missing property")
          assertNone(yield* typed.getIn([key, "inner", "tags", 5]), "an index past the end")
          assertNone(yield* typed.getIn([key, "n", "deeper"]), "a step into a number")
          assertNone(yield* typed.getIn([uniqueKey("typed-getIn-missing"), "at"]), "a missing key")
        })
    )

    it.effect("typed assocIn sets a typed leaf and stores the encoded whole value", () =>
      Effect.gen(function*() {
        const typed = yield* KonserveStore.forSchema(Doc)
        const key = uniqueKey("typed-assocIn")
        yield* typed.assoc(key, doc)
        yield* typed.assocIn([key, "inner", "at"], later)
        yield* typed.assocIn([key, "inner", "tags", 2], "c")
        const expected: Doc = { n: 1, at, inner: { at: later, tags: ["a", "b", "c"] } }
        assertSomeEqual(yield* typed.get(key), expected, "typed")
        assertSomeEqual(yield* KonserveStore.get(key), rawOf(expected), "raw")
        // the key alone acts on the whole value, as assoc
        yield* typed.assocIn([key], doc)
        assertSomeEqual(yield* KonserveStore.get(key), rawOf(doc), "raw after the key alone")
        // what is stored is the schema's encoding: a property the schema does not know is dropped, as Schema does
        yield* typed.assocIn([key, "unknown"], 1)
        assertSomeEqual(yield* KonserveStore.get(key), rawOf(doc), "raw after an unknown property")
        // write options as on the untyped store
        const { version } = yield* getMetaSome(key)
        yield* expectTag(typed.assocIn([key, "n"], 2, { ifVersion: "not-the-version" }), "ConditionFailed")
        yield* expectTag(typed.assocIn([key, "n"], 2, { ifAbsent: true }), "ConditionFailed")
        yield* typed.assocIn([key, "n"], 2, { ifVersion: version, meta: { by: "typed" } })
        assertSomeEqual(yield* typed.getIn([key, "n"]), 2)
        expect((yield* getMetaSome(key)).user).toEqual({ by: "typed" })
      }))

    it.effect(
      "typed updateIn resolves to the typed { before, after } at the path and stores the encoded whole value",
      () =>
        Effect.gen(function*() {
          const typed = yield* KonserveStore.forSchema(Doc)
          const key = uniqueKey("typed-updateIn")
          yield* typed.assoc(key, doc)
          const moved = yield* typed.updateIn([key, "inner", "at"], (current) => {
            const date = assertSome(current, "f's argument")
            assert.instanceOf(date, Date)
            return new Date((date as Date).getTime() + 60_000)
          })
          assert.instanceOf(assertSome(moved.before), Date)
          assertSomeEqual(moved.before, at, "before")
          assertEqual(moved.after, later, "after")
          const counted = yield* typed.updateIn([key, "n"], increment)
          assertSomeEqual(counted.before, 1, "before")
          expect(counted.after).toBe(2)
          const added = yield* typed.updateIn([key, "inner", "tags", 2], (current) => {
            assertNone(current, "f's argument at a missing index")
            return "c"
          })
          assertNone(added.before, "before at a missing index")
          const expected: Doc = { n: 2, at, inner: { at: later, tags: ["a", "b", "c"] } }
          assertSomeEqual(yield* KonserveStore.get(key), rawOf(expected), "raw")
          // the key alone acts on the whole value, as update
          const whole = yield* typed.updateIn([key], (current) => ({ ...(assertSome(current) as Doc), n: 10 }))
          assertSomeEqual(whole.before, expected, "before of the key alone")
          assertSomeEqual(yield* typed.getIn([key, "n"]), 10)
        })
    )

    it.effect("concurrent typed updateIn increments lose nothing (10 fibers)", () =>
      Effect.gen(function*() {
        const typed = yield* KonserveStore.forSchema(Doc)
        const key = uniqueKey("typed-counter")
        yield* typed.assoc(key, { ...doc, n: 0 })
        const results = yield* Effect.all(
          range(10).map(() => retryConflicts(typed.updateIn([key, "n"], increment))),
          { concurrency: "unbounded" }
        )
        assertSomeEqual(yield* typed.getIn([key, "n"]), 10, "the counter")
        expect(results.map((r) => r.after as number).sort((a, b) => a - b)).toEqual(range(10).map((i) => i + 1))
        assertSomeEqual(yield* typed.get(key), { ...doc, n: 10 }, "the rest of the value")
      }))

    it.effect(
      "typed assocIn and updateIn whose new whole value does not encode fail with SerializationError; nothing written",
      () =>
        Effect.gen(function*() {
          const typed = yield* KonserveStore.forSchema(Doc)
          const key = uniqueKey("typed-path-encode")
          yield* typed.assoc(key, doc)
          const { version } = yield* getMetaSome(key)
          const deep: KonserveStore.Path = [key, ...range(513).map(() => "a")]
          const writes: ReadonlyArray<readonly [string, Effect.Effect<unknown, KonserveError.KonserveError, Store>]> = [
            ["assocIn of a string where a Date belongs", typed.assocIn([key, "at"], "not a date")],
            ["updateIn returning a string where a number belongs", typed.updateIn([key, "n"], () => "x")],
            ["assocIn through a number", typed.assocIn([key, "n", "deeper"], 1)],
            ["assocIn past the end of an array", typed.assocIn([key, "inner", "tags", 5], "z")],
            ["assocIn along a path deeper than 512", typed.assocIn(deep, 1)],
            ["updateIn along a path deeper than 512", typed.updateIn(deep, () => 1)]
          ]
          for (const [label, write] of writes) {
            const error = yield* expectTag(write, "SerializationError")
            expect(error.key, label).toBe(key)
            expect(error.message.length, label).toBeGreaterThan(0)
          }
          assertSomeEqual(yield* KonserveStore.get(key), rawOf(doc), "unchanged")
          expect((yield* getMetaSome(key)).version, "nothing written").toBe(version)
          // on a missing key the objects assocIn creates are not a whole Doc
          const missing = uniqueKey("typed-path-encode-missing")
          yield* expectTag(typed.assocIn([missing, "n"], 1), "SerializationError")
          yield* expectTag(typed.updateIn([missing, "n"], increment), "SerializationError")
          expect(yield* KonserveStore.exists(missing)).toBe(false)
        })
    )

    it.effect(
      "typed getIn, assocIn and updateIn of a stored value that does not decode fail with DecodeError; nothing written",
      () =>
        Effect.gen(function*() {
          const typed = yield* KonserveStore.forSchema(Doc)
          const key = uniqueKey("typed-path-decode")
          yield* KonserveStore.assoc(key, { n: "not a number", at: "not a date" })
          const { version } = yield* getMetaSome(key)
          let calls = 0
          const operations: ReadonlyArray<
            readonly [string, Effect.Effect<unknown, KonserveError.KonserveError, Store>]
          > = [
            ["getIn", typed.getIn([key, "n"])],
            ["getIn of the key alone", typed.getIn([key])],
            ["assocIn", typed.assocIn([key, "n"], 1)],
            ["updateIn", typed.updateIn([key, "n"], () => calls++)]
          ]
          for (const [label, operation] of operations) {
            const error = yield* expectTag(operation, "DecodeError")
            expect(error.key, label).toBe(key)
            expect(error.message, label).toContain("does not decode with the schema")
          }
          expect(calls, "updateIn's f ran").toBe(0)
          assertSomeEqual(yield* KonserveStore.get(key), { n: "not a number", at: "not a date" }, "unchanged")
          expect((yield* getMetaSome(key)).version, "nothing written").toBe(version)
        })
    )

    it.effect(
      "typed append, log and reduceLog: a log of A, each element encoded and decoded with the schema",
      () =>
        Effect.gen(function*() {
          const typed = yield* KonserveStore.forSchema(Item)
          const key = uniqueKey("typed-log")
          assertNone(yield* typed.log(key), "log of a missing key")
          expect(yield* typed.reduceLog(key, 0, (acc, element) => acc + element.n)).toBe(0)
          yield* typed.append(key, { n: 1, at })
          yield* typed.append(key, { n: 2, at: later })
          assertSomeEqual(
            yield* KonserveStore.log(key),
            [{ n: 1, at: at.toISOString() }, { n: 2, at: later.toISOString() }],
            "raw"
          )
          const elements = assertSome(yield* typed.log(key))
          assertEqual(elements, [{ n: 1, at }, { n: 2, at: later }], "typed")
          elements.forEach((element) => assert.instanceOf(element.at, Date))
          const times = yield* typed.reduceLog(
            key,
            [] as Array<number>,
            (acc, element) => [...acc, element.at.getTime()]
          )
          expect(times).toEqual([at.getTime(), later.getTime()])
          // an element that does not encode: nothing appended
          const error = yield* expectTag(
            typed.append(key, { n: 3, at: "not a date" as unknown as Date }),
            "SerializationError"
          )
          expect(error.key).toBe(key)
          expect((yield* getMetaSome(key)).size, "the log's element count").toBe(2)
          // a log of a value key is none, as on the untyped store
          const valueKey = uniqueKey("typed-log-value")
          yield* typed.assoc(valueKey, { n: 1, at })
          assertNone(yield* typed.log(valueKey), "log of a value key")
          // an element that does not decode
          yield* KonserveStore.append(key, { n: "not a number" })
          yield* expectTag(typed.log(key), "DecodeError")
          yield* expectTag(typed.reduceLog(key, 0, (acc) => acc + 1), "DecodeError")
        })
    )

    it.effect(
      "typed dissoc, exists, getMeta, keys and multiDissoc pass through to the store",
      () =>
        Effect.gen(function*() {
          const typed = yield* KonserveStore.forSchema(Item)
          const [a, b] = [uniqueKey("typed-pass-a"), uniqueKey("typed-pass-b")]
          yield* typed.assoc(a, { n: 1, at })
          yield* typed.assoc(b, { n: 2, at })
          expect(yield* typed.exists(a)).toBe(true)
          const meta = assertSome(yield* typed.getMeta(a))
          expect(meta.key).toBe(a)
          expect(meta.type).toBe("value")
          assertEqual(meta, assertSome(yield* KonserveStore.getMeta(a)), "the store's Meta")
          const listed = Chunk.toReadonlyArray(yield* Stream.runCollect(typed.keys)).map((m) => m.key)
          expect(countOf(listed, a)).toBe(1)
          expect(yield* typed.dissoc(a)).toBe(true)
          expect(yield* typed.dissoc(a)).toBe(false)
          expect(yield* typed.exists(a)).toBe(false)
          assertNone(yield* typed.getMeta(a))
          assertEqual(yield* typed.multiDissoc([a, b]), new Map([[a, false], [b, true]]))
          expect(yield* KonserveStore.exists(b)).toBe(false)
        })
    )

    it.effect(
      "typed update and updateIn whose f returns an Option or an Effect fail with SerializationError saying so",
      () =>
        Effect.gen(function*() {
          const typed = yield* KonserveStore.forSchema(Item)
          const key = uniqueKey("typed-wrapped")
          yield* typed.assoc(key, { n: 1, at })
          const { version } = yield* getMetaSome(key)
          const writes: ReadonlyArray<
            readonly [string, string, Effect.Effect<unknown, KonserveError.KonserveError, Store>]
          > = [
            ["update", "an Option", typed.update(key, (current) => current as unknown as typeof Item.Type)],
            ["update", "an Effect", typed.update(key, () => Effect.succeed({ n: 2, at }) as never)],
            ["updateIn", "an Option", typed.updateIn([key, "n"], (current) => current)],
            ["updateIn", "an Effect", typed.updateIn([key, "n"], () => Effect.succeed(2))]
          ]
          for (const [operation, what, write] of writes) {
            const error = yield* expectTag(write, "SerializationError")
            expect(error.key).toBe(key)
            expect(error.message, `${operation} returning ${what}`).toContain(
              `${operation}'s function returned ${what}`
            )
          }
          assertSomeEqual(yield* KonserveStore.get(key), { n: 1, at: at.toISOString() }, "unchanged")
          expect((yield* getMetaSome(key)).version, "nothing written").toBe(version)
          // where the schema's own type holds an Option, an Option is the value itself
          const maybe = yield* KonserveStore.forSchema(Schema.OptionFromNullOr(Schema.Number))
          const other = uniqueKey("typed-option")
          yield* maybe.update(other, () => Option.some(1))
          assertSomeEqual(yield* KonserveStore.get(other), 1, "raw some")
          expect(Option.getOrThrow(assertSome(yield* maybe.get(other), "typed some"))).toBe(1)
          yield* maybe.update(other, () => Option.none())
          assertSomeEqual(yield* KonserveStore.get(other), null, "raw none")
          const Holder = Schema.Struct({ o: Schema.OptionFromNullOr(Schema.Number) })
          const holders = yield* KonserveStore.forSchema(Holder)
          yield* holders.assoc(other, { o: Option.none() })
          yield* holders.updateIn([other, "o"], () => Option.some(2))
          assertSomeEqual(yield* KonserveStore.get(other), { o: 2 }, "raw field")
        })
    )

    it.effect.prop(
      "typed assoc, assocIn, updateIn, getIn and append/log of random Dates and numbers match the model (property)",
      {
        n: FastCheck.double(),
        first: FastCheck.date({ noInvalidDate: true }),
        second: FastCheck.date({ noInvalidDate: true }),
        tags: FastCheck.array(FastCheck.string({ maxLength: 4 }), { maxLength: 3 })
      },
      ({ first, n, second, tags }) =>
        Effect.gen(function*() {
          const typed = yield* KonserveStore.forSchema(Doc)
          const key = uniqueKey("prop-typed")
          yield* typed.assoc(key, { n: 0, at: first, inner: { at: first, tags } })
          yield* typed.assocIn([key, "inner", "at"], second)
          const updated = yield* typed.updateIn([key, "n"], () => n)
          assertSomeEqual(updated.before, 0, "before")
          const expected: Doc = { n, at: first, inner: { at: second, tags } }
          assertSomeEqual(yield* typed.get(key), expected, "typed")
          assertSomeEqual(yield* typed.getIn([key, "inner", "at"]), second, "getIn")
          assertSomeEqual(yield* KonserveStore.get(key), rawOf(expected), "raw")
          const log = uniqueKey("prop-typed-log")
          yield* typed.append(log, expected)
          assertSomeEqual(yield* typed.log(log), [expected], "log")
          yield* KonserveStore.multiDissoc([key, log])
        }),
      propOptions(25)
    )
  })
}
