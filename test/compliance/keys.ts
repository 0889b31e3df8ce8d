/**
 * Compliance: keys, and the multi-key operations. Called from
 * `test/compliance.ts` for every backend.
 */
import { expect } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as KonserveStore from "../../src/KonserveStore.js"
import {
  assertBytes,
  assertEqual,
  assertNone,
  assertSomeEqual,
  chunksOf,
  countOf,
  expectTag,
  getMetaSome,
  keyNames,
  listKeys,
  MiB,
  randomBytes,
  range,
  uniqueKey
} from "./helpers.js"
import type { Suite } from "./helpers.js"

/** Registers the compliance tests of keys, and the multi-key operations. */
export const keysSuite = ({ block }: Suite): void => {
  block("keys", (it) => {
    it.effect("an empty store lists no keys", () =>
      Effect.gen(function*() {
        expect(yield* keyNames).toEqual([])
      }))

    it.effect(
      "keys lists each key once with its Meta, for values, chunked values, binaries and logs",
      () =>
        Effect.gen(function*() {
          const before = yield* keyNames
          const value = uniqueKey("k-value")
          const big = uniqueKey("k-big")
          const binary = uniqueKey("k-binary")
          const log = uniqueKey("k-log")
          const extended = `${value}/x`
          yield* KonserveStore.assoc(value, { a: 1 }, { meta: { m: 1 } })
          yield* KonserveStore.assoc(extended, 2)
          yield* KonserveStore.assoc(big, randomBytes(1_500_000, 9))
          yield* KonserveStore.bassoc(binary, Stream.fromIterable(chunksOf(randomBytes(3 * MiB + 5))))
          yield* KonserveStore.append(log, 1)
          yield* KonserveStore.append(log, 2)
          const metas = yield* listKeys
          const names = metas.map((m) => m.key)
          const ours = [value, extended, big, binary, log]
          expect(names.length).toBe(before.length + ours.length)
          expect([...names].sort()).toEqual([...before, ...ours].sort())
          for (const key of ours) {
            expect(countOf(names, key), key).toBe(1)
            const listed = metas.find((m) => m.key === key)!
            const meta = yield* getMetaSome(key)
            expect(listed.type).toBe(meta.type)
            expect(listed.version).toBe(meta.version)
            expect(listed.size).toBe(meta.size)
            expect(listed.lastWrite.getTime()).toBe(meta.lastWrite.getTime())
            expect(listed.expiresAt).toEqual(meta.expiresAt)
            assertEqual(listed.user, meta.user, `user meta of ${key}`)
          }
          const typeOf = (key: string) => metas.find((m) => m.key === key)!.type
          expect([typeOf(value), typeOf(big), typeOf(binary), typeOf(log)]).toEqual([
            "value",
            "value",
            "binary",
            "log"
          ])
          expect(metas.find((m) => m.key === binary)!.size).toBe(3 * MiB + 5)
          expect(metas.find((m) => m.key === log)!.size).toBe(2)
          // dissoc removes keys of every kind from the listing, chunks included
          for (const key of ours) expect(yield* KonserveStore.dissoc(key)).toBe(true)
          expect(yield* keyNames).toEqual(before)
        })
    )

    it.effect("keys lists 300 keys exactly once each, across every page", () =>
      Effect.gen(function*() {
        const before = yield* keyNames
        const ours = range(300).map((i) => uniqueKey(`page-${i}`))
        yield* KonserveStore.multiAssoc(
          ours.map((key, i) => [key, { i, pad: "p".repeat(5_000) }] as const),
          { atomic: false }
        )
        const after = yield* keyNames
        expect(after).toEqual([...before, ...ours].sort())
        const removed = yield* KonserveStore.multiDissoc(ours, { atomic: false })
        expect([...removed.values()].every((existed) => existed)).toBe(true)
        expect(yield* keyNames).toEqual(before)
      }))

    it.effect("the keys accessor and the service's keys agree", () =>
      Effect.gen(function*() {
        const store = yield* KonserveStore.KonserveStore
        const key = uniqueKey("agree")
        yield* store.assoc(key, 1)
        const viaService = Chunk.toReadonlyArray(yield* Stream.runCollect(store.keys)).map((m) => m.key).sort()
        expect(viaService).toEqual(yield* keyNames)
        expect(viaService).toContain(key)
        yield* store.dissoc(key)
      }))
  })

  block("multi-key operations", (it) => {
    it.effect("multiGet is sparse: missing keys are absent from the map", () =>
      Effect.gen(function*() {
        const a = uniqueKey("mg-a")
        const b = uniqueKey("mg-b")
        const missing = uniqueKey("mg-missing")
        yield* KonserveStore.assoc(a, 1)
        yield* KonserveStore.assoc(b, { two: 2 })
        const got = yield* KonserveStore.multiGet([a, missing, b])
        expect(got.size).toBe(2)
        expect(got.has(missing)).toBe(false)
        assertEqual(got.get(a), 1)
        assertEqual(got.get(b), { two: 2 })
      }))

    it.effect("multiGet of no keys is empty; a key asked twice appears once", () =>
      Effect.gen(function*() {
        expect((yield* KonserveStore.multiGet([])).size).toBe(0)
        const a = uniqueKey("mg-dup")
        yield* KonserveStore.assoc(a, "x")
        const got = yield* KonserveStore.multiGet([a, a, a])
        expect(got.size).toBe(1)
        expect(got.get(a)).toBe("x")
      }))

    it.effect("multiGet of 250 keys (200 present) returns exactly the present ones", () =>
      Effect.gen(function*() {
        const keys = range(250).map((i) => uniqueKey(`mg-many-${i}`))
        const present = keys.filter((_, i) => i % 5 !== 0)
        yield* KonserveStore.multiAssoc(present.map((key) => [key, { key }] as const), { atomic: false })
        const got = yield* KonserveStore.multiGet(keys)
        expect(got.size).toBe(200)
        for (const key of present) assertEqual(got.get(key), { key }, key)
        for (const key of keys.filter((_, i) => i % 5 === 0)) expect(got.has(key)).toBe(false)
      }))

    it.effect("multiGet returns what get returns for binary and log keys", () =>
      Effect.gen(function*() {
        const binary = uniqueKey("mg-binary")
        const log = uniqueKey("mg-log")
        yield* KonserveStore.bassoc(binary, new Uint8Array([1, 2, 3]))
        yield* KonserveStore.append(log, "a")
        yield* KonserveStore.append(log, "b")
        const got = yield* KonserveStore.multiGet([binary, log])
        assertBytes(got.get(binary), new Uint8Array([1, 2, 3]))
        assertEqual(got.get(log), ["a", "b"])
      }))

    it.effect(
      "multiAssoc writes an array of pairs, a record and a Map (atomic by default)",
      () =>
        Effect.gen(function*() {
          const [a, b, c, d, e] = range(5).map((i) => uniqueKey(`ma-${i}`))
          yield* KonserveStore.multiAssoc([[a, 1], [b, { two: 2 }]])
          yield* KonserveStore.multiAssoc({ [c]: [3], [d]: new Map([[4, "four"]]) })
          yield* KonserveStore.multiAssoc(new Map<string, unknown>([[e, 5n]]))
          const got = yield* KonserveStore.multiGet([a, b, c, d, e])
          assertEqual(
            got,
            new Map<unknown, unknown>([[a, 1], [b, { two: 2 }], [c, [3]], [d, new Map([[4, "four"]])], [
              e,
              5n
            ]])
          )
        })
    )

    it.effect("multiAssoc of nothing succeeds and multiDissoc of nothing is empty", () =>
      Effect.gen(function*() {
        yield* KonserveStore.multiAssoc([])
        yield* KonserveStore.multiAssoc({})
        expect((yield* KonserveStore.multiDissoc([])).size).toBe(0)
      }))

    it.effect("atomic multiAssoc of exactly 100 keys succeeds", () =>
      Effect.gen(function*() {
        const keys = range(100).map((i) => uniqueKey(`ma-100-${i}`))
        yield* KonserveStore.multiAssoc(keys.map((key, i) => [key, i] as const))
        const got = yield* KonserveStore.multiGet(keys)
        expect(got.size).toBe(100)
        keys.forEach((key, i) => expect(got.get(key)).toBe(i))
      }))

    it.effect(
      "atomic multiAssoc of 101 keys fails with TransactionLimitExceeded and writes nothing",
      () =>
        Effect.gen(function*() {
          const keys = range(101).map((i) => uniqueKey(`ma-101-${i}`))
          const error = yield* expectTag(
            KonserveStore.multiAssoc(keys.map((key) => [key, 1] as const)),
            "TransactionLimitExceeded"
          )
          expect(error.items).toBe(101)
          expect(error.limit).toBe(100)
          expect(error.operation).toMatch(/multiAssoc/)
          expect(error.message).toContain("101")
          expect((yield* KonserveStore.multiGet(keys)).size).toBe(0)
          const record = yield* expectTag(
            KonserveStore.multiAssoc(Object.fromEntries(keys.map((key) => [key, 1])), { atomic: true }),
            "TransactionLimitExceeded"
          )
          expect(record.items).toBe(101)
          expect((yield* KonserveStore.multiGet(keys)).size).toBe(0)
        })
    )

    it.effect("multiAssoc with atomic: false writes any number of keys (250)", () =>
      Effect.gen(function*() {
        const keys = range(250).map((i) => uniqueKey(`ma-250-${i}`))
        yield* KonserveStore.multiAssoc(keys.map((key, i) => [key, { i }] as const), { atomic: false })
        const got = yield* KonserveStore.multiGet(keys)
        expect(got.size).toBe(250)
        keys.forEach((key, i) => assertEqual(got.get(key), { i }, key))
      }))

    it.effect(
      "multiAssoc with an out-of-domain value fails with SerializationError and writes nothing",
      () =>
        Effect.gen(function*() {
          for (const atomic of [true, false]) {
            const [a, bad, c] = range(3).map((i) => uniqueKey(`ma-bad-${i}`))
            const error = yield* expectTag(
              KonserveStore.multiAssoc([[a, 1], [bad, { f: () => 1 }], [c, 3]], { atomic }),
              "SerializationError"
            )
            expect(error.key).toBe(bad)
            expect(error.message.length).toBeGreaterThan(0)
            expect((yield* KonserveStore.multiGet([a, bad, c])).size, `atomic: ${atomic}`).toBe(0)
          }
        })
    )

    it.effect(
      "atomic multiAssoc with ifAbsent where one key exists fails with ConditionFailed and writes nothing",
      () =>
        Effect.gen(function*() {
          const [a, existing, c] = range(3).map((i) => uniqueKey(`ma-ifabsent-${i}`))
          yield* KonserveStore.assoc(existing, "old")
          const version = (yield* getMetaSome(existing)).version
          const error = yield* expectTag(
            KonserveStore.multiAssoc([[a, 1], [existing, "new"], [c, 3]], { ifAbsent: true }),
            "ConditionFailed"
          )
          expect(error.key).toBe(existing)
          const got = yield* KonserveStore.multiGet([a, existing, c])
          assertEqual(got, new Map([[existing, "old"]]))
          expect((yield* getMetaSome(existing)).version).toBe(version)
          yield* KonserveStore.multiAssoc([[a, 1], [c, 3]], { ifAbsent: true })
          assertEqual(yield* KonserveStore.multiGet([a, c]), new Map([[a, 1], [c, 3]]))
        })
    )

    it.effect(
      "atomic multiAssoc of large values (chunked) is all-or-nothing whatever their sizes",
      () =>
        Effect.gen(function*() {
          const keys = range(3).map((i) => uniqueKey(`ma-large-${i}`))
          const values = keys.map((_, i) => ({ bytes: randomBytes(600_000 + i, 90 + i), i }))
          yield* KonserveStore.multiAssoc(keys.map((key, i) => [key, values[i]] as const))
          const got = yield* KonserveStore.multiGet(keys)
          keys.forEach((key, i) => assertEqual(got.get(key), values[i], key))
          const fresh = uniqueKey("ma-large-fresh")
          yield* expectTag(
            KonserveStore.multiAssoc([[fresh, values[0]], [keys[1], "replaced"]], { ifAbsent: true }),
            "ConditionFailed"
          )
          assertNone(yield* KonserveStore.get(fresh), "the large value of a cancelled transaction")
          assertSomeEqual(yield* KonserveStore.get(keys[1]), values[1])
        })
    )

    it.effect("multiDissoc maps each key to whether it existed, atomic and not", () =>
      Effect.gen(function*() {
        for (const atomic of [undefined, true, false]) {
          const [a, b, missing] = range(3).map((i) => uniqueKey(`md-${i}`))
          yield* KonserveStore.assoc(a, 1)
          yield* KonserveStore.bassoc(b, "binary")
          const removed = yield* KonserveStore.multiDissoc(
            [a, b, missing],
            atomic === undefined ? undefined : { atomic }
          )
          assertEqual(removed, new Map([[a, true], [b, true], [missing, false]]), `atomic: ${atomic}`)
          expect((yield* KonserveStore.multiGet([a, b, missing])).size).toBe(0)
        }
        const log = uniqueKey("md-log")
        yield* KonserveStore.append(log, 1)
        assertEqual(yield* KonserveStore.multiDissoc([log]), new Map([[log, true]]))
        assertNone(yield* KonserveStore.log(log))
      }))

    it.effect(
      "atomic multiDissoc of 101 keys fails with TransactionLimitExceeded and removes nothing",
      () =>
        Effect.gen(function*() {
          const keys = range(101).map((i) => uniqueKey(`md-101-${i}`))
          yield* KonserveStore.multiAssoc(keys.map((key) => [key, 1] as const), { atomic: false })
          const error = yield* expectTag(KonserveStore.multiDissoc(keys), "TransactionLimitExceeded")
          expect(error.items).toBe(101)
          expect(error.limit).toBe(100)
          expect(error.operation).toMatch(/multiDissoc/)
          expect((yield* KonserveStore.multiGet(keys)).size).toBe(101)
          const removed = yield* KonserveStore.multiDissoc(keys, { atomic: false })
          expect(removed.size).toBe(101)
          expect([...removed.values()].every((existed) => existed)).toBe(true)
          expect((yield* KonserveStore.multiGet(keys)).size).toBe(0)
        })
    )

    it.effect("multiDissoc with atomic: false removes any number of keys (150)", () =>
      Effect.gen(function*() {
        const keys = range(150).map((i) => uniqueKey(`md-150-${i}`))
        yield* KonserveStore.multiAssoc(keys.slice(0, 120).map((key) => [key, 1] as const), { atomic: false })
        const removed = yield* KonserveStore.multiDissoc(keys, { atomic: false })
        expect(removed.size).toBe(150)
        keys.forEach((key, i) => expect(removed.get(key), key).toBe(i < 120))
        expect((yield* KonserveStore.multiGet(keys)).size).toBe(0)
      }))
  })
}
