/**
 * Compliance: `transact(keys, f)` (API.md "Transactions"). Called from
 * `test/compliance.ts` for every backend.
 */
import type { Vitest } from "@effect/vitest"
import { assert, expect } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as KonserveStore from "../../src/KonserveStore.js"
import { deepEqual } from "../utils/deepEqual.js"
import { untilWaiting } from "./changes.js"

type It = Vitest.MethodsNonLive<KonserveStore.KonserveStore>

const runId = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`
let sequence = 0
const uniqueKey = (label: string): string => `tx-${label}/${runId}/${(sequence++).toString(36)}`

/** The typed failure of an effect that must fail. */
const failure = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.map(Effect.exit(self), (exit) => {
    if (Exit.isSuccess(exit)) return assert.fail(`expected a failure, got ${String(exit.value)}`)
    return Option.getOrThrowWith(Cause.failureOption(exit.cause), () => new Error(Cause.pretty(exit.cause)))
  })

const tagOf = (error: unknown): unknown => (error as { readonly _tag?: unknown })._tag

const values = (keys: ReadonlyArray<string>) =>
  Effect.map(KonserveStore.multiGet(keys), (found) => keys.map((key) => found.get(key)))

/** Moves `amount` from `from` to `to` (absent: 0). */
const transfer = (from: string, to: string, amount: number) =>
  KonserveStore.transact([from, to], (current) => {
    const a = (current.get(from) as number | undefined) ?? 0
    const b = (current.get(to) as number | undefined) ?? 0
    return Effect.succeed({ assoc: [[from, a - amount], [to, b + amount]] as const, result: a - amount })
  })

/** The compliance cases of `transact`. */
export const transactSuite = (
  block: (title: string, f: (it: It) => void) => void,
  timeout: number | undefined
): void => {
  block("transact", (it) => {
    it.effect("reads the keys, commits the plan atomically, resolves to its result", () =>
      Effect.gen(function*() {
        const [a, b, c] = [uniqueKey("a"), uniqueKey("b"), uniqueKey("c")]
        yield* KonserveStore.multiAssoc({ [a]: 100, [c]: "gone soon" })
        let seen: ReadonlyMap<string, unknown> = new Map()
        const result = yield* KonserveStore.transact([a, b, c, a], (current) => {
          seen = current
          return Effect.succeed({ assoc: { [a]: 60, [b]: 40 }, dissoc: [c], result: "done" })
        })
        expect(result).toBe("done")
        // Absent keys are missing from the map; duplicates are read once.
        expect(Array.from(seen.entries())).toEqual([[a, 100], [c, "gone soon"]])
        expect(yield* values([a, b, c])).toEqual([60, 40, undefined])
        expect(yield* transfer(a, b, 10)).toBe(50)
        expect(yield* values([a, b])).toEqual([50, 50])
        // The whole plan is one version.
        const [ma, mb] = [yield* KonserveStore.getMeta(a), yield* KonserveStore.getMeta(b)]
        expect(Option.getOrThrow(ma).version).toBe(Option.getOrThrow(mb).version)
      }), timeout)

    it.effect(
      "a plan with no writes changes nothing; a value of any size is read and written whole",
      () =>
        Effect.gen(function*() {
          const [a, big] = [uniqueKey("a"), uniqueKey("big")]
          const bytes = new Uint8Array(500 * 1024).map(() => Math.floor(Math.random() * 256))
          yield* KonserveStore.assoc(a, { n: 1 })
          const before = Option.getOrThrow(yield* KonserveStore.getMeta(a)).version
          const read = yield* KonserveStore.transact([a, big], (current) => Effect.succeed({ result: current.get(a) }))
          expect(read).toEqual({ n: 1 })
          expect(Option.getOrThrow(yield* KonserveStore.getMeta(a)).version).toBe(before)
          yield* KonserveStore.transact([big], () => Effect.succeed({ assoc: [[big, bytes]] as const, result: null }))
          const copied = yield* KonserveStore.transact(
            [big, a],
            (current) => Effect.succeed({ assoc: { [a]: current.get(big) }, result: null })
          )
          expect(copied).toBe(null)
          assert.isTrue(deepEqual(Option.getOrThrow(yield* KonserveStore.get(a)), bytes), "the copied value differs")
        }),
      timeout
    )

    it.effect(
      "a concurrent write to a key read (read-only too) makes f run again on fresh values",
      () =>
        Effect.gen(function*() {
          const [a, b, rate] = [uniqueKey("a"), uniqueKey("b"), uniqueKey("rate")]
          yield* KonserveStore.multiAssoc({ [a]: 100, [b]: 0, [rate]: 2 })
          let runs = 0
          const result = yield* KonserveStore.transact([a, b, rate], (current) =>
            Effect.gen(function*() {
              runs++
              // Another writer changes the read-only key while f runs (no lock is held: it is not blocked).
              if (runs === 1) yield* KonserveStore.assoc(rate, 3)
              const factor = current.get(rate) as number
              return { assoc: { [a]: (current.get(a) as number) - 10, [b]: 10 * factor }, result: factor }
            }))
          expect(runs).toBe(2)
          expect(result).toBe(3)
          expect(yield* values([a, b, rate])).toEqual([90, 30, 3])
        }),
      timeout
    )

    it.effect(
      "when every attempt conflicts, retries are spent: ConditionFailed with operation transact",
      () =>
        Effect.gen(function*() {
          const [a, b] = [uniqueKey("a"), uniqueKey("b")]
          yield* KonserveStore.assoc(a, 0)
          let runs = 0
          const error = yield* failure(KonserveStore.transact([a, b], (current) =>
            Effect.gen(function*() {
              runs++
              yield* KonserveStore.assoc(a, runs * 100)
              return { assoc: { [b]: current.get(a) }, result: undefined }
            }), { retries: 2 }))
          expect(tagOf(error)).toBe("ConditionFailed")
          expect((error as { operation?: string }).operation).toBe("transact")
          expect(runs).toBe(3)
          expect(yield* KonserveStore.exists(b)).toBe(false)
        }),
      timeout
    )

    it.effect("f's failure aborts with nothing written", () =>
      Effect.gen(function*() {
        const [a, b] = [uniqueKey("a"), uniqueKey("b")]
        yield* KonserveStore.assoc(a, 5)
        const error = yield* failure(KonserveStore.transact([a, b], (current) =>
          (current.get(a) as number) < 10
            ? Effect.fail({ _tag: "Insufficient" as const })
            : Effect.succeed({ assoc: { [a]: 0, [b]: 10 }, result: undefined })))
        expect(error).toEqual({ _tag: "Insufficient" })
        expect(yield* values([a, b])).toEqual([5, undefined])
      }), timeout)

    it.effect(
      "limits: more than 100 keys before f runs; unread or doubly named keys; binaries and logs",
      () =>
        Effect.gen(function*() {
          const [a, b, bin, log] = [uniqueKey("a"), uniqueKey("b"), uniqueKey("bin"), uniqueKey("log")]
          let runs = 0
          const counted = <A>(plan: KonserveStore.TransactPlan<A>) =>
            Effect.sync(() => {
              runs++
              return plan
            })
          const many = Array.from({ length: 101 }, (_, i) => `${a}/${i}`)
          const limit = yield* failure(KonserveStore.transact(many, () => counted({ result: 1 })))
          expect(tagOf(limit)).toBe("TransactionLimitExceeded")
          expect(limit).toMatchObject({ operation: "transact", items: 101, limit: 100 })
          expect(runs).toBe(0)
          // Duplicates count once.
          expect(yield* KonserveStore.transact([...many.slice(0, 100), many[0]], () => counted({ result: 2 }))).toBe(2)

          const unread = yield* failure(KonserveStore.transact([a], () => counted({ assoc: { [b]: 1 }, result: 0 })))
          expect(tagOf(unread)).toBe("InvalidKey")
          const unreadRemoval = yield* failure(KonserveStore.transact([a], () => counted({ dissoc: [b], result: 0 })))
          expect(tagOf(unreadRemoval)).toBe("InvalidKey")
          const both = yield* failure(
            KonserveStore.transact([a, b], () => counted({ assoc: { [a]: 1 }, dissoc: [a], result: 0 }))
          )
          expect(tagOf(both)).toBe("InvalidKey")
          expect(yield* KonserveStore.multiGet([a, b])).toEqual(new Map())

          yield* KonserveStore.bassoc(bin, new Uint8Array([1, 2]))
          yield* KonserveStore.append(log, "x")
          runs = 0
          for (const key of [bin, log]) {
            const kind = yield* failure(KonserveStore.transact([a, key], () => counted({ result: 0 })))
            expect(tagOf(kind)).toBe("InvalidKey")
          }
          expect(runs).toBe(0)
          const invalid = yield* failure(KonserveStore.transact([""], () => counted({ result: 0 })))
          expect(tagOf(invalid)).toBe("InvalidKey")
          const unstorable = yield* failure(
            KonserveStore.transact([a], () => counted({ assoc: { [a]: () => 1 }, result: 0 }))
          )
          expect(tagOf(unstorable)).toBe("SerializationError")
          expect(yield* KonserveStore.exists(a)).toBe(false)
        }),
      timeout
    )

    it.effect("one transaction is one batch in changes", () =>
      Effect.gen(function*() {
        const [a, b, c] = [uniqueKey("a"), uniqueKey("b"), uniqueKey("c")]
        yield* KonserveStore.assoc(c, 1)
        const recorder = yield* KonserveStore.changes.pipe(
          Stream.filter((change) => [a, b, c].includes(change.key)),
          Stream.take(3),
          Stream.runCollect,
          Effect.fork
        )
        yield* untilWaiting(recorder)
        yield* KonserveStore.transact([a, b, c], () =>
          Effect.succeed({ assoc: { [a]: 1, [b]: 2 }, dissoc: [c], result: 0 }))
        const changes = Array.from(yield* Fiber.join(recorder))
        expect(changes.map((change) => [change.key, change.op])).toEqual([[a, "write"], [b, "write"], [c, "remove"]])
        const batches = new Set(changes.map((change) =>
          Option.getOrThrow(change.batch)
        ))
        expect(batches.size).toBe(1)
        expect(changes[0].version).toBe(changes[2].version)
      }), timeout)

    it.effect("the typed view: f sees and returns decoded values", () =>
      Effect.gen(function*() {
        const [a, b] = [uniqueKey("a"), uniqueKey("b")]
        const Account = Schema.Struct({ owner: Schema.String, since: Schema.Date })
        const accounts = yield* KonserveStore.forSchema(Account)
        yield* accounts.assoc(a, { owner: "ann", since: new Date(0) })
        const moved = yield* accounts.transact([a, b], (current) => {
          const account = current.get(a)!
          expect(account.since).toBeInstanceOf(Date)
          return Effect.succeed({ assoc: { [b]: { ...account, owner: "bob" } }, dissoc: [a], result: account.owner })
        })
        expect(moved).toBe("ann")
        // What is stored is the schema's encoded form.
        expect(yield* KonserveStore.get(b)).toEqual(Option.some({ owner: "bob", since: new Date(0).toISOString() }))
        const bad = yield* failure(
          accounts.transact([b], () => Effect.succeed({ assoc: { [b]: { owner: 1 } as never }, result: 0 }))
        )
        expect(tagOf(bad)).toBe("SerializationError")
        yield* KonserveStore.assoc(a, "not an account")
        const undecodable = yield* failure(accounts.transact([a], () => Effect.succeed({ result: 0 })))
        expect(tagOf(undecodable)).toBe("DecodeError")
      }), timeout)
  })
}
