/**
 * Several workloads, comma-separated (`npm run profile -- store-get,raw-get`):
 * measured without the profiler in interleaved rounds, the median client
 * CPU per operation of each.
 *
 * One workload, profiled: `npm run profile -- <workload>` where workload is
 * one of `store-get`, `raw-get`, `store-assoc`, `raw-put`, `store-multiget`,
 * `raw-multiget`, `store-keys`, `raw-scan`. It starts its own DynamoDB Local
 * (a separate process: not in the profile), fills a table, warms up, then
 * profiles only the measured part with the V8 profiler (`node:inspector`) and
 * writes `bench/profiles/<workload>.cpuprofile`, which
 * `npx tsx bench/profile-summary.ts <file>` summarizes.
 */
import { GetItemCommand, UpdateItemCommand } from "@aws-sdk/client-dynamodb"
import * as Effect from "effect/Effect"
import * as Fs from "node:fs"
import { Session } from "node:inspector/promises"
import { performance } from "node:perf_hooks"
import * as Requests from "../src/internal/dynamodb/requests/index.js"
import * as Engine from "../src/internal/dynamoDBLocal.js"
import * as Version from "../src/internal/version.js"
import { KiB, localClient, median, randomBytes } from "./harness.js"
import * as Raw from "./raw.js"
import * as Store from "./store.js"

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true"

const workload = process.argv[2] ?? "store-get"
const OPS = Number(process.env.PROFILE_OPS ?? 6000)
const CONCURRENCY = 32
const KEYS = 500

const main = async () => {
  const engine = await Engine.start()
  const client = localClient(engine.endpoint)
  const stores = Store.stores(client)
  try {
    const table = `profile-${Date.now()}`
    const store = await stores.open(table)
    const rawTable = `${table}-raw`
    await Raw.createTable(client, rawTable)
    const value = randomBytes(KiB)
    const keys = Array.from({ length: KEYS }, (_, i) => `k${i}`)
    await Effect.runPromise(Store.repeat(KEYS, 32, (i) => Store.assoc(store, keys[i], value)))
    await Promise.all(keys.map((key) => Raw.put(client, rawTable, key, value)))

    const pool = async (n: number, op: (i: number) => Promise<unknown>) => {
      let next = 0
      await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
        while (next < n) await op(next++)
      }))
    }
    const run: Record<string, (n: number) => Promise<unknown>> = {
      "store-get": (n) => Effect.runPromise(Store.repeat(n, CONCURRENCY, (i) => Store.get(store, keys[i % KEYS]))),
      "raw-get": (n) => pool(n, (i) => Raw.get(client, rawTable, keys[i % KEYS])),
      // The raw SDK as an Effect program would call it: Effect.tryPromise, the same forEach as the store's workloads.
      "raw-get-in-effect": (n) =>
        Effect.runPromise(
          Store.repeat(n, CONCURRENCY, (i) =>
            Effect.asVoid(Effect.tryPromise(() =>
              Raw.get(client, rawTable, keys[i % KEYS])
            )))
        ),
      // The store's own GetItem (its projection, on its table), sent with the raw SDK: the request's shape without the library.
      "raw-get-as-store": (n) =>
        pool(n, (i) =>
          client.send(
            new GetItemCommand(Requests.getHead(table, `:${keys[i % KEYS]}`, "value", true))
          )),
      "store-assoc": (n) =>
        Effect.runPromise(Store.repeat(n, CONCURRENCY, (i) => Store.assoc(store, keys[i % KEYS], value))),
      // The store's own UpdateItem of a blind assoc (built by its request builder), sent with the raw SDK.
      "raw-update-as-store": (n) => {
        const versions = Version.makeClock()
        return pool(n, (i) => {
          const key = keys[i % KEYS]
          const stored = new Uint8Array(value.length + 4)
          stored.set(value, 4)
          return client.send(
            new UpdateItemCommand(Requests.updateHead(table, {
              key,
              pk: `:${key}`,
              operation: "assoc",
              now: Date.now(),
              condition: { _tag: "None" },
              guard: { _tag: "NoContent" },
              fields: {
                kind: "value",
                version: versions.next(),
                lastWrite: Date.now(),
                size: stored.length,
                expiresAt: undefined,
                sweepAt: undefined,
                user: undefined,
                content: { _tag: "Inline", bytes: stored }
              }
            }))
          )
        })
      },
      "raw-put": (n) => pool(n, (i) => Raw.put(client, rawTable, keys[i % KEYS], value)),
      "store-multiget": (n) =>
        Effect.runPromise(Store.repeat(Math.ceil(n / 500), 1, () => Store.multiGet(store, keys))),
      "raw-multiget": async (n) => {
        for (let i = 0; i < Math.ceil(n / 500); i++) await Raw.multiGet(client, rawTable, keys)
      },
      "store-keys": (n) => Effect.runPromise(Store.repeat(Math.ceil(n / 500), 1, () => Store.keys(store, KEYS))),
      "raw-scan": async (n) => {
        for (let i = 0; i < Math.ceil(n / 500); i++) await Raw.keys(client, rawTable)
      }
    }
    const names = workload.split(",")
    for (const name of names) {
      if (run[name] === undefined) throw new Error(`unknown workload ${name}: one of ${Object.keys(run).join(", ")}`)
      await run[name](Math.min(OPS, 2000)) // warm-up
    }
    if (names.length > 1) {
      // Several workloads: no profiler, interleaved rounds (the order flips each round), medians of CPU per operation.
      const rounds = Number(process.env.PROFILE_ROUNDS ?? 5)
      const cpuPerOp = new Map<string, Array<number>>(names.map((name) => [name, []]))
      for (let round = 0; round < rounds; round++) {
        for (const name of round % 2 === 0 ? names : [...names].reverse()) {
          const cpu = process.cpuUsage()
          await run[name](OPS)
          const used = process.cpuUsage(cpu)
          cpuPerOp.get(name)!.push((used.user + used.system) / OPS)
        }
      }
      for (const [name, values] of cpuPerOp) {
        console.log(`${name}: client CPU ${median(values).toFixed(0)} µs/op (median of ${rounds} rounds of ${OPS})`)
      }
      return
    }
    const op = run[workload]
    const session = new Session()
    session.connect()
    await session.post("Profiler.enable")
    await session.post("Profiler.setSamplingInterval", { interval: 100 })
    await session.post("Profiler.start")
    const cpu = process.cpuUsage()
    const start = performance.now()
    await op(OPS)
    const used = process.cpuUsage(cpu)
    const wall = performance.now() - start
    const { profile } = await session.post("Profiler.stop")
    session.disconnect()
    Fs.mkdirSync("bench/profiles", { recursive: true })
    Fs.writeFileSync(`bench/profiles/${workload}.cpuprofile`, JSON.stringify(profile))

    console.log(
      `${workload}: ${OPS} ops in ${wall.toFixed(0)} ms, client CPU ${
        ((used.user + used.system) / OPS).toFixed(0)
      } µs/op`
    )
  } finally {
    await stores.close()
    client.destroy()
    await engine.stop()
  }
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
