/**
 * Failure names in one place: how the store reads a failed SDK request (by
 * the exception's name, or a Node.js system error's code), what one failed
 * attempt means for the next, and the messages of the store's own codes that
 * DynamoDB requests give (`UnknownOutcome`, `ConcurrentModification`,
 * `ClockSkew`; the codes and their constructors: internal/failureCodes.ts).
 *
 * @internal
 */
import type { AttributeValue, CancellationReason } from "@aws-sdk/client-dynamodb"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Predicate from "effect/Predicate"
import { DynamoDBError, type KonserveError, StoreNotFound, Throttled } from "../../KonserveError.js"
import * as FailureCodes from "../failureCodes.js"

/**
 * What one failed request means.
 * - `throttle`: DynamoDB refused for throughput; retried, then `Throttled`.
 * - `retry`: transient (a transaction conflict, a 5xx, the network); retried, then `DynamoDBError`.
 * - `condition`: a `ConditionExpression` did not hold (`ConditionalCheckFailedException`).
 * - `cancelled`: a transaction cancelled because a condition of one of its items did not hold.
 * - `notFound`: the table is missing: `StoreNotFound`.
 * - `fatal`: anything else: `DynamoDBError` at once.
 *
 * @internal
 */
export type Verdict = "throttle" | "retry" | "condition" | "cancelled" | "notFound" | "fatal"

/**
 * A request that failed for good (after the store's retries when its verdict
 * is retryable). `ambiguous`: some attempt of it may have been applied
 * although it failed — an answer lost on the network, a 5xx, a timeout, or an
 * SDK that resent it on its own (`$metadata.attempts > 1`).
 *
 * @internal
 */
export class RequestFailure extends Data.TaggedError("RequestFailure")<{
  readonly command: string
  readonly code: string
  readonly message: string
  readonly verdict: Verdict
  readonly ambiguous: boolean
  /** The store's attempts of this request. */
  readonly attempts: number
  readonly cause: unknown
}> {}

/**
 * A head was read, then its content (chunks, log elements) was gone or
 * changed: a concurrent rewrite or removal. A whole read restarts; a stream
 * already under way fails with it (see `surface`).
 *
 * @internal
 */
export class ConcurrentModification extends Data.TaggedError("ConcurrentModification")<{
  readonly key: string
  readonly what: string
  /** The version of the head whose content was missing. */
  readonly version: string
}> {}

const throttlingNames: ReadonlySet<string> = new Set([
  "ProvisionedThroughputExceededException",
  "ThrottlingException",
  "RequestLimitExceeded",
  "Throttling",
  "ThrottledException",
  "TooManyRequestsException"
])

/** Transient failures after which the request was certainly not applied. */
const transientNames: ReadonlySet<string> = new Set([
  "TransactionConflictException",
  "LimitExceededException",
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH"
])

/** Transient failures after which the request may have been applied. */
const ambiguousNames: ReadonlySet<string> = new Set([
  "TransactionInProgressException",
  "InternalServerError",
  "InternalFailure",
  "ServiceUnavailable",
  "ServiceUnavailableException",
  "RequestTimeout",
  "RequestTimeoutException",
  "TimeoutError",
  "NetworkingError",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "ESOCKETTIMEDOUT",
  "UND_ERR_SOCKET",
  "ERR_HTTP2_STREAM_ERROR",
  "ERR_STREAM_PREMATURE_CLOSE"
])

const throttlingReasons: ReadonlySet<string> = new Set(["ProvisionedThroughputExceeded", "ThrottlingError"])

/** The name of a failure: a Node.js system error's code, else the exception's name. @internal */
export const codeOf = (error: unknown): string => {
  if (Predicate.hasProperty(error, "code") && typeof error.code === "string" && /^E[A-Z_]+$/.test(error.code)) {
    return error.code
  }
  if (Predicate.hasProperty(error, "name") && typeof error.name === "string" && error.name !== "Error") {
    return error.name
  }
  if (Predicate.hasProperty(error, "code") && typeof error.code === "string") return error.code
  return "UnknownError"
}

const messageOf = (error: unknown): string =>
  Predicate.hasProperty(error, "message") && typeof error.message === "string" ? error.message : String(error)

/** How many times the SDK itself sent a request (its own retries), from a failure's `$metadata`. */
const sdkAttempts = (error: unknown): number =>
  Predicate.hasProperty(error, "$metadata") && Predicate.isRecord(error.$metadata) &&
    typeof error.$metadata.attempts === "number"
    ? error.$metadata.attempts
    : 1

/** The cancellation reasons of a `TransactionCanceledException`, or empty. @internal */
export const cancellationReasons = (error: unknown): ReadonlyArray<CancellationReason> =>
  Predicate.hasProperty(error, "CancellationReasons") && Array.isArray(error.CancellationReasons)
    ? error.CancellationReasons as ReadonlyArray<CancellationReason>
    : []

/** The current item returned with a failed condition (`ReturnValuesOnConditionCheckFailure: ALL_OLD`). @internal */
export const conditionItem = (error: unknown): Record<string, AttributeValue> | undefined =>
  Predicate.hasProperty(error, "Item") && Predicate.isRecord(error.Item)
    ? error.Item as Record<string, AttributeValue>
    : undefined

const verdictOf = (code: string, error: unknown): { readonly verdict: Verdict; readonly ambiguous: boolean } => {
  if (code === "ConditionalCheckFailedException") return { verdict: "condition", ambiguous: false }
  if (throttlingNames.has(code)) return { verdict: "throttle", ambiguous: false }
  if (code === "ResourceNotFoundException") return { verdict: "notFound", ambiguous: false }
  if (code === "TransactionCanceledException") {
    const codes = cancellationReasons(error).map((reason) => reason.Code ?? "None").filter((c) => c !== "None")
    if (codes.includes("ConditionalCheckFailed")) return { verdict: "cancelled", ambiguous: false }
    if (codes.length === 0 || codes.some((c) => c !== "TransactionConflict" && !throttlingReasons.has(c))) {
      return { verdict: "fatal", ambiguous: false }
    }
    return { verdict: codes.every((c) => throttlingReasons.has(c)) ? "throttle" : "retry", ambiguous: false }
  }
  if (transientNames.has(code)) return { verdict: "retry", ambiguous: false }
  if (ambiguousNames.has(code)) return { verdict: "retry", ambiguous: true }
  const status = Predicate.hasProperty(error, "$metadata") && Predicate.isRecord(error.$metadata)
    ? error.$metadata.httpStatusCode
    : undefined
  const fault = Predicate.hasProperty(error, "$fault") ? error.$fault : undefined
  if (fault === "server" || (typeof status === "number" && status >= 500)) return { verdict: "retry", ambiguous: true }
  if (Predicate.hasProperty(error, "$retryable") && Predicate.isRecord(error.$retryable)) {
    return { verdict: error.$retryable.throttling === true ? "throttle" : "retry", ambiguous: true }
  }
  return { verdict: "fatal", ambiguous: false }
}

/**
 * What one failed attempt was. `ambiguous` also when the SDK resent the
 * request on its own (a user's client with retries on): an earlier send may
 * have been applied.
 *
 * @internal
 */
export interface Attempt {
  readonly code: string
  readonly message: string
  readonly verdict: Verdict
  readonly ambiguous: boolean
  readonly cause: unknown
}

/** Failures of the SDK's own configuration, named plainly (the SDK reports them as plain `Error`s). */
const configurationProblem = (message: string): string | undefined =>
  /Region is missing/i.test(message)
    ? "no AWS region: give `region` in the store's configuration, or set AWS_REGION or a profile's region"
    : /Invalid URL/i.test(message)
    ? `the endpoint is not a URL (${message})`
    : undefined

/** Reads one failed attempt. @internal */
export const classify = (error: unknown): Attempt => {
  const message = messageOf(error)
  const problem = configurationProblem(message)
  if (problem !== undefined) {
    return {
      code: "InvalidConfiguration" satisfies FailureCodes.StoreCode,
      message: problem,
      verdict: "fatal",
      ambiguous: false,
      cause: error
    }
  }
  const code = codeOf(error)
  const { ambiguous, verdict } = verdictOf(code, error)
  return { code, message, verdict, ambiguous: ambiguous || sdkAttempts(error) > 1, cause: error }
}

/**
 * A head request not sent because its write passed its deadline (`client.ts`,
 * `headDeadline`): certainly not applied, not retried.
 *
 * @internal
 */
export const writeTooSlow = (command: string, limitMillis: number): Attempt => ({
  code: "WriteTooSlow" satisfies FailureCodes.StoreCode,
  message: `a write that stores chunks sends its head within ${Duration.format(Duration.millis(limitMillis))} ` +
    `of its start; this one took longer, so its ${command} was not sent and the write is abandoned ` +
    "(its chunks deleted, the key unchanged)",
  verdict: "fatal",
  ambiguous: false,
  cause: undefined
})

/**
 * An attempt on a borrowed client aborted by the store after `millis`
 * (`client.ts`, `BORROWED_ATTEMPT_MILLIS`): it may have been applied, and is
 * retried like a timeout.
 *
 * @internal
 */
export const attemptDeadline = (command: string, millis: number, cause: unknown): Attempt => ({
  code: "TimeoutError" satisfies FailureCodes.StoreCode,
  message: `the store aborted this ${command} attempt after ${Duration.format(Duration.millis(millis))} ` +
    "(a borrowed client's attempts, its own resends included, are bounded so)",
  verdict: "retry",
  ambiguous: true,
  cause
})

/**
 * The store's version clock cannot be anchored to DynamoDB's: `DynamoDBError`
 * code "ClockSkew", before the write sent anything.
 *
 * @internal
 */
export const clockSkew = (operation: string, key: string, problem: string): DynamoDBError =>
  FailureCodes.clockSkew(operation, `${operation} of key ${JSON.stringify(key)} was not sent: ${problem}`)

/** Whether the store retries an attempt that failed so. @internal */
export const isRetryable = (attempt: Attempt): boolean => attempt.verdict === "throttle" || attempt.verdict === "retry"

/**
 * A request's failure as the store's public failure: `Throttled`,
 * `StoreNotFound` or `DynamoDBError` with the service's code. Only for
 * requests whose failure leaves nothing open (reads, and writes whose every
 * attempt certainly was not applied): see `unknownOutcome`.
 *
 * @internal
 */
export const toKonserveError = (failure: RequestFailure, table: string): KonserveError => {
  switch (failure.verdict) {
    case "throttle":
      return new Throttled({ operation: failure.command, attempts: failure.attempts })
    case "notFound":
      return new StoreNotFound({ table })
    default:
      return new DynamoDBError({
        operation: failure.command,
        code: failure.code,
        message: `${failure.command} on table ${JSON.stringify(table)} failed` +
          (failure.attempts > 1 ? ` after ${failure.attempts} attempts` : "") +
          `: ${failure.code}: ${failure.message}`,
        retryable: isRetryable(failure),
        cause: failure.cause
      })
  }
}

/**
 * A write that may have been applied, whose outcome DynamoDB's state could
 * not establish: `DynamoDBError` code "UnknownOutcome". Never retried by
 * the caller blindly: re-read first.
 *
 * @internal
 */
export const unknownOutcome = (operation: string, key: string, why: string, cause?: unknown): DynamoDBError =>
  FailureCodes.unknownOutcome(
    operation,
    `${operation} of key ${JSON.stringify(key)}: whether it was applied is unknown: ${why}; ` +
      "re-read the key before writing again",
    cause
  )

/** Why a failed request leaves a write's outcome open, for `unknownOutcome`. @internal */
export const describeFailure = (failure: RequestFailure): string =>
  `${failure.command} failed after a request that may have been applied ` +
  `(${failure.attempts} attempt${failure.attempts === 1 ? "" : "s"}; last: ${failure.code}: ${failure.message})`

/** A concurrent modification that a read could not get past, as the public failure. @internal */
export const surface = (error: ConcurrentModification): DynamoDBError =>
  FailureCodes.concurrentModification(
    "read",
    `key ${JSON.stringify(error.key)}: ${error.what}: the key was rewritten or removed while it was read; read it again`
  )

/**
 * A write refused by its own condition (`ifAbsent`, `ifVersion`, a removal
 * of nothing): not applied. `settled`: no attempt of it can still apply (none
 * was ambiguous), so content written for it may go; else it is left for
 * `sweep`. Internal: it surfaces as `ConditionFailed`.
 *
 * @internal
 */
export class Refused extends Data.TaggedError("Refused")<{
  readonly key: string
  readonly operation: string
  readonly settled: boolean
}> {}

/** A `CreateTable` that found the table being created by someone else. @internal */
export const isTableInUse = (failure: RequestFailure): boolean => failure.code === "ResourceInUseException"

/** An `UpdateTimeToLive` that found TTL already enabled. @internal */
export const isTtlAlreadyEnabled = (failure: RequestFailure): boolean =>
  failure.code === "ValidationException" && /already/i.test(failure.message)

/** Whether a failure is the store's "whether it was applied is unknown". @internal */
export const isUnknownOutcome: (error: unknown) => boolean = FailureCodes.isUnknownOutcome

/**
 * The failure of a write whose request failed for good: `UnknownOutcome`
 * when some attempt of the write may have been applied (`ambiguous` before
 * this request, or this request's own attempts), else the request's failure.
 * So a write never fails with `Throttled` or a plain error after an attempt
 * that may have been applied.
 *
 * @internal
 */
export const writeFailure = (
  failure: RequestFailure,
  table: string,
  write: { readonly operation: string; readonly key: string; readonly ambiguous: boolean }
): KonserveError =>
  write.ambiguous || failure.ambiguous
    ? unknownOutcome(write.operation, write.key, describeFailure(failure), failure.cause)
    : toKonserveError(failure, table)
