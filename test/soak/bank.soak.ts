/**
 * `npm run soak`: the bank on `transact` over many seeds, longer than
 * `npm test`'s (test/transact.test.ts): 4 writers and 2 auditors through the
 * fault proxy, every audit must see the total and every history must be
 * linearizable. `SOAK_SEEDS` sets how many (default 20), `SOAK_SEED` the
 * first; replay one with `BANK_SEED=<seed> npx vitest run test/transact.test.ts`.
 */
import { assert, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Bank from "../utils/bank.js"
import * as Jepsen from "../utils/jepsen.js"
import * as Linearizability from "../utils/linearizability.js"
import * as Proxy from "../utils/proxy.js"

const first = Number(process.env.SOAK_SEED ?? Date.now() % 1_000_000)
const count = Number(process.env.SOAK_SEEDS ?? 20)
const ACCOUNTS = 10
const INITIAL = 100

describe(`soak: the bank on transact, ${count} seeds from ${first}`, () => {
  for (let seed = first; seed < first + count; seed++) {
    it.scopedLive(
      `seed ${seed}: 4 writers × 25 transfers, 2 auditors × 10 audits, faults on every request`,
      () =>
        Effect.gen(function*() {
          const { stores } = yield* Jepsen.clients(6, seed, Jepsen.faults)
          yield* Effect.retry(
            stores[0].multiAssoc(Array.from({ length: ACCOUNTS }, (_, i) => [Bank.accountKey(i), INITIAL] as const)),
            { times: 5 }
          )
          const run = yield* Bank.run(stores.slice(0, 4), stores.slice(4), {
            accounts: ACCOUNTS,
            initial: INITIAL,
            transfersPerWriter: 25,
            auditsPerAuditor: 10,
            random: Proxy.random(seed ^ 0x2545f491)
          })
          expect(run.badAudits).toEqual([])
          const result = Linearizability.check(run.history, Bank.model(ACCOUNTS, INITIAL))
          assert.isTrue(result.linearizable, `seed ${seed}: not linearizable; outcomes ${JSON.stringify(run.outcomes)}`)
        }),
      600_000
    )
  }
})
