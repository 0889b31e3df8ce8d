/**
 * Histories checked against a model, Jepsen style: three clients (three
 * stores, three SDK clients) behind one fault-injecting proxy run seeded
 * random operations on three keys (blind, `ifAbsent` and `ifVersion`
 * assoc, update, dissoc, atomic multiAssoc, get, getMeta); every history
 * must be linearizable, unknown outcomes included. Then the bank: transfers
 * by atomic `multiAssoc` with `ifVersion` keep the total at every consistent
 * read. A few seeds here; `npm run soak` runs many (test/soak/).
 */
import { assert, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as MemoryStore from "../src/MemoryStore.js"
import * as Jepsen from "./utils/jepsen.js"
import * as Linearizability from "./utils/linearizability.js"
import * as Proxy from "./utils/proxy.js"
import * as Workload from "./utils/workload.js"

const workload: Workload.Workload = { keys: ["a", "b", "c"], opsPerClient: 40 }

/** Seeds: `HISTORY_SEED` replays one; else these. */
const seeds = process.env.HISTORY_SEED !== undefined ? [Number(process.env.HISTORY_SEED)] : [1, 2, 3]

describe("histories are linearizable", () => {
  it.effect("the model and the checker agree with MemoryStore (no faults)", () =>
    Effect.gen(function*() {
      const store = yield* MemoryStore.make()
      const run = yield* Workload.run([store, store, store], workload, Proxy.random(7))
      const result = Linearizability.check(run.history, Workload.model)
      assert.isTrue(result.linearizable, Jepsen.explain(7, run, result))
    }))

  it.effect("the check can fail: a store whose update sometimes applies twice is caught", () =>
    Effect.gen(function*() {
      const store = yield* MemoryStore.make()
      let updates = 0
      // every fifth update writes f(f(x)), as a retry that re-ran f on its own write would
      const broken: typeof store = {
        ...store,
        update: (key, f, options) =>
          store.update(key, (current) => ++updates % 5 === 0 ? f(Option.some(f(current))) : f(current), options)
      }
      const run = yield* Workload.run([broken, broken, broken], workload, Proxy.random(7))
      expect(Linearizability.check(run.history, Workload.model).linearizable).toBe(false)
    }))

  for (const seed of seeds) {
    it.scopedLive(
      `seed ${seed}: 3 clients, faults on every request (lost answers, resets, throttling, 500s, latency)`,
      () =>
        Effect.gen(function*() {
          const { faults, result, run } = yield* Jepsen.history(seed, { clients: 3, workload })
          expect(faults.Lose + faults.Reset + faults.Applied500).toBeGreaterThan(10)
          assert.isTrue(result.linearizable, Jepsen.explain(seed, run, result))
          expect(run.writes).toBeGreaterThan(50)
        }),
      120_000
    )
  }
})

describe("the bank", () => {
  const accounts = ["acct0", "acct1", "acct2", "acct3", "acct4"]
  const initial = 100

  interface Balance {
    readonly balance: number
    readonly transfer: string
  }

  it.scopedLive(
    "transfers by atomic multiAssoc with ifVersion keep the total at every consistent read",
    () =>
      Effect.gen(function*() {
        const seed = 42
        const { stores } = yield* Jepsen.clients(3, seed, Jepsen.faults)
        const random = Proxy.random(seed)
        // every transfer rewrites every account in one transaction: all accounts share one version
        yield* stores[0].multiAssoc(accounts.map((key) => [key, { balance: initial, transfer: "t0" }] as const))
        let consistentReads = 0
        let outcomes = { ok: 0, conflict: 0, unknown: 0, failed: 0 }
        const transfer = (store: (typeof stores)[number], id: string) =>
          Effect.gen(function*() {
            const meta = yield* store.getMeta(accounts[0])
            if (meta._tag === "None") return
            const balances = yield* store.multiGet(accounts)
            const current = accounts.map((key) => balances.get(key) as Balance)
            const from = Math.floor(random() * accounts.length)
            const to = (from + 1 + Math.floor(random() * (accounts.length - 1))) % accounts.length
            const amount = Math.floor(random() * 20)
            const next = current.map((account, i) => ({
              balance: account.balance - (i === from ? amount : 0) + (i === to ? amount : 0),
              transfer: id
            }))
            yield* store.multiAssoc(accounts.map((key, i) => [key, next[i]] as const), {
              ifVersion: meta.value.version
            })
          }).pipe(
            Effect.map(() => "ok" as const),
            Effect.catchAll((error) =>
              Effect.succeed(
                error._tag === "ConditionFailed"
                  ? "conflict" as const
                  : error._tag === "DynamoDBError" && error.code === "UnknownOutcome"
                  ? "unknown" as const
                  : "failed" as const
              )
            ),
            Effect.map((outcome) => {
              outcomes = { ...outcomes, [outcome]: outcomes[outcome] + 1 }
            })
          )
        const read = (store: (typeof stores)[number]) =>
          Effect.map(Effect.either(store.multiGet(accounts)), (result) => {
            if (result._tag === "Left") return
            const snapshot = accounts.map((key) => result.right.get(key) as Balance)
            // multiGet is not a snapshot: only reads that saw one transfer's accounts are consistent
            if (new Set(snapshot.map((account) => account.transfer)).size !== 1) return
            consistentReads++
            expect(snapshot.reduce((sum, account) => sum + account.balance, 0)).toBe(initial * accounts.length)
          })
        yield* Effect.forEach(stores, (store, c) =>
          Effect.forEach(
            Array.from({ length: 25 }, (_, i) => i),
            (i) => i % 3 === 2 ? read(store) : transfer(store, `t${c}.${i}`),
            { discard: true }
          ), { concurrency: "unbounded", discard: true })
        // quiescent: every account from one transfer, the total intact
        const final = yield* stores[0].multiGet(accounts)
        const snapshot = accounts.map((key) => final.get(key) as Balance)
        expect(new Set(snapshot.map((account) => account.transfer)).size).toBe(1)
        expect(snapshot.reduce((sum, account) => sum + account.balance, 0)).toBe(initial * accounts.length)
        expect(outcomes.ok).toBeGreaterThan(0)
        expect(consistentReads).toBeGreaterThan(0)
      }),
    120_000
  )
})
