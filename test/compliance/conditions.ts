/**
 * Compliance: conditional writes and metadata. Called from
 * `test/compliance.ts` for every backend.
 */
import { assert, expect } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import * as KonserveStore from "../../src/KonserveStore.js"
import {
  assertBytes,
  assertEqual,
  assertNone,
  assertSome,
  assertSomeEqual,
  bgetSome,
  expectTag,
  getMetaSome,
  increment,
  MiB,
  randomBytes,
  show,
  startClock,
  uniqueKey,
  utf8
} from "./helpers.js"
import type { Suite } from "./helpers.js"

/** Registers the compliance tests of conditional writes and metadata. */
export const conditionsSuite = ({ block }: Suite): void => {
  block("conditions and metadata", (it) => {
    it.effect(
      "ifAbsent on an existing key fails with ConditionFailed and changes nothing",
      () =>
        Effect.gen(function*() {
          const key = uniqueKey("ifAbsent")
          yield* KonserveStore.assoc(key, "first")
          const before = yield* getMetaSome(key)
          const error = yield* expectTag(KonserveStore.assoc(key, "second", { ifAbsent: true }), "ConditionFailed")
          expect(error.key).toBe(key)
          expect(error.operation).toMatch(/assoc/)
          expect(error.message).toContain(key)
          assertSomeEqual(yield* KonserveStore.get(key), "first")
          expect((yield* getMetaSome(key)).version).toBe(before.version)
        })
    )

    it.effect("ifAbsent on a missing key writes it", () =>
      Effect.gen(function*() {
        const key = uniqueKey("ifAbsent-ok")
        yield* KonserveStore.assoc(key, "only", { ifAbsent: true })
        assertSomeEqual(yield* KonserveStore.get(key), "only")
        yield* KonserveStore.dissoc(key)
        yield* KonserveStore.assoc(key, "again", { ifAbsent: true })
        assertSomeEqual(yield* KonserveStore.get(key), "again", "after dissoc the key is absent again")
      }))

    it.effect(
      "ifVersion writes when the version holds and fails with ConditionFailed when stale",
      () =>
        Effect.gen(function*() {
          const key = uniqueKey("ifVersion")
          yield* KonserveStore.assoc(key, 1)
          const v1 = (yield* getMetaSome(key)).version
          yield* KonserveStore.assoc(key, 2, { ifVersion: v1 })
          assertSomeEqual(yield* KonserveStore.get(key), 2)
          const v2 = (yield* getMetaSome(key)).version
          const error = yield* expectTag(KonserveStore.assoc(key, 3, { ifVersion: v1 }), "ConditionFailed")
          expect(error.key).toBe(key)
          assertSomeEqual(yield* KonserveStore.get(key), 2)
          expect((yield* getMetaSome(key)).version).toBe(v2)
        })
    )

    it.effect(
      "ifVersion on a missing key fails with ConditionFailed and writes nothing",
      () =>
        Effect.gen(function*() {
          const key = uniqueKey("ifVersion-missing")
          yield* KonserveStore.assoc(key, 1)
          const version = (yield* getMetaSome(key)).version
          yield* KonserveStore.dissoc(key)
          yield* expectTag(KonserveStore.assoc(key, 2, { ifVersion: version }), "ConditionFailed")
          assertNone(yield* KonserveStore.get(key))
        })
    )

    it.effect(
      "an ifVersion that no write made (made up, far in the future, all zeros) is refused and writes go on working",
      () =>
        Effect.gen(function*() {
          const key = uniqueKey("ifVersion-made-up")
          yield* KonserveStore.assoc(key, 0)
          // from untyped code: not even strings (a 16-digit number looks like a version once made a string)
          const untyped = [1234567890123456, null, { v: 1 }] as unknown as ReadonlyArray<string>
          for (
            const madeUp of [
              "zzzzzzzzzzzzzzzz",
              "________________",
              "AAAAAAAAAAAAAAAA",
              "not a version",
              "",
              ...untyped
            ]
          ) {
            yield* expectTag(KonserveStore.assoc(key, -1, { ifVersion: madeUp }), "ConditionFailed")
            yield* expectTag(KonserveStore.update(key, () => -1, { ifVersion: madeUp }), "ConditionFailed")
            yield* expectTag(KonserveStore.dissoc(key, { ifVersion: madeUp }), "ConditionFailed")
          }
          assertSomeEqual(yield* KonserveStore.get(key), 0)
          // every kind of write of the key still works, many times over, and each changes the version
          const seen = new Set<string>()
          for (let i = 1; i <= 12; i++) {
            yield* KonserveStore.assoc(key, i)
            yield* KonserveStore.update(key, (n) => Option.getOrElse(n as Option.Option<number>, () => 0) * 10)
            seen.add((yield* getMetaSome(key)).version)
          }
          expect(seen.size).toBe(12)
          assertSomeEqual(yield* KonserveStore.get(key), 120)
          expect(yield* KonserveStore.dissoc(key)).toBe(true)
          yield* KonserveStore.assoc(key, "back", { ifAbsent: true })
          assertSomeEqual(yield* KonserveStore.get(key), "back")
        })
    )

    it.effect(
      "dissoc with ifVersion removes the key on its version and fails with ConditionFailed on a stale one",
      () =>
        Effect.gen(function*() {
          const key = uniqueKey("dissoc-ifVersion")
          yield* KonserveStore.assoc(key, 1)
          const stale = (yield* getMetaSome(key)).version
          yield* KonserveStore.assoc(key, 2)
          const current = (yield* getMetaSome(key)).version
          const error = yield* expectTag(KonserveStore.dissoc(key, { ifVersion: stale }), "ConditionFailed")
          expect(error.key).toBe(key)
          expect(error.operation).toBe("dissoc")
          assertSomeEqual(yield* KonserveStore.get(key), 2, "a stale dissoc leaves the value")
          expect((yield* getMetaSome(key)).version, "and writes nothing").toBe(current)
          const store = yield* KonserveStore.KonserveStore
          expect(yield* store.dissoc(key, { ifVersion: current })).toBe(true)
          assertNone(yield* KonserveStore.get(key), "removed on its version")
          expect(yield* KonserveStore.exists(key)).toBe(false)
          // no ifVersion (or an undefined one): the unconditional dissoc
          yield* KonserveStore.assoc(key, 3)
          expect(yield* KonserveStore.dissoc(key, { ifVersion: undefined })).toBe(true)
          expect(yield* KonserveStore.dissoc(key, {})).toBe(false)
        })
    )

    it.effect(
      "dissoc with ifVersion of a missing, removed or expired key, or a made-up version, fails with ConditionFailed",
      () =>
        Effect.gen(function*() {
          yield* startClock
          const key = uniqueKey("dissoc-ifVersion-absent")
          yield* KonserveStore.assoc(key, "v")
          const version = (yield* getMetaSome(key)).version
          for (const madeUp of ["zzzzzzzzzzzzzzzz", "AAAAAAAAAAAAAAAA", "not a version", ""]) {
            yield* expectTag(KonserveStore.dissoc(key, { ifVersion: madeUp }), "ConditionFailed")
          }
          assertSomeEqual(yield* KonserveStore.get(key), "v")
          expect(yield* KonserveStore.dissoc(key)).toBe(true)
          yield* expectTag(KonserveStore.dissoc(key, { ifVersion: version }), "ConditionFailed")
          yield* expectTag(
            KonserveStore.dissoc(uniqueKey("dissoc-ifVersion-never"), { ifVersion: version }),
            "ConditionFailed"
          )
          const expiring = uniqueKey("dissoc-ifVersion-expired")
          yield* KonserveStore.assoc(expiring, "soon gone", { ttl: Duration.seconds(1) })
          const expiringVersion = (yield* getMetaSome(expiring)).version
          yield* TestClock.adjust(Duration.seconds(2))
          yield* expectTag(KonserveStore.dissoc(expiring, { ifVersion: expiringVersion }), "ConditionFailed")
          // an expired key is absent: it may be written again as absent
          yield* KonserveStore.assoc(expiring, "again", { ifAbsent: true })
          assertSomeEqual(yield* KonserveStore.get(expiring), "again")
        })
    )

    it.effect(
      "dissoc with ifVersion removes a chunked value, a binary and a log whole",
      () =>
        Effect.gen(function*() {
          const chunked = uniqueKey("dissoc-ifVersion-chunked")
          const binary = uniqueKey("dissoc-ifVersion-binary")
          const log = uniqueKey("dissoc-ifVersion-log")
          yield* KonserveStore.assoc(chunked, randomBytes(900_000, 81))
          yield* KonserveStore.bassoc(binary, randomBytes(1 * MiB, 82))
          yield* KonserveStore.append(log, "a")
          yield* KonserveStore.append(log, "b")
          for (const key of [chunked, binary, log]) {
            const { version } = yield* getMetaSome(key)
            expect(yield* KonserveStore.dissoc(key, { ifVersion: version }), key).toBe(true)
            expect(yield* KonserveStore.exists(key), key).toBe(false)
            assertNone(yield* KonserveStore.get(key), key)
          }
          assertNone(yield* KonserveStore.bget(binary))
          assertNone(yield* KonserveStore.log(log))
          // the keys are free: written again, they hold only what is written now
          yield* KonserveStore.append(log, "c")
          assertSomeEqual(yield* KonserveStore.log(log), ["c"])
          yield* KonserveStore.assoc(chunked, "small")
          assertSomeEqual(yield* KonserveStore.get(chunked), "small")
        })
    )

    it.effect("update, updateIn, assocIn and bassoc honour ifAbsent and ifVersion", () =>
      Effect.gen(function*() {
        const key = uniqueKey("conditions")
        yield* KonserveStore.assoc(key, { n: 1 })
        const meta = yield* getMetaSome(key)
        yield* KonserveStore.assoc(key, { n: 2 })
        const stale = meta.version
        const f = (current: Option.Option<unknown>) => Option.getOrNull(current)
        yield* expectTag(KonserveStore.update(key, f, { ifAbsent: true }), "ConditionFailed")
        yield* expectTag(KonserveStore.update(key, f, { ifVersion: stale }), "ConditionFailed")
        yield* expectTag(KonserveStore.updateIn([key, "n"], increment, { ifVersion: stale }), "ConditionFailed")
        yield* expectTag(KonserveStore.assocIn([key, "n"], 9, { ifAbsent: true }), "ConditionFailed")
        yield* expectTag(KonserveStore.assocIn([key, "n"], 9, { ifVersion: stale }), "ConditionFailed")
        yield* expectTag(KonserveStore.bassoc(key, "bytes", { ifAbsent: true }), "ConditionFailed")
        yield* expectTag(KonserveStore.bassoc(key, "bytes", { ifVersion: stale }), "ConditionFailed")
        assertSomeEqual(yield* KonserveStore.get(key), { n: 2 }, "nothing changed")
        const current = (yield* getMetaSome(key)).version
        const ok = yield* KonserveStore.updateIn([key, "n"], increment, { ifVersion: current })
        expect(ok.after).toBe(3)
        const fresh = uniqueKey("conditions-fresh")
        const created = yield* KonserveStore.update(fresh, () => "new", { ifAbsent: true })
        assertNone(created.before)
        assertSomeEqual(yield* KonserveStore.get(fresh), "new")
        const binary = uniqueKey("conditions-bin")
        yield* KonserveStore.bassoc(binary, "bin", { ifAbsent: true })
        const binaryVersion = (yield* getMetaSome(binary)).version
        yield* KonserveStore.bassoc(binary, "bin2", { ifVersion: binaryVersion })
        assertBytes(assertSome(yield* KonserveStore.get(binary)), utf8.encode("bin2"))
      }))

    it.effect("Meta.version changes on every write of the key", () =>
      Effect.gen(function*() {
        const key = uniqueKey("versions")
        const versions: Array<string> = []
        const record = Effect.flatMap(getMetaSome(key), (meta) => Effect.sync(() => versions.push(meta.version)))
        yield* KonserveStore.assoc(key, { n: 0 })
        yield* record
        yield* KonserveStore.assoc(key, { n: 0 }) // the same value again is a write too
        yield* record
        yield* KonserveStore.assocIn([key, "n"], 1)
        yield* record
        yield* KonserveStore.update(key, (v) => Option.getOrNull(v))
        yield* record
        yield* KonserveStore.updateIn([key, "n"], increment)
        yield* record
        yield* KonserveStore.multiAssoc([[key, 5]])
        yield* record
        yield* KonserveStore.multiAssoc([[key, 6]], { atomic: false })
        yield* record
        yield* KonserveStore.bassoc(key, "bytes")
        yield* record
        yield* KonserveStore.dissoc(key)
        yield* KonserveStore.append(key, 1)
        yield* record
        yield* KonserveStore.append(key, 2)
        yield* record
        yield* KonserveStore.dissoc(key)
        yield* KonserveStore.assoc(key, { n: 0 })
        yield* record
        for (const version of versions) expect(typeof version).toBe("string")
        expect(new Set(versions).size, `versions: ${show(versions)}`).toBe(versions.length)
      }))

    it.effect(
      "getMeta of a value: key, type, lastWrite from the Clock, size in encoded bytes",
      () =>
        Effect.gen(function*() {
          const now = yield* startClock
          const key = uniqueKey("meta")
          // random bytes: incompressible, so the encoded size is the byte count plus a little framing
          yield* KonserveStore.assoc(key, randomBytes(100_000, 5))
          const meta = yield* getMetaSome(key)
          expect(meta.key).toBe(key)
          expect(meta.type).toBe("value")
          assert.instanceOf(meta.lastWrite, Date)
          expect(meta.lastWrite.getTime()).toBe(now)
          expect(Number.isInteger(meta.size)).toBe(true)
          expect(meta.size).toBeGreaterThanOrEqual(100_000)
          expect(meta.size).toBeLessThan(100_000 + 1024)
          expect(meta.expiresAt).toBeUndefined()
          expect(meta.user).toBeUndefined()
          yield* TestClock.adjust(Duration.seconds(5))
          yield* KonserveStore.assoc(key, 1)
          const later = yield* getMetaSome(key)
          expect(later.lastWrite.getTime()).toBe(now + 5000)
          expect(later.size).toBeGreaterThan(0)
          expect(later.size).toBeLessThan(100)
        })
    )

    it.effect("getMeta of a binary has type binary and its byte count as size", () =>
      Effect.gen(function*() {
        const key = uniqueKey("meta-binary")
        yield* KonserveStore.bassoc(key, randomBytes(12_345))
        const meta = yield* getMetaSome(key)
        expect(meta.type).toBe("binary")
        expect(meta.size).toBe(12_345)
        expect(meta.key).toBe(key)
        assert.instanceOf(meta.lastWrite, Date)
      }))

    it.effect("getMeta of a log has type log and its element count as size", () =>
      Effect.gen(function*() {
        const key = uniqueKey("meta-log")
        yield* KonserveStore.append(key, "a")
        expect((yield* getMetaSome(key)).size).toBe(1)
        yield* KonserveStore.append(key, { big: "x".repeat(1000) })
        yield* KonserveStore.append(key, 3)
        const meta = yield* getMetaSome(key)
        expect(meta.type).toBe("log")
        expect(meta.size).toBe(3)
        expect(meta.key).toBe(key)
      }))

    it.effect(
      "user meta of every domain kind round-trips; the next write without meta clears it",
      () =>
        Effect.gen(function*() {
          const key = uniqueKey("user-meta")
          const user = {
            owner: "ann",
            n: 1,
            big: 2n ** 70n,
            at: new Date(123),
            tags: new Set(["a"]),
            m: new Map([[1, "x"]]),
            raw: new Uint8Array([1])
          }
          yield* KonserveStore.assoc(key, "v", { meta: user })
          assertEqual((yield* getMetaSome(key)).user, user, "user meta")
          yield* KonserveStore.assoc(key, "w")
          expect((yield* getMetaSome(key)).user).toBeUndefined()
          const binary = uniqueKey("user-meta-binary")
          yield* KonserveStore.bassoc(binary, "b", { meta: { kind: "picture" } })
          assertEqual((yield* bgetSome(binary)).meta.user, { kind: "picture" }, "binary user meta")
          const many = uniqueKey("user-meta-multi")
          yield* KonserveStore.multiAssoc([[many, 1]], { meta: { batch: 7 } })
          assertEqual((yield* getMetaSome(many)).user, { batch: 7 }, "multiAssoc user meta")
        })
    )

    it.effect(
      "user meta outside the domain fails with SerializationError and writes nothing",
      () =>
        Effect.gen(function*() {
          const key = uniqueKey("user-meta-bad")
          yield* expectTag(KonserveStore.assoc(key, 1, { meta: { f: () => 1 } }), "SerializationError")
          assertNone(yield* KonserveStore.get(key))
          yield* expectTag(KonserveStore.bassoc(key, "b", { meta: { s: Symbol("x") } }), "SerializationError")
          assertNone(yield* KonserveStore.get(key))
        })
    )
  })
}
