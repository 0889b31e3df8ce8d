/**
 * The set-up shared by the history tests (`npm test`, a few seeds) and the
 * soak (`npm run soak`, many): clients on one prefix of one table, each a
 * DynamoDBStore of its own behind one fault proxy, a seeded workload, and the
 * linearizability check of what they did. The seed replays the operations
 * and the fault draws; the interleaving is the machine's.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as DynamoDBStore from "../../src/DynamoDBStore.js"
import * as Version from "../../src/internal/version.js"
import type { KonserveError } from "../../src/KonserveError.js"
import type { KonserveStore } from "../../src/KonserveStore.js"
import { endpoint, storeConfig, uniqueTable } from "./dynamodb.js"
import * as Linearizability from "./linearizability.js"
import * as Proxy from "./proxy.js"
import * as Workload from "./workload.js"

/** Faults on every request: answers lost after the write applied, resets, throttling, 500s, latency. */
export const faults: Proxy.Plan = {
  lose: 0.1,
  reset: 0.04,
  throttle: 0.04,
  error500: 0.02,
  applied500: 0.02,
  delay: { probability: 0.05, maxMillis: 25 }
}

const table = uniqueTable("jepsen")
let prefixes = 0

/** Client i's clock offset for a skew of `millis`: ahead, behind, on time, in turn. */
export const skewOf = (i: number, millis: number): number => [millis, -millis, 0][i % 3]

/**
 * `count` stores on a fresh prefix, behind one proxy with `plan` drawn from
 * `seed`; with `skewMillis`, their clocks off by it (`skewOf`: ahead, behind,
 * on time, in turn).
 */
export const clients = (
  count: number,
  seed: number,
  plan: Proxy.Plan,
  extra?: Partial<DynamoDBStore.DynamoDBStoreConfig>,
  skewMillis = 0
): Effect.Effect<
  { readonly stores: ReadonlyArray<KonserveStore>; readonly proxy: Proxy.Proxy },
  KonserveError,
  Scope.Scope
> =>
  Effect.gen(function*() {
    const proxy = yield* Proxy.make(endpoint())
    const prefix = `s${seed}-${prefixes++}`
    const config = (url: string) =>
      storeConfig(url, table, { prefix, retry: { maxAttempts: 10, baseDelay: "2 millis" }, ...extra })
    // the table is made before the faults start
    yield* DynamoDBStore.make(config(endpoint()))
    proxy.setRule(Proxy.planned(plan, Proxy.random(seed)))
    const stores = yield* Effect.forEach(
      Array.from({ length: count }, (_, i) => i),
      (i) => Effect.locally(DynamoDBStore.make(config(proxy.endpoint)), Version.testSkewMillis, skewOf(i, skewMillis))
    )
    return { stores, proxy }
  })

/** One seeded history: its run, and whether it is linearizable. */
export const history = (seed: number, options: {
  readonly clients: number
  readonly workload: Workload.Workload
  readonly plan?: Proxy.Plan | undefined
  readonly config?: Partial<DynamoDBStore.DynamoDBStoreConfig> | undefined
  /** The clients' clocks off by this, ahead and behind (`skewOf`). */
  readonly skewMillis?: number | undefined
}) =>
  Effect.gen(function*() {
    const { proxy, stores } = yield* clients(
      options.clients,
      seed,
      options.plan ?? faults,
      options.config,
      options.skewMillis ?? 0
    )
    const run = yield* Workload.run(stores, options.workload, Proxy.random(seed ^ 0x5bd1e995))
    const result = Linearizability.check(run.history, Workload.model)
    return { run, result, faults: proxy.stats() }
  })

/**
 * Faults with late requests: some held longer than the clients' request
 * timeout (`lateTimeout`), so that the client gives up and resends while the
 * first attempt still reaches the engine after it.
 */
export const lateFaults: Proxy.Plan = { ...faults, delay: { probability: 0.08, maxMillis: 400 } }

/** The request timeout that `lateFaults` outlast. */
export const lateTimeout = "150 millis"

/** A failure message that lets the history be replayed and read. */
export const explain = (
  seed: number,
  run: Workload.Run,
  result: Linearizability.Result
): string =>
  result.linearizable
    ? ""
    : `seed ${seed}: the history is not linearizable (replay: HISTORY_SEED=${seed}); ` +
      `outcomes ${JSON.stringify(run.outcomes)}; longest explained prefix: ${result.longestPrefix.length} of ` +
      `${run.history.length} operations\n${Workload.show(run.history)}`
