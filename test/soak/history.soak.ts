/**
 * `npm run soak`: many seeded histories, longer than `npm test`'s, each
 * checked for linearizability. `SOAK_SEEDS` sets how many (default 40),
 * `SOAK_SEED` the first (default: drawn from the clock, and printed); a
 * failing seed is replayed with `HISTORY_SEED=<seed> npx vitest run
 * test/history.test.ts`, or `SOAK_SEED=<seed> SOAK_SEEDS=1 npm run soak`.
 */
import { assert, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Jepsen from "../utils/jepsen.js"

const first = Number(process.env.SOAK_SEED ?? Date.now() % 1_000_000)
const count = Number(process.env.SOAK_SEEDS ?? 40)
/** The writers' clock skew: client i runs this far ahead, behind, or on time (`Jepsen.skewOf`); default 5 minutes. */
const skewMinutes = Number(process.env.SOAK_SKEW_MINUTES ?? 5)

console.log(
  `soak: ${count} seeds from ${first}, writers' clocks ±${skewMinutes} minutes off ` +
    "(replay one: SOAK_SEED=<seed> SOAK_SEEDS=1 npm run soak)"
)

const totals = { operations: 0, writes: 0, unknownWrites: 0, faults: 0 }
/** Why outcomes were unknown, by the gist of their message. */
const reasons = new Map<string, number>()

describe(`soak: ${count} histories from seed ${first}`, () => {
  for (let seed = first; seed < first + count; seed++) {
    // odd seeds: 4 clients, and requests that reach the engine after their client timed out and resent them
    const late = seed % 2 === 1
    const clients = late ? 4 : 3
    const what = late ? "late requests and faults" : "faults on every request"
    it.scopedLive(
      `seed ${seed}: ${clients} clients × 80 operations on 3 keys, ${what}, clocks ±${skewMinutes} min`,
      () =>
        Effect.gen(function*() {
          const { faults, result, run } = yield* Jepsen.history(seed, {
            clients,
            workload: { keys: ["a", "b", "c"], opsPerClient: 80 },
            skewMillis: skewMinutes * 60_000,
            ...(late ? { plan: Jepsen.lateFaults, config: { timeouts: { request: Jepsen.lateTimeout } } } : {})
          })
          totals.operations += run.history.length
          totals.writes += run.writes
          totals.unknownWrites += run.unknownWrites
          for (const message of run.unknowns) {
            const gist = message.replace(/^[a-zA-Z]+ of key "[^"]*": /, "").replace(
              /\(\d+ attempts?; last: ([A-Za-z]+)[^)]*\)/,
              "(last: $1)"
            ).replace(/\(.*\)/, "(…)")
            reasons.set(gist, (reasons.get(gist) ?? 0) + 1)
          }
          totals.faults += faults.Lose + faults.Reset + faults.Throttle + faults.Error500 + faults.Applied500
          assert.isTrue(result.linearizable, Jepsen.explain(seed, run, result))
          expect(run.unknownWrites / run.writes).toBeLessThan(0.05)
        }),
      300_000
    )
  }

  it("summary", () => {
    console.log(
      `soak: ${count} histories, ${totals.operations} operations, ${totals.faults} faults injected, ` +
        `${totals.unknownWrites} of ${totals.writes} writes UnknownOutcome ` +
        `(${(100 * totals.unknownWrites / Math.max(1, totals.writes)).toFixed(2)}%)` +
        Array.from(reasons, ([gist, n]) => `\n  ${n} × ${gist}`).join("")
    )
  })
})
