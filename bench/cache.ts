/**
 * `KonserveStore.layerCache` against the raw SDK, on DynamoDB Local:
 * `npx tsx --expose-gc bench/cache.ts` (CACHE_SECONDS per phase, default 3).
 *
 * - raw: `GetItem` of a 1 KiB item at concurrency 16, ops/s;
 * - cached `get` of a 1 KiB value at concurrency 16 (every read a hit),
 *   ops/s and the client's CPU per hit;
 * - a 90%-hit workload at concurrency 16: nine reads in ten of the hot key,
 *   one of a key not cached yet (each cold key read once), ops/s;
 * - hit and miss latency one at a time (median, p99);
 * - heap per cached KiB: 2,000 values of 1 KiB cached, heap before and after.
 *
 * The cache is built as in production, with an invalidation stream
 * (`Stream.never`: nothing changes) rather than a ttl. Figures from a busy
 * machine are indicative only: the ratios matter, not the absolute numbers.
 */
import { GetItemCommand } from "@aws-sdk/client-dynamodb"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { performance } from "node:perf_hooks"
import * as DynamoDBStore from "../src/DynamoDBStore.js"
import * as Engine from "../src/internal/dynamoDBLocal.js"
import * as KonserveStore from "../src/KonserveStore.js"
import { collect, KiB, localClient, median, randomBytes } from "./harness.js"
import * as Raw from "./raw.js"

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true"

const SECONDS = Number(process.env.CACHE_SECONDS ?? 3)
const CONCURRENCY = 16
const COLD_KEYS = 3000

const log = (line: string) => console.log(line)

/** Runs `op` at `concurrency` for about `seconds`; ops/s and CPU µs per op. */
const throughput = async (seconds: number, concurrency: number, op: (i: number) => Promise<void>) => {
  let done = 0
  const end = performance.now() + seconds * 1000
  const cpu = process.cpuUsage()
  const start = performance.now()
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) await op(done++)
  }))
  const used = process.cpuUsage(cpu)
  const elapsed = (performance.now() - start) / 1000
  return { opsPerSecond: done / elapsed, cpuMicrosPerOp: (used.user + used.system) / done, ops: done }
}

/** The same as `throughput`, for an Effect run in batches of `concurrency` fibers. */
const effectThroughput = async (
  seconds: number,
  concurrency: number,
  op: (i: number) => Effect.Effect<unknown, unknown>
) => {
  let done = 0
  const end = performance.now() + seconds * 1000
  const worker = Effect.gen(function*() {
    while (performance.now() < end) {
      // a batch of hits between yields to the event loop, as a server handling requests would
      for (let i = 0; i < 64 && performance.now() < end; i++) yield* op(done++)
      yield* Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))
    }
  })
  const cpu = process.cpuUsage()
  const start = performance.now()
  await Effect.runPromise(Effect.all(Array.from({ length: concurrency }, () => worker), { concurrency: "unbounded" }))
  const used = process.cpuUsage(cpu)
  const elapsed = (performance.now() - start) / 1000
  return { opsPerSecond: done / elapsed, cpuMicrosPerOp: (used.user + used.system) / done, ops: done }
}

const percentile = (values: Array<number>, p: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]
}

const main = async () => {
  const engine = await Engine.start()
  const client = localClient(engine.endpoint)
  const rawClient = localClient(engine.endpoint)
  const scope = Effect.runSync(Scope.make())
  try {
    const table = `cache-${Date.now()}`
    const rawTable = `cache-raw-${Date.now()}`
    await Raw.createTable(rawClient, rawTable)
    const value = randomBytes(KiB)
    await Raw.put(rawClient, rawTable, "hot", value)

    const cached = await Effect.runPromise(
      Layer.buildWithScope(
        KonserveStore.layerCache({ invalidations: Stream.never }).pipe(
          Layer.provideMerge(DynamoDBStore.layerWithClient({ client, table }))
        ),
        scope
      ).pipe(Effect.map(Context.get(KonserveStore.KonserveStore)))
    )
    await Effect.runPromise(cached.assoc("hot", value))
    const cold = Array.from({ length: COLD_KEYS }, (_, i) => `cold-${i}`)
    for (let i = 0; i < cold.length; i += 500) {
      await Effect.runPromise(
        cached.multiAssoc(cold.slice(i, i + 500).map((key) => [key, value] as const), { atomic: false })
      )
    }
    await Effect.runPromise(cached.get("hot"))

    // raw GetItem at concurrency 16
    await throughput(0.5, CONCURRENCY, () => Raw.get(rawClient, rawTable, "hot").then(() => undefined))
    const raw = await throughput(SECONDS, CONCURRENCY, async () => {
      await rawClient.send(
        new GetItemCommand({ TableName: rawTable, Key: { pk: { S: "hot" }, sk: { S: "v" } }, ConsistentRead: true })
      )
    })
    log(`raw GetItem 1 KiB, c=${CONCURRENCY}: ${raw.opsPerSecond.toFixed(0)} ops/s`)

    // cached hits at concurrency 16
    const hit = cached.get("hot")
    await effectThroughput(0.5, CONCURRENCY, () => hit)
    const hits = await effectThroughput(SECONDS, CONCURRENCY, () => hit)
    log(
      `cached get 1 KiB (hits), c=${CONCURRENCY}: ${hits.opsPerSecond.toFixed(0)} ops/s ` +
        `(${(hits.opsPerSecond / raw.opsPerSecond).toFixed(1)}× raw), ${hits.cpuMicrosPerOp.toFixed(2)} µs CPU per hit`
    )

    // 90% hits: one read in ten of a key not cached yet
    let nextCold = 0
    const mixed = await throughput(SECONDS, CONCURRENCY, (i) =>
      Effect.runPromise(
        i % 10 === 9 && nextCold < cold.length ? cached.get(cold[nextCold++]) : cached.get("hot")
      ).then(() => undefined))
    log(
      `90%-hit get, c=${CONCURRENCY}: ${mixed.opsPerSecond.toFixed(0)} ops/s ` +
        `(${(mixed.opsPerSecond / raw.opsPerSecond).toFixed(1)}× raw)${
          nextCold >= cold.length ? " (ran out of cold keys: the tail was all hits)" : ""
        }`
    )

    // the store without the cache, at the same concurrency (what a miss costs on this machine now)
    const plain = await Effect.runPromise(
      Layer.buildWithScope(DynamoDBStore.layerWithClient({ client, table }), scope).pipe(
        Effect.map(Context.get(KonserveStore.KonserveStore))
      )
    )
    const uncached = await throughput(
      SECONDS,
      CONCURRENCY,
      () => Effect.runPromise(plain.get("hot")).then(() => undefined)
    )
    const rawAgain = await throughput(SECONDS, CONCURRENCY, async () => {
      await rawClient.send(
        new GetItemCommand({ TableName: rawTable, Key: { pk: { S: "hot" }, sk: { S: "v" } }, ConsistentRead: true })
      )
    })
    log(
      `store get without the cache, c=${CONCURRENCY}: ${uncached.opsPerSecond.toFixed(0)} ops/s; ` +
        `raw GetItem again: ${rawAgain.opsPerSecond.toFixed(0)} ops/s`
    )

    // latency, one at a time
    const hitLatency: Array<number> = []
    for (let i = 0; i < 2000; i++) {
      const start = performance.now()
      await Effect.runPromise(hit)
      hitLatency.push((performance.now() - start) * 1000)
    }
    const missLatency: Array<number> = []
    for (let i = 0; i < 200 && nextCold < cold.length; i++) {
      const start = performance.now()
      await Effect.runPromise(cached.get(cold[nextCold++]))
      missLatency.push((performance.now() - start) * 1000)
    }
    log(
      `latency (c=1, Effect.runPromise per read): hit median ${median(hitLatency).toFixed(1)} µs, ` +
        `p99 ${percentile(hitLatency, 0.99).toFixed(1)} µs; miss median ${
          (median(missLatency) / 1000).toFixed(2)
        } ms, ` +
        `p99 ${(percentile(missLatency, 0.99) / 1000).toFixed(2)} ms`
    )

    // heap per cached KiB: a cache of its own, 2,000 values of 1 KiB
    const fresh = await Effect.runPromise(
      Layer.buildWithScope(
        KonserveStore.layerCache({ invalidations: Stream.never }).pipe(
          Layer.provide(DynamoDBStore.layerWithClient({ client, table }))
        ),
        scope
      ).pipe(Effect.map(Context.get(KonserveStore.KonserveStore)))
    )
    const keys = cold.slice(0, 2000)
    collect()
    const before = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers
    for (let i = 0; i < keys.length; i += 100) await Effect.runPromise(fresh.multiGet(keys.slice(i, i + 100)))
    collect()
    const after = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers
    log(
      `memory: ${((after - before) / keys.length / 1024).toFixed(2)} KiB of heap per cached 1 KiB value (2,000 cached)`
    )
  } finally {
    await Effect.runPromise(Scope.close(scope, Exit.void)).catch(() => undefined)
    client.destroy()
    rawClient.destroy()
    await engine.stop()
  }
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
