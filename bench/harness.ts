/**
 * Measurement tools of `npm run bench`: wall time, the client process's CPU
 * time, DynamoDB Local's CPU time, peak RSS growth, request counting and
 * (on demand) consumed capacity units with an SDK middleware, medians.
 */
import type { ConsumedCapacity, DynamoDBClientConfig } from "@aws-sdk/client-dynamodb"
import { DynamoDBClient } from "@aws-sdk/client-dynamodb"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import { performance } from "node:perf_hooks"

// -----------------------------------------------------------------------------
// statistics
// -----------------------------------------------------------------------------

export const median = (values: ReadonlyArray<number>): number => {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

// -----------------------------------------------------------------------------
// clients of DynamoDB Local
// -----------------------------------------------------------------------------

/**
 * The configuration of a client of DynamoDB Local at `endpoint`: one attempt
 * per send (the store retries on its own schedule, its own clients are built
 * the same way, and a counted request is one HTTP request).
 */
export const localClientConfig = (endpoint: string): DynamoDBClientConfig => ({
  endpoint,
  region: "us-east-1",
  credentials: { accessKeyId: "local", secretAccessKey: "local" },
  maxAttempts: 1
})

/** A client of DynamoDB Local at `endpoint` (`localClientConfig`). */
export const localClient = (endpoint: string): DynamoDBClient => new DynamoDBClient(localClientConfig(endpoint))

// -----------------------------------------------------------------------------
// garbage collection (`npm run bench` runs node with --expose-gc)
// -----------------------------------------------------------------------------

const gcFunction = (globalThis as { gc?: () => void }).gc

export const gcAvailable: boolean = gcFunction !== undefined

/** Two full collections, so that each measured batch starts on a clean heap. */
export const collect = (): void => {
  gcFunction?.()
  gcFunction?.()
}

// -----------------------------------------------------------------------------
// DynamoDB Local's CPU time, from /proc (Linux only; undefined elsewhere)
// -----------------------------------------------------------------------------

const clockTicks: number = (() => {
  try {
    return Number(ChildProcess.execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100
  } catch {
    return 100
  }
})()

/** user + system CPU time of a process in µs, or undefined when it cannot be read. */
export const processCpuMicros = (pid: number | undefined): number | undefined => {
  if (pid === undefined) return undefined
  try {
    const stat = Fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    // the command name (field 2) may contain spaces: parse after its closing parenthesis
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    const ticks = Number(fields[11]) + Number(fields[12]) // utime, stime (fields 14 and 15)
    return Number.isFinite(ticks) ? (ticks * 1_000_000) / clockTicks : undefined
  } catch {
    return undefined
  }
}

// -----------------------------------------------------------------------------
// request counting and consumed capacity
// -----------------------------------------------------------------------------

/**
 * Capacity units consumed by the commands sent while capacity measurement
 * was on, from each output's `ConsumedCapacity`.
 */
export interface Capacity {
  /** Read capacity units. */
  readonly read: number
  /** Write capacity units. */
  readonly write: number
  /**
   * Commands that accept `ReturnConsumedCapacity` but whose output carried no
   * `ConsumedCapacity`, by name: their units are missing from `read` and `write`.
   */
  readonly missing: Readonly<Record<string, number>>
  /**
   * Commands that failed (no output, so no units: a failed conditional write
   * still costs DynamoDB capacity), by `"<command> <error name>"`.
   */
  readonly failed: Readonly<Record<string, number>>
}

/**
 * Counts the commands a DynamoDB client sends (one per `client.send`, at the
 * SDK's `initialize` step, before any retry) and the most that were in
 * flight at once, per command; with `measureCapacity(true)`, also the
 * capacity units they consume.
 */
export interface RequestCounter {
  readonly reset: () => void
  /** Commands sent since the last reset. */
  readonly counts: () => Readonly<Record<string, number>>
  /** The most requests of each command in flight at once since the last reset. */
  readonly maxInFlight: () => Readonly<Record<string, number>>
  readonly total: () => number
  /** Batch responses since the last reset that left `UnprocessedKeys` / `UnprocessedItems`. */
  readonly unprocessed: () => number
  /**
   * On: every command that accepts it is sent with `ReturnConsumedCapacity: "TOTAL"` and the units of its
   * output are summed. Off (the default): inputs are sent as they are, nothing is summed.
   */
  readonly measureCapacity: (on: boolean) => void
  /** Capacity consumed since the last reset while measurement was on; undefined when it was never on since. */
  readonly capacity: () => Capacity | undefined
}

const leftUnprocessed = (output: unknown): boolean => {
  if (typeof output !== "object" || output === null) return false
  const record = output as { UnprocessedKeys?: unknown; UnprocessedItems?: unknown }
  const nonEmpty = (value: unknown) =>
    typeof value === "object" && value !== null &&
    Object.values(value).some((v) =>
      Array.isArray(v) ? v.length > 0 : typeof v === "object" && v !== null && Object.keys(v).length > 0
    )
  return nonEmpty(record.UnprocessedKeys) || nonEmpty(record.UnprocessedItems)
}

/**
 * The commands that accept `ReturnConsumedCapacity`, and which units an undivided `CapacityUnits` figure
 * counts as (DynamoDB Local answers with `CapacityUnits` only). A transaction's condition checks consume
 * write units, so `TransactWriteItems` is all writes.
 */
const capacityKind: Readonly<Record<string, "read" | "write">> = {
  GetItem: "read",
  BatchGetItem: "read",
  Query: "read",
  Scan: "read",
  TransactGetItems: "read",
  PutItem: "write",
  UpdateItem: "write",
  DeleteItem: "write",
  BatchWriteItem: "write",
  TransactWriteItems: "write"
}

export const countRequests = (client: DynamoDBClient): RequestCounter => {
  let counts: Record<string, number> = {}
  let peaks: Record<string, number> = {}
  let unprocessed = 0
  const inFlight: Record<string, number> = {}
  let measuring = false
  let capacity:
    | { read: number; write: number; missing: Record<string, number>; failed: Record<string, number> }
    | undefined
  const fresh = () => ({ read: 0, write: 0, missing: {}, failed: {} })
  const missed = (name: string) => {
    if (capacity !== undefined) capacity.missing[name] = (capacity.missing[name] ?? 0) + 1
  }
  const failed = (name: string, error: unknown) => {
    if (capacity === undefined) return
    const label = `${name} ${error instanceof Error ? error.name : "error"}`
    capacity.failed[label] = (capacity.failed[label] ?? 0) + 1
  }
  const consumed = (name: string, kind: "read" | "write", output: unknown) => {
    if (capacity === undefined) return
    const field = typeof output === "object" && output !== null
      ? (output as { ConsumedCapacity?: ConsumedCapacity | Array<ConsumedCapacity> }).ConsumedCapacity
      : undefined
    const entries = field === undefined ? [] : Array.isArray(field) ? field : [field]
    if (entries.length === 0) return missed(name)
    for (const entry of entries) {
      if (entry.ReadCapacityUnits !== undefined || entry.WriteCapacityUnits !== undefined) {
        capacity.read += entry.ReadCapacityUnits ?? 0
        capacity.write += entry.WriteCapacityUnits ?? 0
      } else if (entry.CapacityUnits !== undefined) {
        capacity[kind] += entry.CapacityUnits
      } else {
        missed(name)
      }
    }
  }
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const name = (context.commandName ?? "Unknown").replace(/Command$/, "")
      counts[name] = (counts[name] ?? 0) + 1
      inFlight[name] = (inFlight[name] ?? 0) + 1
      peaks[name] = Math.max(peaks[name] ?? 0, inFlight[name])
      // capacity only when switched on: the timed batches send their inputs untouched
      const kind = measuring ? capacityKind[name] : undefined
      try {
        const result = await next(
          kind === undefined ? args : { ...args, input: { ...args.input, ReturnConsumedCapacity: "TOTAL" } }
        )
        if (leftUnprocessed(result.output)) unprocessed += 1
        if (kind !== undefined) consumed(name, kind, result.output)
        return result
      } catch (error) {
        if (kind !== undefined) failed(name, error)
        throw error
      } finally {
        inFlight[name] -= 1
      }
    },
    { step: "initialize", name: "benchRequestCounter" }
  )
  return {
    reset: () => {
      counts = {}
      peaks = {}
      unprocessed = 0
      capacity = measuring ? fresh() : undefined
    },
    counts: () => ({ ...counts }),
    maxInFlight: () => ({ ...peaks }),
    total: () => Object.values(counts).reduce((sum, n) => sum + n, 0),
    unprocessed: () => unprocessed,
    measureCapacity: (on) => {
      measuring = on
      if (on && capacity === undefined) capacity = fresh()
    },
    capacity: () =>
      capacity === undefined
        ? undefined
        : { ...capacity, missing: { ...capacity.missing }, failed: { ...capacity.failed } }
  }
}

/** `"GetItem×1 + PutItem×1"`, commands in alphabetical order; `"none"` when empty. */
export const formatCounts = (counts: Readonly<Record<string, number>>): string => {
  const names = Object.keys(counts).sort()
  return names.length === 0
    ? "none"
    : names.map((name) => `${name}×${counts[name]}`).join(" + ")
}

export const totalOf = (counts: Readonly<Record<string, number>>): number =>
  Object.values(counts).reduce((sum, n) => sum + n, 0)

// -----------------------------------------------------------------------------
// one measured batch
// -----------------------------------------------------------------------------

export interface Sample {
  readonly ops: number
  readonly wallMs: number
  /** This process's user + system CPU time, µs. */
  readonly cpuMicros: number
  /** DynamoDB Local's user + system CPU time, µs (undefined when it cannot be read). */
  readonly engineCpuMicros: number | undefined
  /** Requests sent by the contender's client during the batch. */
  readonly requests: number
  /** Peak RSS minus RSS before the batch, bytes (only when sampled). */
  readonly rssGrowth: number | undefined
}

export interface MeasureOptions {
  readonly ops: number
  readonly counter: RequestCounter
  readonly enginePid: number | undefined
  /** Sample RSS every `RSS_SAMPLE_MS` during the batch. */
  readonly sampleRss?: boolean
}

const RSS_SAMPLE_MS = 2

/**
 * Runs one batch and measures it. With `sampleRss`, the batch starts after a
 * full GC and RSS is read every 2 ms (and once at the end); the growth is the
 * peak minus the value just before the batch. Throughput batches do not
 * collect first: a forced full GC before every batch roughly doubled the CPU
 * per operation of both contenders (the collector's sweeping is charged to
 * the batch that follows) and made the ratios noisier.
 */
export const measure = async (options: MeasureOptions, run: () => Promise<void>): Promise<Sample> => {
  if (options.sampleRss === true) collect()
  options.counter.reset()
  const rssBefore = process.memoryUsage.rss()
  let peak = rssBefore
  const sampler = options.sampleRss === true
    ? setInterval(() => {
      peak = Math.max(peak, process.memoryUsage.rss())
    }, RSS_SAMPLE_MS)
    : undefined
  const engineBefore = processCpuMicros(options.enginePid)
  const cpuBefore = process.cpuUsage()
  const start = performance.now()
  try {
    await run()
  } finally {
    if (sampler !== undefined) clearInterval(sampler)
  }
  const wallMs = performance.now() - start
  const cpu = process.cpuUsage(cpuBefore)
  const engineAfter = processCpuMicros(options.enginePid)
  peak = Math.max(peak, process.memoryUsage.rss())
  return {
    ops: options.ops,
    wallMs,
    cpuMicros: cpu.user + cpu.system,
    engineCpuMicros: engineBefore === undefined || engineAfter === undefined ? undefined : engineAfter - engineBefore,
    requests: options.counter.total(),
    rssGrowth: options.sampleRss === true ? peak - rssBefore : undefined
  }
}

// -----------------------------------------------------------------------------
// concurrency for the raw contender
// -----------------------------------------------------------------------------

/** Runs `op(0)` .. `op(n - 1)` with at most `concurrency` in flight. */
export const pool = async (n: number, concurrency: number, op: (i: number) => Promise<void>): Promise<void> => {
  let next = 0
  const worker = async () => {
    while (next < n) {
      const i = next++
      await op(i)
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker))
}

// -----------------------------------------------------------------------------
// test data
// -----------------------------------------------------------------------------

/** Deterministic pseudo-random bytes (xorshift32): incompressible, same every run. */
export const randomBytes = (size: number, seed = 0x9e3779b9): Uint8Array => {
  const out = new Uint8Array(size)
  let x = seed >>> 0
  for (let i = 0; i < size; i++) {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    out[i] = x & 0xff
  }
  return out
}

export const KiB = 1024
export const MiB = 1024 * 1024

/**
 * The pieces of a `size`-byte binary as they would come from a file or a
 * socket: 64 KiB views over a 1 MiB random pool (no allocation per piece).
 */
export const binaryPieces = function*(pool: Uint8Array, size: number, piece = 64 * KiB): Generator<Uint8Array> {
  for (let offset = 0; offset < size; offset += piece) {
    const length = Math.min(piece, size - offset)
    const start = offset % (pool.length - piece + 1)
    yield pool.subarray(start, start + length)
  }
}
