/**
 * `npm run bench` (`tsx --expose-gc bench/run.ts [--quick]`): the store
 * against the raw AWS SDK v3 doing the minimal same requests, on ONE
 * DynamoDB Local engine started for the run, in interleaved rounds.
 *
 * - Throughput / latency: 1 KiB `get` and `assoc` at concurrency 1, 16 and
 *   64, `multiGet` of 1,000 keys, `keys` over 10,000 items (1 KiB and 200-byte values), 10 MiB `bassoc`
 *   and `bget` (streamed), each round running the store then the raw SDK
 *   (the order flips every round), medians of the rounds, after a warm-up
 *   (each concurrent workload until `warmupOps` operations, the others once).
 * - Per batch: wall time, this process's CPU time (`process.cpuUsage`),
 *   DynamoDB Local's CPU time (/proc), requests sent, and for the binaries
 *   the peak RSS growth (RSS sampled every 2 ms, after a full GC).
 * - Then a counting pass: requests and consumed capacity units (RCU / WCU,
 *   `ReturnConsumedCapacity` switched on for this pass only) per store
 *   operation, from an SDK middleware, and the raw SDK doing the same work
 *   (get, blind put, update, dissoc, append, multiGet, keys, the binaries, a
 *   2-key transfer: `transact` against BatchGetItem + TransactWriteItems by hand).
 * - The targets of issue 8, computed from the run's own figures.
 *
 * Prints a Markdown report and writes it to `bench/results/latest.md`.
 * `--quick`: fewer rounds and items, a smoke run.
 */
import * as Effect from "effect/Effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { performance } from "node:perf_hooks"
import { fileURLToPath } from "node:url"
import * as Engine from "../src/internal/dynamoDBLocal.js"
import type { RequestCounter, Sample } from "./harness.js"
import {
  binaryPieces,
  countRequests,
  formatCounts,
  gcAvailable,
  KiB,
  localClient,
  measure,
  MiB,
  pool,
  randomBytes,
  totalOf
} from "./harness.js"
import * as Raw from "./raw.js"
import { CONCURRENCIES, type Counted, operations, render, type WorkloadResult } from "./report.js"
import * as Store from "./store.js"

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true"

// -----------------------------------------------------------------------------
// parameters
// -----------------------------------------------------------------------------

const quick = process.argv.includes("--quick")

const params = quick
  ? {
    rounds: 2,
    opsC1: 50,
    opsConcurrent: 320,
    warmupOps: 320,
    readKeys: 1000,
    scanItems: 1000,
    binaryRounds: 1,
    binaryBytes: 10 * MiB
  }
  : {
    rounds: 7,
    opsC1: 200,
    opsConcurrent: 600,
    warmupOps: 1200,
    readKeys: 1000,
    scanItems: 10_000,
    binaryRounds: 5,
    binaryBytes: 10 * MiB
  }

const VALUE_BYTES = 1 * KiB
/** The small values of the second `keys` table. */
const SMALL_VALUE_BYTES = 200
/** No single batch may take longer than this: a hung store fails its workload instead of the run. */
const BATCH_TIMEOUT_MS = 180_000

const tables = {
  store: "bench-store",
  storeScan: "bench-store-scan",
  storeScanSmall: "bench-store-scan-small",
  raw: "bench-raw",
  rawScan: "bench-raw-scan",
  rawScanSmall: "bench-raw-scan-small"
}

const readKey = (i: number) => `g-${i}`
const writeKey = (i: number) => `w-${i}`
const scanKey = (i: number) => `k-${String(i).padStart(6, "0")}`

// -----------------------------------------------------------------------------
// workloads
// -----------------------------------------------------------------------------

interface Contender {
  readonly run: () => Promise<void>
  readonly counter: RequestCounter
}

interface Workload {
  readonly name: string
  readonly kind: "throughput" | "latency"
  /** Operations in flight at once (1 for the latency workloads). */
  readonly concurrency: number
  readonly ops: number
  readonly rounds: number
  readonly sampleRss: boolean
  readonly store: Contender
  readonly raw: Contender
}

const withTimeout = <A>(label: string, promise: Promise<A>): Promise<A> => {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${label}: no answer within ${BATCH_TIMEOUT_MS / 1000} s`)),
      BATCH_TIMEOUT_MS
    )
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

const log = (line: string) => process.stderr.write(`${line}\n`)

const errorText = (error: unknown): string => {
  if (error instanceof Error) {
    const tag = (error as { _tag?: unknown })._tag
    return `${typeof tag === "string" ? `${tag}: ` : ""}${error.message}`
  }
  return String(error)
}

const main = async () => {
  const started = performance.now()
  const loadBefore = Os.loadavg()[0]
  log(`bench: ${quick ? "quick" : "full"} run, ${params.rounds} rounds, gc ${gcAvailable ? "on" : "OFF"}`)
  log("bench: starting DynamoDB Local ...")
  const engine = await Engine.start()
  log(`bench: DynamoDB Local at ${engine.endpoint} (pid ${engine.pid})`)

  // one client each: the store's made as `DynamoDBStore.layer` makes its own, the raw SDK's of default settings
  // (one attempt per send: `localClientConfig`); `npm run bench:cpu` also shows the raw SDK with cacheMiddleware
  const storeClient = Store.ownClient(engine.endpoint)
  const rawClient = localClient(engine.endpoint)
  const storeCounter = countRequests(storeClient)
  const rawCounter = countRequests(rawClient)
  const storeScope = Store.stores(storeClient, "own")

  try {
    // --- tables and data -------------------------------------------------------------------------
    const [store, storeScan, storeScanSmall] = await Promise.all([
      storeScope.open(tables.store),
      storeScope.open(tables.storeScan),
      storeScope.open(tables.storeScanSmall)
    ])
    await Promise.all(
      [tables.raw, tables.rawScan, tables.rawScanSmall].map((table) => Raw.createTable(rawClient, table))
    )

    const value = randomBytes(VALUE_BYTES, 1)
    const binaryPool = randomBytes(MiB, 2)
    const pieces = () => binaryPieces(binaryPool, params.binaryBytes)
    const readKeys = Array.from({ length: params.readKeys }, (_, i) => readKey(i))
    const readEntries = readKeys.map((key) => [key, value] as const)
    const scanEntries = Array.from({ length: params.scanItems }, (_, i) => [scanKey(i), value] as const)
    const smallValue = randomBytes(SMALL_VALUE_BYTES, 3)
    const smallEntries = scanEntries.map(([key]) => [key, smallValue] as const)

    log(`bench: populating ${readKeys.length} + ${scanEntries.length} items per contender ...`)
    const populate = performance.now()
    await Effect.runPromise(
      Effect.all([
        store.multiAssoc(readEntries, { atomic: false }),
        storeScan.multiAssoc(scanEntries, { atomic: false }),
        storeScanSmall.multiAssoc(smallEntries, { atomic: false })
      ], { concurrency: 2, discard: true })
    )
    await Promise.all([
      Raw.putMany(rawClient, tables.raw, readEntries),
      Raw.putMany(rawClient, tables.rawScan, scanEntries),
      Raw.putMany(rawClient, tables.rawScanSmall, smallEntries)
    ])
    log(`bench: populated in ${((performance.now() - populate) / 1000).toFixed(1)} s`)

    // the raw binary's chunk count, known once it is written
    let rawChunks = 0
    const storeRun = (effect: Effect.Effect<void, unknown>) => () => Effect.runPromise(effect)
    const storeSide = (effect: Effect.Effect<void, unknown>): Contender => ({
      run: storeRun(effect),
      counter: storeCounter
    })
    const rawSide = (run: () => Promise<void>): Contender => ({ run, counter: rawCounter })
    const expectFound = async (promise: Promise<Uint8Array | undefined>, key: string) => {
      if ((await promise) === undefined) throw new Error(`raw get ${key}: not found`)
    }

    const workloads: Array<Workload> = []
    for (const concurrency of CONCURRENCIES) {
      const ops = concurrency === 1 ? params.opsC1 : params.opsConcurrent
      workloads.push({
        name: `get 1 KiB, concurrency ${concurrency}`,
        kind: "throughput",
        concurrency,
        ops,
        rounds: params.rounds,
        sampleRss: false,
        store: storeSide(
          Store.repeat(ops, concurrency, (i) => Store.get(store, readKey(i % params.readKeys)))
        ),
        raw: rawSide(() =>
          pool(ops, concurrency, (i) => {
            const key = readKey(i % params.readKeys)
            return expectFound(Raw.get(rawClient, tables.raw, key), key)
          })
        )
      })
    }
    for (const concurrency of CONCURRENCIES) {
      const ops = concurrency === 1 ? params.opsC1 : params.opsConcurrent
      workloads.push({
        name: `assoc 1 KiB, concurrency ${concurrency}`,
        kind: "throughput",
        concurrency,
        ops,
        rounds: params.rounds,
        sampleRss: false,
        store: storeSide(
          Store.repeat(ops, concurrency, (i) => Store.assoc(store, writeKey(i % params.readKeys), value))
        ),
        raw: rawSide(() =>
          pool(ops, concurrency, (i) => Raw.put(rawClient, tables.raw, writeKey(i % params.readKeys), value))
        )
      })
    }
    workloads.push({
      name: `multiGet ${params.readKeys} keys`,
      kind: "latency",
      concurrency: 1,
      ops: 1,
      rounds: params.rounds,
      sampleRss: false,
      store: storeSide(Store.multiGet(store, readKeys)),
      raw: rawSide(async () => {
        const found = await Raw.multiGet(rawClient, tables.raw, readKeys)
        if (found.size !== readKeys.length) throw new Error(`raw multiGet found ${found.size} of ${readKeys.length}`)
      })
    })
    for (
      const [label, storeTable, rawTable] of [
        ["1 KiB", storeScan, tables.rawScan],
        [`${SMALL_VALUE_BYTES} B`, storeScanSmall, tables.rawScanSmall]
      ] as const
    ) {
      workloads.push({
        name: `keys over ${params.scanItems} items, ${label} values`,
        kind: "latency",
        concurrency: 1,
        ops: 1,
        rounds: params.rounds,
        sampleRss: false,
        store: storeSide(Store.keys(storeTable, params.scanItems)),
        raw: rawSide(async () => {
          const count = await Raw.keys(rawClient, rawTable)
          if (count !== params.scanItems) throw new Error(`raw keys listed ${count}, expected ${params.scanItems}`)
        })
      })
    }
    const account = (i: number) => `acct-${i % 10}`
    workloads.push({
      name: "transfer between 2 keys (transact), concurrency 1",
      kind: "throughput",
      concurrency: 1,
      ops: params.opsC1,
      rounds: params.rounds,
      sampleRss: false,
      store: storeSide(Store.repeat(params.opsC1, 1, (i) => Store.transfer(store, account(i), account(i + 1), 1))),
      raw: rawSide(() =>
        pool(params.opsC1, 1, (i) => Raw.transfer(rawClient, tables.raw, account(i), account(i + 1), 1))
      )
    })
    const mib = params.binaryBytes / MiB
    workloads.push({
      name: `bassoc ${mib} MiB`,
      kind: "latency",
      concurrency: 1,
      ops: 1,
      rounds: params.binaryRounds,
      sampleRss: true,
      store: storeSide(Store.bassoc(store, "blob", pieces)),
      raw: rawSide(async () => {
        rawChunks = await Raw.writeBinary(rawClient, tables.raw, "blob", pieces())
      })
    })
    workloads.push({
      name: `bget ${mib} MiB`,
      kind: "latency",
      concurrency: 1,
      ops: 1,
      rounds: params.binaryRounds,
      sampleRss: true,
      store: storeSide(Store.bget(store, "blob", params.binaryBytes)),
      raw: rawSide(async () => {
        const chunks = await Raw.readBinary(rawClient, tables.raw, "blob", rawChunks)
        let bytes = 0
        for (const chunk of chunks) bytes += chunk?.length ?? 0
        if (bytes !== params.binaryBytes) {
          throw new Error(`raw bget read ${bytes} bytes, expected ${params.binaryBytes}`)
        }
      })
    })

    // --- warm-up (JIT, connections): the SDK's code path takes a few thousand requests to settle on this
    // machine, so each concurrent batch runs until `warmupOps` operations, the others once ----------------
    log("bench: warming up ...")
    const failed = new Map<string, string>()
    for (const workload of workloads) {
      const passes = workload.concurrency > 1 ? Math.ceil(params.warmupOps / workload.ops) : 1
      for (const side of ["store", "raw"] as const) {
        try {
          for (let pass = 0; pass < passes; pass++) await withTimeout(`${side} ${workload.name}`, workload[side].run())
        } catch (error) {
          failed.set(`${workload.name}/${side}`, errorText(error))
          log(`bench: ${side} ${workload.name} FAILED in warm-up: ${errorText(error)}`)
        }
      }
    }

    // --- interleaved rounds --------------------------------------------------------------------------
    const samples = new Map(workloads.map((w) => [w.name, { store: [] as Array<Sample>, raw: [] as Array<Sample> }]))
    for (let round = 0; round < params.rounds; round++) {
      const order = round % 2 === 0 ? (["store", "raw"] as const) : (["raw", "store"] as const)
      for (const workload of workloads) {
        if (round >= workload.rounds) continue
        for (const side of order) {
          const id = `${workload.name}/${side}`
          if (failed.has(id)) continue
          try {
            const sample = await withTimeout(
              `${side} ${workload.name}`,
              measure({
                ops: workload.ops,
                counter: workload[side].counter,
                enginePid: engine.pid,
                sampleRss: workload.sampleRss
              }, workload[side].run)
            )
            samples.get(workload.name)![side].push(sample)
          } catch (error) {
            failed.set(id, errorText(error))
            log(`bench: ${side} ${workload.name} FAILED: ${errorText(error)}`)
          }
        }
      }
      log(`bench: round ${round + 1}/${params.rounds} done (${((performance.now() - started) / 1000).toFixed(0)} s)`)
    }
    const results: Array<WorkloadResult> = workloads.map((workload) => ({
      name: workload.name,
      kind: workload.kind,
      store: samples.get(workload.name)!.store,
      raw: samples.get(workload.name)!.raw,
      storeError: failed.get(`${workload.name}/store`),
      rawError: failed.get(`${workload.name}/raw`)
    }))

    // --- request counts and capacity units per store operation, and the raw SDK doing the same -----
    // (ReturnConsumedCapacity is added to the requests of this pass only: the timed batches are done)
    log("bench: counting requests ...")
    storeCounter.measureCapacity(true)
    rawCounter.measureCapacity(true)
    const counted: Array<Counted> = []
    const count = async (
      operation: string,
      effect: Effect.Effect<unknown, unknown>,
      setup?: Effect.Effect<unknown, unknown>,
      counter: RequestCounter = storeCounter
    ) => {
      try {
        if (setup !== undefined) await Effect.runPromise(setup)
        counter.reset()
        await Effect.runPromise(effect)
        counted.push({
          operation,
          counts: counter.counts(),
          maxInFlight: counter.maxInFlight(),
          unprocessed: counter.unprocessed(),
          capacity: counter.capacity()
        })
      } catch (error) {
        counted.push({
          operation,
          counts: counter.counts(),
          maxInFlight: {},
          unprocessed: 0,
          capacity: undefined,
          error: errorText(error)
        })
      }
    }
    const countRaw = async (operation: string, run: () => Promise<unknown>, setup?: () => Promise<unknown>) =>
      count(
        operation,
        Effect.tryPromise(run),
        setup === undefined ? undefined : Effect.tryPromise(setup),
        rawCounter
      )

    const one = Effect.asVoid(store.assoc("c-inline", value))
    await count(operations.get, Store.get(store, "c-inline"), one)
    await count(operations.exists, store.exists("c-inline"))
    await count("getMeta", store.getMeta("c-inline"))
    await count(operations.assoc, store.assoc("c-inline", value))
    await count("assoc with ifAbsent (new key)", store.assoc(`c-new-${Date.now()}`, value, { ifAbsent: true }))
    await count(operations.update, store.update("c-inline", () => value))
    await count(operations.dissoc, store.dissoc("c-dissoc"), store.assoc("c-dissoc", value))
    for (const n of [1, 100, 250, 1000].filter((n) => n <= params.readKeys)) {
      await count(`multiGet of ${n} key${n === 1 ? "" : "s"}`, Store.multiGet(store, readKeys.slice(0, n)))
    }
    const ten = Array.from({ length: 10 }, (_, i) => [`c-multi-${i}`, value] as const)
    await count("atomic multiAssoc of 10 keys", store.multiAssoc(ten), store.multiAssoc(ten, { atomic: false }))
    await count(operations.append, store.append("c-log", 1), store.append("c-log", 0))
    await count(operations.transfer, Store.transfer(store, "c-acct-a", "c-acct-b", 1))
    await count(
      "log of 10 elements",
      store.log("c-log10"),
      Effect.forEach(Array.from({ length: 10 }, (_, i) => i), (i) => store.append("c-log10", i), { discard: true })
    )
    await count(`keys over ${params.scanItems} items, 1 KiB values`, Store.keys(storeScan, params.scanItems))
    await count(
      `keys over ${params.scanItems} items, ${SMALL_VALUE_BYTES} B values`,
      Store.keys(storeScanSmall, params.scanItems)
    )
    await count(`${mib} MiB bassoc (new key)`, Store.bassoc(store, "c-blob", pieces))
    await count(`${mib} MiB bassoc (replacing a ${mib} MiB binary)`, Store.bassoc(store, "c-blob", pieces))
    await count(`${mib} MiB bget`, Store.bget(store, "c-blob", params.binaryBytes))

    const rawCounted: Array<Counted> = []
    const before = counted.length
    // the store appends the number 1, one byte of CBOR: the raw element holds one byte
    const element = Uint8Array.of(1)
    await countRaw(operations.get, () => Raw.get(rawClient, tables.raw, readKey(0)))
    await countRaw(operations.assoc, () => Raw.put(rawClient, tables.raw, writeKey(0), value))
    await countRaw(operations.update, () => Raw.update(rawClient, tables.raw, writeKey(0), () => value))
    await countRaw(
      operations.dissoc,
      () => Raw.dissoc(rawClient, tables.raw, "c-dissoc"),
      () => Raw.put(rawClient, tables.raw, "c-dissoc", value)
    )
    for (const n of [1, 100, 250, 1000].filter((n) => n <= params.readKeys)) {
      await countRaw(
        `multiGet of ${n} key${n === 1 ? "" : "s"}`,
        () => Raw.multiGet(rawClient, tables.raw, readKeys.slice(0, n))
      )
    }
    await countRaw(
      operations.append,
      () => Raw.append(rawClient, tables.raw, "c-log", 1, element),
      () => Raw.append(rawClient, tables.raw, "c-log", 0, element)
    )
    await countRaw(operations.transfer, () => Raw.transfer(rawClient, tables.raw, "c-acct-a", "c-acct-b", 1))
    await countRaw(`keys over ${params.scanItems} items, 1 KiB values`, () => Raw.keys(rawClient, tables.rawScan))
    await countRaw(
      `keys over ${params.scanItems} items, ${SMALL_VALUE_BYTES} B values`,
      () => Raw.keys(rawClient, tables.rawScanSmall)
    )
    let chunks = 0
    await countRaw(`${mib} MiB bassoc (new key)`, async () => {
      chunks = await Raw.writeBinary(rawClient, tables.raw, "c-blob", pieces())
    })
    await countRaw(`${mib} MiB bget`, () => Raw.readBinary(rawClient, tables.raw, "c-blob", chunks))
    rawCounted.push(...counted.splice(before))
    storeCounter.measureCapacity(false)
    rawCounter.measureCapacity(false)

    const capacityOf = (c: Counted) => {
      if (c.capacity === undefined) return ""
      const { failed, missing, read, write } = c.capacity
      return `, RCU ${read.toFixed(1)} WCU ${write.toFixed(1)}` +
        (totalOf(missing) === 0 ? "" : `, no capacity returned by ${formatCounts(missing)}`) +
        (totalOf(failed) === 0 ? "" : `, failed ${formatCounts(failed)}`)
    }
    for (const [side, list] of [["store", counted], ["raw", rawCounted]] as const) {
      for (const c of list) {
        log(
          `bench:   ${side} ${c.operation}: ${formatCounts(c.counts)}${capacityOf(c)}${c.error ? ` (${c.error})` : ""}`
        )
      }
    }

    // --- report --------------------------------------------------------------------------------------
    const report = render({
      quick,
      params: { ...params, valueBytes: VALUE_BYTES },
      machine: {
        cpus: `${Os.cpus().length} × ${Os.cpus()[0]?.model ?? "unknown CPU"}`,
        memory: `${(Os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
        node: process.version,
        platform: `${Os.type()} ${Os.release()}`,
        load: `1-minute load average ${loadBefore.toFixed(1)} at the start, ${Os.loadavg()[0].toFixed(1)} at the end`
      },
      gc: gcAvailable,
      results,
      counted,
      rawCounted,
      durationSeconds: (performance.now() - started) / 1000
    })
    process.stdout.write(report)
    const out = Path.join(Path.dirname(fileURLToPath(import.meta.url)), "results", "latest.md")
    Fs.mkdirSync(Path.dirname(out), { recursive: true })
    Fs.writeFileSync(out, report)
    log(
      `bench: written to ${Path.relative(process.cwd(), out)} in ${((performance.now() - started) / 1000).toFixed(0)} s`
    )
  } finally {
    await storeScope.close().catch(() => undefined)
    storeClient.destroy()
    rawClient.destroy()
    await engine.stop()
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    log(`bench: failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}`)
    process.exit(1)
  }
)
