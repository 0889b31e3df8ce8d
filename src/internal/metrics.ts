/**
 * The store's metrics, as Effect `Metric`s in the global registry (what
 * `@effect/opentelemetry`'s metric exporter and `Metric.snapshot` read), and
 * where they are updated: the public operations (`operationMetered`), the
 * content that crosses a backend (`meteredBackend`, both stores), and each
 * DynamoDB request (`request*`, from `dynamodb/client.ts`).
 *
 * Updates are synchronous (`unsafeUpdate` on metrics whose labels are fixed
 * once per operation or command): a few hundred nanoseconds per operation,
 * no extra fiber work (docs/observability.md).
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import * as MetricLabel from "effect/MetricLabel"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Stream from "effect/Stream"
import type { Backend, Entry } from "./backend.js"
import * as FailureCodes from "./failureCodes.js"

/** A counter that only grows (`incremental`), with its description. @internal */
export const counter = (name: string, description: string): Metric.Metric.Counter<number> =>
  Metric.counter(name, { description, incremental: true })

/** Public operations by `operation` and `outcome` ("success", or the failure's tag; `UnknownOutcome` for that code). */
export const operations = counter(
  "konserve_operations_total",
  "KonserveStore operations, by operation and outcome (success or the failure's tag)"
)

/** Latency of the public operations in milliseconds, by `operation`. */
export const operationDuration = Metric.histogram(
  "konserve_operation_duration_ms",
  MetricBoundaries.exponential({ start: 0.5, factor: 2, count: 16 }),
  "KonserveStore operation latency in milliseconds, by operation"
)

/** Writes whose outcome could not be established (`DynamoDBError` code `UnknownOutcome`), by `operation`. */
export const unknownOutcomes = counter(
  "konserve_unknown_outcomes_total",
  "Writes that failed with UnknownOutcome: applied or not, nobody can tell"
)

/** Bytes of values, binaries and log elements written (encoded, before compression), by `kind` (value/binary/log). */
export const bytesWritten = counter(
  "konserve_bytes_written_total",
  "Bytes written: encoded values and log elements, binaries' bytes"
)

/** Bytes of values, binaries and log elements read (as stored), by `kind` (value/binary/log). */
export const bytesRead = counter(
  "konserve_bytes_read_total",
  "Bytes read: stored values and log elements, binaries' bytes"
)

/** DynamoDB requests sent (each attempt), by `command` and `outcome` ("ok" or the failure's verdict). */
export const requests = counter(
  "konserve_dynamodb_requests_total",
  "DynamoDB requests (every attempt), by command and outcome"
)

/** Attempts after the first of a DynamoDB request (the store's retries), by `command`. */
export const retries = counter(
  "konserve_dynamodb_retries_total",
  "DynamoDB requests sent again after a transient failure or a throttle, by command"
)

/** Attempts refused for throughput, by `command`. */
export const throttles = counter(
  "konserve_dynamodb_throttles_total",
  "DynamoDB attempts refused for throughput (throttled), by command"
)

/**
 * Capacity units DynamoDB reported consumed (`consumedCapacity: true`), by
 * `command` and `unit`: `read` and `write` where DynamoDB divides them,
 * `total` where it reports one undivided figure (DynamoDB Local).
 */
export const capacityUnits = counter(
  "konserve_dynamodb_capacity_units_total",
  "Capacity units DynamoDB reported as consumed (with the consumedCapacity option), by command and unit"
)

const label = MetricLabel.make

/** A failure's outcome label: its tag, `UnknownOutcome` for that code of `DynamoDBError`. */
const outcomeOf = (error: unknown): string =>
  FailureCodes.isUnknownOutcome(error)
    ? "UnknownOutcome"
    : Predicate.hasProperty(error, "_tag") && typeof error._tag === "string"
    ? error._tag
    : "unknown"

/**
 * Meters one public operation: its latency, and its outcome when it ends
 * (interruption is counted as "interrupted", a defect as "defect").
 */
export const operationMetered = (name: string) => {
  const operation = label("operation", name)
  const success = [operation, label("outcome", "success")]
  const durationTags = [operation]
  const unknownTags = [operation]
  // Effect finds a metric's series by the identity of its label array: one array per outcome, made once.
  const failures = new Map<string, ReadonlyArray<MetricLabel.MetricLabel>>()
  const failed = (outcome: string) => {
    let labels = failures.get(outcome)
    if (labels === undefined) {
      labels = [operation, label("outcome", outcome)]
      failures.set(outcome, labels)
    }
    return labels
  }
  return <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.suspend(() => {
      const start = performance.now()
      return Effect.onExit(effect, (exit) => {
        operationDuration.unsafeUpdate(performance.now() - start, durationTags)
        if (Exit.isSuccess(exit)) {
          operations.unsafeUpdate(1, success)
        } else {
          const failure = Cause.failureOption(exit.cause)
          const outcome = Option.isSome(failure)
            ? outcomeOf(failure.value)
            : Cause.isInterruptedOnly(exit.cause)
            ? "interrupted"
            : "defect"
          operations.unsafeUpdate(1, failed(outcome))
          if (outcome === "UnknownOutcome") unknownOutcomes.unsafeUpdate(1, unknownTags)
        }
        return Effect.void
      })
    })
}

const kinds = {
  value: [label("kind", "value")],
  binary: [label("kind", "binary")],
  log: [label("kind", "log")]
} as const

type Kind = keyof typeof kinds

const written = (kind: Kind, bytes: number): void => {
  if (bytes > 0) bytesWritten.unsafeUpdate(bytes, kinds[kind])
}

const read = (kind: Kind, bytes: number): void => {
  if (bytes > 0) bytesRead.unsafeUpdate(bytes, kinds[kind])
}

const sizeOf = (entry: Entry): number => entry._tag === "Log" ? sum(entry.elements) : entry.bytes.length

const sum = (pieces: ReadonlyArray<Uint8Array>): number => {
  let n = 0
  for (const piece of pieces) n += piece.length
  return n
}

/**
 * A backend whose content traffic is counted: bytes written by successful
 * writes (as `Meta.size` counts them), bytes read as stored, by the key's
 * kind. Both stores are
 * built on it, so MemoryStore's metrics read like DynamoDBStore's.
 */
export const meteredBackend = (backend: Backend): Backend => ({
  ...backend,
  readEntry: (key, now) =>
    Effect.tap(backend.readEntry(key, now), (entry) => {
      if (Option.isSome(entry)) read(entry.value.head.kind, sizeOf(entry.value))
    }),
  readMany: (keys, now) =>
    Effect.tap(backend.readMany(keys, now), (entries) => {
      for (const entry of entries.values()) read(entry.head.kind, sizeOf(entry))
    }),
  readLog: (key) =>
    Effect.tap(backend.readLog(key), (log) => {
      if (Option.isSome(log)) read("log", sum(log.value.elements))
    }),
  readBinary: (key) =>
    Effect.map(backend.readBinary(key), (binary) =>
      Option.map(binary, (entry) => ({
        ...entry,
        stream: Stream.tap(entry.stream, (chunk) => Effect.sync(() => read("binary", chunk.length)))
      }))),
  put: (request) => Effect.tap(backend.put(request), () => written(request.kind, request.size)),
  putStream: (header, bytes) => {
    let n = 0
    return Effect.tap(
      backend.putStream(header, Stream.tap(bytes, (chunk) => Effect.sync(() => (n += chunk.length)))),
      () => written(header.kind, n)
    )
  },
  putMany: (requests, options) =>
    Effect.tap(backend.putMany(requests, options), () => {
      for (const request of requests) written(request.kind, request.size)
    }),
  append: (request) => Effect.tap(backend.append(request), () => written("log", request.element.length))
})

/** The labels of one command's request metrics, made once per client and command. @internal */
export interface RequestLabels {
  readonly ok: ReadonlyArray<MetricLabel.MetricLabel>
  readonly command: ReadonlyArray<MetricLabel.MetricLabel>
  readonly verdict: (verdict: string) => ReadonlyArray<MetricLabel.MetricLabel>
}

/** @internal */
export const requestLabels = (command: string): RequestLabels => {
  const commandLabel = label("command", command)
  const verdicts = new Map<string, ReadonlyArray<MetricLabel.MetricLabel>>()
  return {
    ok: [commandLabel, label("outcome", "ok")],
    command: [commandLabel],
    verdict: (verdict) => {
      let labels = verdicts.get(verdict)
      if (labels === undefined) {
        labels = [commandLabel, label("outcome", verdict)]
        verdicts.set(verdict, labels)
      }
      return labels
    }
  }
}

/**
 * Records the capacity DynamoDB reported in an answer (`ConsumedCapacity`:
 * one object, or one per table for batches and transactions).
 *
 * @internal
 */
export const recordCapacity = (command: string, output: unknown): void => {
  if (!Predicate.hasProperty(output, "ConsumedCapacity")) return
  const reported = output.ConsumedCapacity
  const items: ReadonlyArray<unknown> = Array.isArray(reported) ? reported : reported === undefined ? [] : [reported]
  let readUnits = 0
  let writeUnits = 0
  let undivided = 0
  for (const item of items) {
    if (!Predicate.isRecord(item)) continue
    const read = typeof item.ReadCapacityUnits === "number" ? item.ReadCapacityUnits : 0
    const write = typeof item.WriteCapacityUnits === "number" ? item.WriteCapacityUnits : 0
    readUnits += read
    writeUnits += write
    // `CapacityUnits` is the sum of the two when DynamoDB divides them: counted only when it does not.
    if (read === 0 && write === 0 && typeof item.CapacityUnits === "number") undivided += item.CapacityUnits
  }
  const labels = capacityLabels(command)
  if (readUnits > 0) capacityUnits.unsafeUpdate(readUnits, labels.read)
  if (writeUnits > 0) capacityUnits.unsafeUpdate(writeUnits, labels.write)
  if (undivided > 0) capacityUnits.unsafeUpdate(undivided, labels.total)
}

const capacityLabelsByCommand = new Map<
  string,
  Record<"read" | "write" | "total", ReadonlyArray<MetricLabel.MetricLabel>>
>()

const capacityLabels = (command: string) => {
  let labels = capacityLabelsByCommand.get(command)
  if (labels === undefined) {
    const commandLabel = label("command", command)
    labels = {
      read: [commandLabel, label("unit", "read")],
      write: [commandLabel, label("unit", "write")],
      total: [commandLabel, label("unit", "total")]
    }
    capacityLabelsByCommand.set(command, labels)
  }
  return labels
}
