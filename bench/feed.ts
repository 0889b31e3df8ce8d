/**
 * The change feed (`DynamoDBStore.changes`) on a DynamoDB Local engine of its
 * own:
 *
 * 1. lag: a writer store writes one key at a time (`FEED_LAG_WRITES`, default
 *    200, one every 20 ms); a reader in another store (its own clients) on
 *    the default poll interval notes when each change arrives; the lag is
 *    from the write's answer to its change (p50, p99);
 * 2. throughput: `FEED_CHANGES` (default 20000) writes made first, with
 *    `multiAssoc({ atomic: false })` in parallel, then one reader from
 *    "oldest" reads them all: changes per second through one reader.
 *
 * `npx tsx bench/feed.ts` (needs java). Targets (issue 16): p50 ≤ 1 s,
 * p99 ≤ 2 s, ≥ 5,000 changes/s.
 */
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as DynamoDBLocal from "../src/DynamoDBLocal.js"
import * as DynamoDBStore from "../src/DynamoDBStore.js"

const LAG_WRITES = Number(process.env.FEED_LAG_WRITES ?? 200)
const CHANGES = Number(process.env.FEED_CHANGES ?? 20_000)

const percentile = (values: ReadonlyArray<number>, p: number): number => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
}

const program = Effect.gen(function*() {
  const { endpoint } = yield* DynamoDBLocal.DynamoDBLocal
  const config = (table: string): DynamoDBStore.DynamoDBStoreConfig => ({
    table,
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "local", secretAccessKey: Redacted.make("local") },
    stream: true
  })

  // 1. lag
  const lagConfig = config("feed-lag")
  const writer = yield* DynamoDBStore.make(lagConfig)
  const answered = new Map<string, number>()
  const arrived = new Map<string, number>()
  const reader = yield* DynamoDBStore.changes(lagConfig).pipe(
    Stream.tap((change) => Effect.sync(() => arrived.set(change.version, performance.now()))),
    Stream.runDrain,
    Effect.fork
  )
  yield* Effect.sleep("1 second")
  for (let i = 0; i < LAG_WRITES; i++) {
    yield* writer.assoc(`k${i % 50}`, { i })
    const at = performance.now()
    // the version of the write just answered (nobody else writes this table)
    const meta = yield* writer.getMeta(`k${i % 50}`)
    if (meta._tag === "Some") answered.set(meta.value.version, at)
    yield* Effect.sleep("20 millis")
  }
  yield* Effect.sleep("2 seconds")
  yield* Fiber.interrupt(reader)
  const lags = Array.from(answered, ([version, at]) => (arrived.get(version) ?? Number.NaN) - at)
    .filter((lag) => !Number.isNaN(lag))
  console.log(
    `lag (${lags.length} of ${LAG_WRITES} changes): p50 ${percentile(lags, 50).toFixed(0)} ms, ` +
      `p99 ${percentile(lags, 99).toFixed(0)} ms, max ${Math.max(...lags).toFixed(0)} ms`
  )

  // 2. throughput
  const bulkConfig = config("feed-bulk")
  const bulk = yield* DynamoDBStore.make(bulkConfig)
  const batches = Array.from(
    { length: Math.ceil(CHANGES / 100) },
    (_, b) => Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`b${b * 100 + i}`, b * 100 + i]))
  )
  yield* Effect.forEach(batches, (entries) => bulk.multiAssoc(entries, { atomic: false }), { concurrency: 8 })
  const started = performance.now()
  yield* DynamoDBStore.changes(bulkConfig, { from: "oldest" }).pipe(Stream.take(CHANGES), Stream.runDrain)
  const seconds = (performance.now() - started) / 1000
  console.log(`throughput: ${CHANGES} changes in ${seconds.toFixed(2)} s: ${(CHANGES / seconds).toFixed(0)} changes/s`)
})

Effect.runPromise(Effect.scoped(Effect.provide(program, DynamoDBLocal.layer()))).catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
