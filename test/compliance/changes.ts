/**
 * Compliance: `KonserveStore.changes`, the store's own writes in-process
 * (API.md "Changes"). Called from `test/compliance.ts` for every backend.
 */
import type { Vitest } from "@effect/vitest"
import { assert, expect } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FastCheck from "effect/FastCheck"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as KonserveStore from "../../src/KonserveStore.js"
import * as MemoryStore from "../../src/MemoryStore.js"
import { deepEqual } from "../utils/deepEqual.js"

type It = Vitest.MethodsNonLive<KonserveStore.KonserveStore>
type Change = KonserveStore.Change

const runId = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`
let sequence = 0
const uniqueKey = (label: string): string => `changes-${label}/${runId}/${(sequence++).toString(36)}`

/**
 * Subscribes to the store's changes of the keys under `prefix` and returns
 * once the subscription is in place (the collecting fiber waits on its
 * queue); `until` ends the collection at the change of that key (a marker
 * written last), so that the list is complete.
 */
const recording = (prefix: string, until: string) =>
  Effect.gen(function*() {
    const fiber = yield* KonserveStore.changes.pipe(
      Stream.filter((change) => change.key.startsWith(prefix)),
      Stream.takeUntil((change) => change.key === until),
      Stream.runCollect,
      Effect.map((chunk) => Array.from(chunk).filter((change) => change.key !== until)),
      Effect.fork
    )
    yield* untilWaiting(fiber)
    return fiber
  })

/** Yields until a fiber is suspended (waiting), i.e. it has subscribed. */
export const untilWaiting = <A, E>(fiber: Fiber.RuntimeFiber<A, E>) =>
  Effect.gen(function*() {
    for (let i = 0; i < 1000; i++) {
      const status = yield* Fiber.status(fiber)
      if (status._tag === "Suspended" || status._tag === "Done") return
      yield* Effect.yieldNow()
    }
    assert.fail("the subscriber never started")
  })

const summary = (change: Change) => ({
  key: change.key,
  op: change.op,
  batch: Option.isSome(change.batch),
  value: Option.getOrUndefined(change.value)
})

const versionOf = (key: string) => Effect.map(KonserveStore.getMeta(key), (meta) => Option.getOrThrow(meta).version)

/** A random sequence of writes over a few keys. */
type Op =
  | { readonly _tag: "assoc"; readonly key: number; readonly value: number }
  | { readonly _tag: "assocIn"; readonly key: number; readonly value: number }
  | { readonly _tag: "update"; readonly key: number }
  | { readonly _tag: "dissoc"; readonly key: number }
  | { readonly _tag: "multiAssoc"; readonly keys: ReadonlyArray<number>; readonly atomic: boolean }
  | { readonly _tag: "multiDissoc"; readonly keys: ReadonlyArray<number>; readonly atomic: boolean }
  | { readonly _tag: "append"; readonly key: number; readonly value: number }
  | { readonly _tag: "bassoc"; readonly key: number; readonly value: number }

const keyIndex = FastCheck.integer({ min: 0, max: 3 })
const keySet = FastCheck.uniqueArray(keyIndex, { minLength: 1, maxLength: 3 })
const opArbitrary: FastCheck.Arbitrary<Op> = FastCheck.oneof(
  FastCheck.record({ _tag: FastCheck.constant("assoc" as const), key: keyIndex, value: FastCheck.integer() }),
  FastCheck.record({ _tag: FastCheck.constant("assocIn" as const), key: keyIndex, value: FastCheck.integer() }),
  FastCheck.record({ _tag: FastCheck.constant("update" as const), key: keyIndex }),
  FastCheck.record({ _tag: FastCheck.constant("dissoc" as const), key: keyIndex }),
  FastCheck.record({ _tag: FastCheck.constant("multiAssoc" as const), keys: keySet, atomic: FastCheck.boolean() }),
  FastCheck.record({ _tag: FastCheck.constant("multiDissoc" as const), keys: keySet, atomic: FastCheck.boolean() }),
  FastCheck.record({ _tag: FastCheck.constant("append" as const), key: keyIndex, value: FastCheck.integer() }),
  FastCheck.record({ _tag: FastCheck.constant("bassoc" as const), key: keyIndex, value: FastCheck.integer() })
)

const runOp = (op: Op, key: (i: number) => string) => {
  switch (op._tag) {
    case "assoc":
      return KonserveStore.assoc(key(op.key), { n: op.value })
    case "assocIn":
      return KonserveStore.assocIn([key(op.key), "n"], op.value)
    case "update":
      return KonserveStore.update(key(op.key), (current) => ({ was: Option.getOrNull(current) }))
    case "dissoc":
      return KonserveStore.dissoc(key(op.key))
    case "multiAssoc":
      return KonserveStore.multiAssoc(op.keys.map((i) => [key(i), [i, op.atomic]] as const), { atomic: op.atomic })
    case "multiDissoc":
      return KonserveStore.multiDissoc(op.keys.map(key), { atomic: op.atomic })
    case "append":
      return KonserveStore.append(key(op.key), op.value)
    case "bassoc":
      return KonserveStore.bassoc(key(op.key), new Uint8Array([op.value & 0xff, 1, 2]))
  }
}

/** The compliance cases of `changes`. */
export const changesSuite = (
  block: (title: string, f: (it: It) => void) => void,
  timeout: number | undefined,
  propOptions: (numRuns: number) => { readonly timeout?: number; readonly fastCheck: { readonly numRuns: number } }
): void => {
  block("changes (in-process)", (it) => {
    it.effect(
      "every write kind publishes exactly its changes, with the version it committed",
      () =>
        Effect.gen(function*() {
          const prefix = uniqueKey("kinds")
          const k = (name: string) => `${prefix}/${name}`
          const end = k("end")
          const recorder = yield* recording(prefix, end)
          const versions: Array<string> = []

          yield* KonserveStore.assoc(k("a"), { n: 1 })
          versions.push(yield* versionOf(k("a")))
          yield* KonserveStore.assocIn([k("a"), "m"], 2)
          versions.push(yield* versionOf(k("a")))
          yield* KonserveStore.update(k("a"), () => ({ n: 3 }))
          versions.push(yield* versionOf(k("a")))
          yield* KonserveStore.updateIn([k("a"), "n"], () => 4)
          versions.push(yield* versionOf(k("a")))
          expect(yield* KonserveStore.dissoc(k("a"))).toBe(true)
          expect(yield* KonserveStore.dissoc(k("a"))).toBe(false) // nothing removed: no change
          yield* KonserveStore.multiAssoc({ [k("b")]: 1, [k("c")]: 2 })
          yield* KonserveStore.multiAssoc({ [k("d")]: 3 }, { atomic: false })
          yield* KonserveStore.multiDissoc([k("b"), k("c"), k("missing")])
          yield* KonserveStore.multiDissoc([k("d")], { atomic: false })
          yield* KonserveStore.append(k("log"), "x")
          versions.push(yield* versionOf(k("log")))
          yield* KonserveStore.bassoc(k("bin"), new Uint8Array([1, 2, 3]))
          yield* KonserveStore.bassoc(k("bin2"), Stream.make(new Uint8Array([4]), new Uint8Array([5])))
          yield* Effect.either(KonserveStore.assoc(k("log"), 1, { ifAbsent: true })) // refused: no change
          yield* KonserveStore.assoc(k("old"), 1)
          const removed = yield* KonserveStore.gc({
            keep: [k("log"), k("bin"), k("bin2")],
            olderThan: new Date(8.64e15)
          })
          expect(removed.filter((key) => key.startsWith(prefix))).toEqual([k("old")])
          yield* KonserveStore.assoc(end, true)

          const changes = yield* Fiber.join(recorder)
          expect(changes.map(summary)).toEqual([
            { key: k("a"), op: "write", batch: false, value: { n: 1 } },
            { key: k("a"), op: "write", batch: false, value: { n: 1, m: 2 } },
            { key: k("a"), op: "write", batch: false, value: { n: 3 } },
            { key: k("a"), op: "write", batch: false, value: { n: 4 } },
            { key: k("a"), op: "remove", batch: false, value: undefined },
            { key: k("b"), op: "write", batch: true, value: 1 },
            { key: k("c"), op: "write", batch: true, value: 2 },
            { key: k("d"), op: "write", batch: false, value: 3 },
            { key: k("b"), op: "remove", batch: true, value: undefined },
            { key: k("c"), op: "remove", batch: true, value: undefined },
            { key: k("d"), op: "remove", batch: false, value: undefined },
            { key: k("log"), op: "write", batch: false, value: undefined },
            { key: k("bin"), op: "write", batch: false, value: undefined },
            { key: k("bin2"), op: "write", batch: false, value: undefined },
            { key: k("old"), op: "write", batch: false, value: 1 },
            { key: k("old"), op: "remove", batch: false, value: undefined }
          ])
          // The versions are the committed ones; a write's meta is the key's Meta after it.
          expect(changes.slice(0, 4).map((c) => c.version)).toEqual(versions.slice(0, 4))
          expect(changes[11].version).toBe(versions[4])
          for (const change of changes) {
            if (change.op === "write") {
              const meta = Option.getOrThrow(change.meta)
              expect(meta.version).toBe(change.version)
              expect(meta.key).toBe(change.key)
            } else {
              expect(Option.isNone(change.meta)).toBe(true)
            }
          }
          expect(Option.getOrThrow(changes[11].meta).type).toBe("log")
          expect(Option.getOrThrow(changes[12].meta).type).toBe("binary")
          // An atomic batch shares one id.
          expect(changes[5].batch).toEqual(changes[6].batch)
          expect(changes[8].batch).toEqual(changes[9].batch)
          expect(changes[5].batch).not.toEqual(changes[8].batch)
          expect(changes[5].version).toBe(changes[6].version)
        }),
      timeout
    )

    it.effect("a value too large to be held inline comes without its value", () =>
      Effect.gen(function*() {
        const prefix = uniqueKey("large")
        const end = `${prefix}/end`
        const recorder = yield* recording(prefix, end)
        // Random bytes (they do not compress), larger than a head holds.
        const large = new Uint8Array(400 * 1024).map(() => Math.floor(Math.random() * 256))
        yield* KonserveStore.assoc(`${prefix}/big`, large)
        yield* KonserveStore.assoc(`${prefix}/small`, "y")
        yield* KonserveStore.assoc(end, true)
        const changes = yield* Fiber.join(recorder)
        expect(changes.map(summary)).toEqual([
          { key: `${prefix}/big`, op: "write", batch: false, value: undefined },
          { key: `${prefix}/small`, op: "write", batch: false, value: "y" }
        ])
      }), timeout)

    it.effect(
      "a subscriber too far behind ends with ChangesOverflow; writes go on, others see everything",
      () =>
        Effect.gen(function*() {
          const prefix = uniqueKey("overflow")
          const end = `${prefix}/end`
          const gate = yield* Deferred.make<void>()
          let slowSeen = 0
          const slow = yield* KonserveStore.changes.pipe(
            Stream.runForEach(() => Effect.zipRight(Deferred.await(gate), Effect.sync(() => slowSeen++))),
            Effect.fork
          )
          yield* untilWaiting(slow)
          const fast = yield* recording(prefix, end)
          // 11 atomic batches of 100 keys: 1,100 changes, more than a subscriber's 1,024.
          for (let batch = 0; batch < 11; batch++) {
            yield* KonserveStore.multiAssoc(
              Array.from({ length: 100 }, (_, i) => [`${prefix}/${batch}/${i}`, i] as const)
            )
            yield* Effect.yieldNow() // the fast subscriber's turn (MemoryStore's writes never wait)
          }
          yield* KonserveStore.assoc(end, true)
          expect((yield* Fiber.join(fast)).length).toBe(1100)
          yield* Deferred.succeed(gate, undefined)
          const exit = yield* Fiber.await(slow)
          if (Exit.isSuccess(exit)) return assert.fail("the slow subscriber did not fail")
          const error = Option.getOrThrow(Cause.failureOption(exit.cause))
          expect(error._tag).toBe("DynamoDBError")
          expect((error as { code?: string }).code).toBe("ChangesOverflow")
          // It received what it had queued, then the failure: never a silent gap.
          expect(slowSeen).toBeGreaterThanOrEqual(1024)
          expect(slowSeen).toBeLessThan(1100)
        }),
      timeout === undefined ? 30_000 : timeout
    )

    it.effect.prop(
      "replaying the changes onto an empty MemoryStore gives the store's state",
      { ops: FastCheck.array(opArbitrary, { minLength: 1, maxLength: 12 }) },
      ({ ops }) =>
        Effect.gen(function*() {
          const prefix = uniqueKey("replay")
          const key = (i: number) => `${prefix}/${i}`
          const end = `${prefix}/end`
          const recorder = yield* recording(prefix, end)
          for (const op of ops) {
            yield* Effect.either(runOp(op, key))
          }
          yield* KonserveStore.assoc(end, true)
          const changes = yield* Fiber.join(recorder)

          const replica = yield* MemoryStore.make()
          const last = new Map<string, Change>()
          for (const change of changes) {
            last.set(change.key, change)
            if (change.op === "remove") {
              yield* replica.dissoc(change.key)
            } else if (Option.isSome(change.value)) {
              yield* replica.assoc(change.key, change.value.value)
            } else {
              // Binaries and logs come without their content: the replica reads the source.
              const current = yield* KonserveStore.get(change.key)
              if (Option.isSome(current)) yield* replica.assoc(change.key, current.value)
            }
          }
          for (let i = 0; i < 4; i++) {
            const source = yield* KonserveStore.get(key(i))
            const copy = yield* replica.get(key(i))
            assert.isTrue(
              deepEqual(Option.getOrUndefined(source), Option.getOrUndefined(copy)),
              `key ${i}: the source and the replica differ`
            )
            const meta = yield* KonserveStore.getMeta(key(i))
            const change = last.get(key(i))
            if (Option.isSome(meta)) {
              // The last change of a live key is its current write.
              expect(change?.op).toBe("write")
              expect(change?.version).toBe(meta.value.version)
            } else if (change !== undefined) {
              expect(change.op).toBe("remove")
            }
          }
        }),
      propOptions(15)
    )
  })
}
