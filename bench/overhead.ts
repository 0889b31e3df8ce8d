/**
 * The library's own CPU per operation, apart from the AWS SDK and the
 * network: `npx tsx bench/overhead.ts`. A store runs on DynamoDB Local long
 * enough to record one real answer per command; then its client's `send` is
 * swapped for one that returns the recorded answer at once, and the same
 * operations run again, timed. What remains is what the store adds on top of
 * the SDK (Effect, request building, decoding): the number the profile's
 * "konserve-dynamodb" and "effect" rows add up to, without the sampling noise.
 * A tool for profiling, not a test: the answers are canned.
 */
import * as Effect from "effect/Effect"
import { performance } from "node:perf_hooks"
import * as Engine from "../src/internal/dynamoDBLocal.js"
import { KiB, localClient, randomBytes } from "./harness.js"
import * as Store from "./store.js"

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true"

const OPS = Number(process.env.OVERHEAD_OPS ?? 100_000)
const ROUNDS = 5

const main = async () => {
  const engine = await Engine.start()
  const client = localClient(engine.endpoint)
  // The store binds `send` when its layer is built: the switch between real and canned answers is inside.
  const answers = new Map<string, unknown>()
  let canned = false
  const send = client.send.bind(client) as (command: unknown, options?: unknown) => Promise<unknown>
  Object.assign(client, {
    send: async (command: { constructor: { name: string } }, options?: unknown) => {
      if (canned) return answers.get(command.constructor.name)
      const output = await send(command, options)
      answers.set(command.constructor.name, output)
      return output
    }
  })
  const stores = Store.stores(client)
  try {
    const store = await stores.open(`overhead-${Date.now()}`)
    const value = randomBytes(KiB)
    const keys = Array.from({ length: 100 }, (_, i) => `k${i}`)
    await Effect.runPromise(Store.repeat(keys.length, 8, (i) => Store.assoc(store, keys[i], value)))
    await Effect.runPromise(Store.assoc(store, "k0", value))
    await Effect.runPromise(Store.multiGet(store, keys))
    await Effect.runPromise(Store.get(store, "k0"))
    canned = true
    const workloads: Record<string, (n: number) => Effect.Effect<void, unknown>> = {
      "get 1 KiB": (n) => Store.repeat(n, 32, () => Store.get(store, "k0")),
      "assoc 1 KiB": (n) => Store.repeat(n, 32, () => Store.assoc(store, "k0", value)),
      "multiGet 100 keys (per key)": (n) => Store.repeat(n / 100, 1, () => Store.multiGet(store, keys))
    }
    for (const [name, workload] of Object.entries(workloads)) {
      await Effect.runPromise(workload(OPS / 5))
      const results: Array<number> = []
      for (let round = 0; round < ROUNDS; round++) {
        const cpu = process.cpuUsage()
        const start = performance.now()
        await Effect.runPromise(workload(OPS))
        const used = process.cpuUsage(cpu)
        results.push(Math.min((used.user + used.system) / OPS, (performance.now() - start) * 1000 / OPS))
      }
      results.sort((a, b) => a - b)

      console.log(
        `${name}: ${results[Math.floor(ROUNDS / 2)].toFixed(1)} µs of CPU per operation (median of ${ROUNDS})`
      )
    }
  } finally {
    canned = false
    await stores.close().catch(() => undefined)
    client.destroy()
    await engine.stop()
  }
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
