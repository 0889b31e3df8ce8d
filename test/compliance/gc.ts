/**
 * Compliance: gc (and keys changed while it runs) and TTL. Called from
 * `test/compliance.ts` for every backend.
 */
import { assert, expect } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import * as KonserveStore from "../../src/KonserveStore.js"
import {
  assertNone,
  assertSomeEqual,
  countOf,
  expectTag,
  getMetaSome,
  increment,
  keyNames,
  randomBytes,
  range,
  show,
  startClock,
  uniqueKey
} from "./helpers.js"
import type { Store, Suite } from "./helpers.js"

/** Registers the compliance tests of gc (and keys changed while it runs) and TTL. */
export const gcSuite = ({ block }: Suite): void => {
  block("gc", (it) => {
    it.effect(
      "gc removes exactly the keys of every kind last written before olderThan and not kept, and resolves to them",
      () =>
        Effect.gen(function*() {
          const start = yield* startClock
          const key = (label: string) => uniqueKey(`gc-${label}`)
          const [value, chunked, binary, log, kept, keptBinary, rewritten, appended, expired] = [
            key("value"),
            key("chunked"),
            key("binary"),
            key("log"),
            key("kept"),
            key("kept-binary"),
            key("rewritten"),
            key("appended"),
            key("expired")
          ]
          yield* KonserveStore.assoc(value, { a: 1 })
          yield* KonserveStore.assoc(chunked, randomBytes(900_000, 91))
          yield* KonserveStore.bassoc(binary, randomBytes(600_000, 92))
          yield* KonserveStore.append(log, 1)
          yield* KonserveStore.append(log, 2)
          yield* KonserveStore.assoc(kept, "kept")
          yield* KonserveStore.bassoc(keptBinary, "kept too")
          yield* KonserveStore.assoc(rewritten, "old")
          yield* KonserveStore.append(appended, "old")
          // expired keys are absent already: not listed, so not removed and not reported
          yield* KonserveStore.assoc(expired, "gone", { ttl: Duration.seconds(1) })
          const olderThan = new Date(start + 60_000)
          yield* TestClock.adjust(Duration.seconds(59))
          const almost = key("almost")
          yield* KonserveStore.assoc(almost, "a millisecond before the cutoff")
          yield* TestClock.adjust(Duration.seconds(1))
          // a last write at olderThan itself is not before it
          const boundary = key("boundary")
          yield* KonserveStore.assoc(boundary, "at the cutoff")
          yield* TestClock.adjust(Duration.minutes(5))
          const fresh = key("fresh")
          yield* KonserveStore.assoc(fresh, "new")
          yield* KonserveStore.assoc(rewritten, "new")
          yield* KonserveStore.append(appended, "new")
          const survivors = [kept, keptBinary, boundary, fresh, rewritten, appended].sort()
          expect(yield* keyNames).toEqual([...survivors, almost, value, chunked, binary, log].sort())

          const removed = yield* KonserveStore.gc({
            keep: new Set([kept, keptBinary, key("never-stored")]),
            olderThan
          })
          expect([...removed].sort()).toEqual([almost, value, chunked, binary, log].sort())
          expect(yield* keyNames).toEqual(survivors)
          for (const gone of [almost, value, chunked, binary, log]) {
            assertNone(yield* KonserveStore.get(gone), gone)
            assertNone(yield* KonserveStore.getMeta(gone), gone)
          }
          assertNone(yield* KonserveStore.bget(binary))
          assertNone(yield* KonserveStore.log(log))
          assertSomeEqual(yield* KonserveStore.get(rewritten), "new")
          assertSomeEqual(yield* KonserveStore.log(appended), ["old", "new"])
          assertSomeEqual(yield* KonserveStore.get(kept), "kept")
          // nothing more to remove; the service's gc and the accessor agree
          expect(yield* KonserveStore.gc({ keep: [kept, keptBinary], olderThan })).toEqual([])
          // keep given by any iterable (a generator), everything else older than now
          const keepOnly = function*() {
            yield kept
          }
          const all = yield* KonserveStore.gc({ keep: keepOnly(), olderThan: new Date(start + 3_600_000) })
          expect([...all].sort()).toEqual(survivors.filter((k) => k !== kept))
          expect(yield* keyNames).toEqual([kept])
          // a removed key may be written again
          yield* KonserveStore.assoc(value, "back", { ifAbsent: true })
          assertSomeEqual(yield* KonserveStore.get(value), "back")
        })
    )
  })

  block("gc: keys changed while it runs, and its options", (it) => {
    it.effect(
      "a key rewritten or removed between gc's listing and its delete survives and is not reported",
      () =>
        Effect.gen(function*() {
          const start = yield* startClock
          const [stays, rewritten, removedMeanwhile] = [
            uniqueKey("gc-race"),
            uniqueKey("gc-race"),
            uniqueKey("gc-race")
          ]
          for (const key of [stays, rewritten, removedMeanwhile]) yield* KonserveStore.assoc(key, "old")
          yield* TestClock.adjust(Duration.minutes(1))
          const store = yield* KonserveStore.KonserveStore
          const seen: Array<readonly [string, string | undefined]> = []
          // the store as gc sees it: another writer acts on two keys after gc listed them, just before its deletes
          const racing: Store = {
            ...store,
            dissoc: (key, options) =>
              Effect.zipRight(
                Effect.suspend(() => {
                  seen.push([key, options?.ifVersion])
                  return key === rewritten
                    ? store.assoc(key, "rewritten")
                    : key === removedMeanwhile
                    ? Effect.asVoid(store.dissoc(key))
                    : Effect.void
                }),
                store.dissoc(key, options)
              )
          }
          const removed = yield* Effect.provideService(
            KonserveStore.gc({ keep: [], olderThan: new Date(start + 1) }),
            KonserveStore.KonserveStore,
            racing
          )
          expect(removed).toEqual([stays])
          // every delete was conditioned on a version
          expect(seen.length).toBe(3)
          for (const [key, version] of seen) expect(typeof version, key).toBe("string")
          assertSomeEqual(yield* KonserveStore.get(rewritten), "rewritten")
          assertNone(yield* KonserveStore.get(stays))
          assertNone(yield* KonserveStore.get(removedMeanwhile))
          expect(yield* keyNames).toEqual([rewritten])
          yield* KonserveStore.dissoc(rewritten)
        })
    )

    it.effect(
      "an olderThan that is not a valid Date, or a keep that is not keys, fails before anything is removed",
      () =>
        Effect.gen(function*() {
          const start = yield* startClock
          const key = uniqueKey("gc-options")
          yield* KonserveStore.assoc(key, 1)
          yield* TestClock.adjust(Duration.minutes(1))
          const later = new Date(start + 1)
          for (const bad of [new Date(Number.NaN), "2024-01-01", start, undefined, null]) {
            const error = yield* expectTag(
              KonserveStore.gc({ keep: [], olderThan: bad as unknown as Date }),
              "DynamoDBError"
            )
            expect(error.code, show(bad)).toBe("InvalidArgument")
            expect(error.operation).toBe("gc")
            expect(error.message, show(bad)).toContain("olderThan")
          }
          for (const bad of [key, undefined, 3]) {
            const error = yield* expectTag(
              KonserveStore.gc({ keep: bad as unknown as Array<string>, olderThan: later }),
              "DynamoDBError"
            )
            expect(error.code, show(bad)).toBe("InvalidArgument")
            expect(error.message, show(bad)).toContain("keep")
          }
          // metas instead of their keys: InvalidKey, not "keep nothing"
          const metas = [yield* getMetaSome(key)]
          const invalid = yield* expectTag(
            KonserveStore.gc({ keep: metas as unknown as Array<string>, olderThan: later }),
            "InvalidKey"
          )
          expect(invalid.key).toBe(metas[0])
          assertSomeEqual(yield* KonserveStore.get(key), 1, "nothing removed")
          expect(yield* KonserveStore.gc({ keep: [key], olderThan: later })).toEqual([])
          expect(yield* KonserveStore.gc({ keep: [], olderThan: later })).toEqual([key])
        })
    )
  })

  block("TTL", (it) => {
    it.effect("ttl: Duration.infinity means no expiry, for every kind of write", () =>
      Effect.gen(function*() {
        yield* startClock
        const value = uniqueKey("ttl-infinity")
        const binary = uniqueKey("ttl-infinity-binary")
        const many = uniqueKey("ttl-infinity-many")
        yield* KonserveStore.assoc(value, 1, { ttl: Duration.infinity })
        yield* KonserveStore.update(value, () => 2, { ttl: Duration.infinity })
        yield* KonserveStore.bassoc(binary, "bytes", { ttl: Duration.infinity })
        yield* KonserveStore.multiAssoc([[many, 3]], { ttl: Duration.infinity })
        yield* TestClock.adjust(Duration.days(365 * 100))
        for (const key of [value, binary, many]) {
          expect((yield* getMetaSome(key)).expiresAt, key).toBeUndefined()
          expect(yield* KonserveStore.exists(key), key).toBe(true)
        }
        assertSomeEqual(yield* KonserveStore.get(value), 2)
      }))

    it.effect(
      "a key with a ttl reads present until just before expiry and absent at expiry, everywhere",
      () =>
        Effect.gen(function*() {
          const t0 = yield* startClock
          const value = uniqueKey("ttl-value")
          const binary = uniqueKey("ttl-binary")
          const forever = uniqueKey("ttl-forever")
          yield* KonserveStore.assoc(value, { a: 1 }, { ttl: Duration.seconds(10) })
          yield* KonserveStore.bassoc(binary, randomBytes(700_000, 61), { ttl: "10 seconds" })
          yield* KonserveStore.assoc(forever, "stays")
          const valueMeta = yield* getMetaSome(value)
          assert.instanceOf(valueMeta.expiresAt, Date)
          expect(valueMeta.expiresAt!.getTime()).toBe(t0 + 10_000)
          expect((yield* getMetaSome(binary)).expiresAt?.getTime()).toBe(t0 + 10_000)
          expect((yield* getMetaSome(forever)).expiresAt).toBeUndefined()

          const check = (present: boolean) =>
            Effect.gen(function*() {
              const label = present ? "before expiry" : "at expiry"
              for (const key of [value, binary]) {
                expect(Option.isSome(yield* KonserveStore.get(key)), `get ${label}`).toBe(present)
                expect(Option.isSome(yield* KonserveStore.getMeta(key)), `getMeta ${label}`).toBe(present)
                expect(yield* KonserveStore.exists(key), `exists ${label}`).toBe(present)
                expect(countOf(yield* keyNames, key), `keys ${label}`).toBe(present ? 1 : 0)
              }
              expect(Option.isSome(yield* KonserveStore.getIn([value, "a"])), `getIn ${label}`).toBe(present)
              expect(Option.isSome(yield* KonserveStore.bget(binary)), `bget ${label}`).toBe(present)
              const many = yield* KonserveStore.multiGet([value, binary, forever])
              expect([...many.keys()].sort(), `multiGet ${label}`).toEqual(
                (present ? [value, binary, forever] : [forever]).sort()
              )
              assertSomeEqual(yield* KonserveStore.get(forever), "stays", `a key without ttl ${label}`)
            })

          yield* check(true)
          yield* TestClock.adjust(Duration.millis(9_999))
          yield* check(true)
          yield* TestClock.adjust(Duration.millis(1))
          yield* check(false)
          yield* TestClock.adjust(Duration.days(400))
          yield* check(false)
        })
    )

    it.effect(
      "an expired key counts as absent: ifAbsent writes, update sees none, dissoc is false",
      () =>
        Effect.gen(function*() {
          yield* startClock
          const [a, b, c, d, e] = range(5).map((i) => uniqueKey(`ttl-absent-${i}`))
          yield* KonserveStore.multiAssoc([[a, "old"], [b, 41], [c, "old"], [d, "old"], [e, "old"]], { ttl: 1000 })
          expect((yield* getMetaSome(e)).expiresAt).toBeInstanceOf(Date)
          yield* TestClock.adjust(Duration.seconds(1))
          yield* KonserveStore.assoc(a, "new", { ifAbsent: true })
          assertSomeEqual(yield* KonserveStore.get(a), "new")
          expect((yield* getMetaSome(a)).expiresAt, "a write without ttl does not expire").toBeUndefined()
          const updated = yield* KonserveStore.update(b, increment)
          assertNone(updated.before, "update of an expired key")
          expect(updated.after).toBe(1)
          expect(yield* KonserveStore.dissoc(c)).toBe(false)
          yield* KonserveStore.multiAssoc([[d, "new"]], { ifAbsent: true })
          assertSomeEqual(yield* KonserveStore.get(d), "new")
          yield* KonserveStore.append(e, "first")
          assertSomeEqual(yield* KonserveStore.log(e), ["first"], "append to an expired key starts a new log")
          yield* TestClock.adjust(Duration.days(1))
          assertSomeEqual(yield* KonserveStore.get(a), "new", "the rewritten key does not inherit the ttl")
          assertSomeEqual(yield* KonserveStore.log(e), ["first"], "the new log does not inherit the ttl")
        })
    )

    it.effect(
      "ttl applies to update, assocIn and bassoc; a later write without ttl removes it",
      () =>
        Effect.gen(function*() {
          const t0 = yield* startClock
          const key = uniqueKey("ttl-writes")
          yield* KonserveStore.update(key, () => ({ n: 1 }), { ttl: Duration.minutes(1) })
          expect((yield* getMetaSome(key)).expiresAt?.getTime()).toBe(t0 + 60_000)
          yield* KonserveStore.assocIn([key, "n"], 2, { ttl: Duration.minutes(2) })
          expect((yield* getMetaSome(key)).expiresAt?.getTime()).toBe(t0 + 120_000)
          yield* KonserveStore.assoc(key, 3)
          expect((yield* getMetaSome(key)).expiresAt).toBeUndefined()
          yield* TestClock.adjust(Duration.minutes(5))
          assertSomeEqual(yield* KonserveStore.get(key), 3)
          const binary = uniqueKey("ttl-binary-small")
          yield* KonserveStore.bassoc(binary, "b", { ttl: 50 })
          yield* TestClock.adjust(Duration.millis(49))
          expect(yield* KonserveStore.exists(binary)).toBe(true)
          yield* TestClock.adjust(Duration.millis(1))
          expect(yield* KonserveStore.exists(binary)).toBe(false)
          assertNone(yield* KonserveStore.bget(binary))
        })
    )
  })
}
