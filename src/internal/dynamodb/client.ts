/**
 * The one boundary between the store and the AWS SDK: every request goes
 * through `send`, which passes the fiber's abort signal (interrupting a
 * fiber cancels its HTTP request), opens one client span, retries what is
 * retryable on the store's own `Schedule` (the SDK's retries are off in the
 * store's own clients) and maps every SDK failure, by `error.name`, to a
 * `KonserveError` that keeps the SDK error as `cause`.
 *
 * @internal
 */
import type {
  AttributeValue,
  BatchGetItemCommandInput,
  BatchGetItemCommandOutput,
  BatchWriteItemCommandInput,
  BatchWriteItemCommandOutput,
  CancellationReason,
  CreateTableCommandInput,
  CreateTableCommandOutput,
  DeleteItemCommandInput,
  DeleteItemCommandOutput,
  DeleteTableCommandInput,
  DeleteTableCommandOutput,
  DescribeTableCommandInput,
  DescribeTableCommandOutput,
  DynamoDBClient,
  GetItemCommandInput,
  GetItemCommandOutput,
  PutItemCommandInput,
  PutItemCommandOutput,
  QueryCommandInput,
  QueryCommandOutput,
  ScanCommandInput,
  ScanCommandOutput,
  TransactWriteItemsCommandInput,
  TransactWriteItemsCommandOutput,
  UpdateTimeToLiveCommandInput,
  UpdateTimeToLiveCommandOutput
} from "@aws-sdk/client-dynamodb"
import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  CreateTableCommand,
  DeleteItemCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
  TransactWriteItemsCommand,
  UpdateTimeToLiveCommand
} from "@aws-sdk/client-dynamodb"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"
import * as Schedule from "effect/Schedule"
import { DynamoDBError, type KonserveError, StoreNotFound, Throttled } from "../../KonserveError.js"

/** The longest pause between two attempts. @internal */
export const MAX_RETRY_DELAY = Duration.seconds(2)

/** The default retry policy: 10 attempts, exponential from 20 ms, jittered, capped at 2 s. @internal */
export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 10, baseDelay: Duration.millis(20) }

/** @internal */
export interface RetryPolicy {
  /** Attempts in all, the first one included. */
  readonly maxAttempts: number
  readonly baseDelay: Duration.Duration
}

/**
 * Retries sleep on this clock, not on the calling fiber's: a test running on
 * `TestClock` never hangs on a backoff. (TTL "now" still comes from the
 * caller's `Clock`, through the shared store.)
 */
const liveClock = Clock.make()

/**
 * The commands the store sends, with their input and output types.
 *
 * @internal
 */
export interface Commands {
  readonly BatchGetItem: readonly [BatchGetItemCommandInput, BatchGetItemCommandOutput]
  readonly BatchWriteItem: readonly [BatchWriteItemCommandInput, BatchWriteItemCommandOutput]
  readonly CreateTable: readonly [CreateTableCommandInput, CreateTableCommandOutput]
  readonly DeleteItem: readonly [DeleteItemCommandInput, DeleteItemCommandOutput]
  readonly DeleteTable: readonly [DeleteTableCommandInput, DeleteTableCommandOutput]
  readonly DescribeTable: readonly [DescribeTableCommandInput, DescribeTableCommandOutput]
  readonly GetItem: readonly [GetItemCommandInput, GetItemCommandOutput]
  readonly PutItem: readonly [PutItemCommandInput, PutItemCommandOutput]
  readonly Query: readonly [QueryCommandInput, QueryCommandOutput]
  readonly Scan: readonly [ScanCommandInput, ScanCommandOutput]
  readonly TransactWriteItems: readonly [TransactWriteItemsCommandInput, TransactWriteItemsCommandOutput]
  readonly UpdateTimeToLive: readonly [UpdateTimeToLiveCommandInput, UpdateTimeToLiveCommandOutput]
}

/** @internal */
export type CommandName = keyof Commands

const constructors: { readonly [K in CommandName]: new(input: Commands[K][0]) => unknown } = {
  BatchGetItem: BatchGetItemCommand,
  BatchWriteItem: BatchWriteItemCommand,
  CreateTable: CreateTableCommand,
  DeleteItem: DeleteItemCommand,
  DeleteTable: DeleteTableCommand,
  DescribeTable: DescribeTableCommand,
  GetItem: GetItemCommand,
  PutItem: PutItemCommand,
  Query: QueryCommand,
  Scan: ScanCommand,
  TransactWriteItems: TransactWriteItemsCommand,
  UpdateTimeToLive: UpdateTimeToLiveCommand
}

/**
 * Whether any attempt of a write failed in a way that leaves its outcome
 * open (the request may have been applied and only its answer lost). A
 * conditional write that later fails its condition consults it.
 *
 * @internal
 */
export interface Ambiguity {
  ambiguous: boolean
}

/** @internal */
export const ambiguity = (): Ambiguity => ({ ambiguous: false })

/** @internal */
export interface SendOptions {
  /** Set when an attempt failed ambiguously. */
  readonly ambiguity?: Ambiguity | undefined
  /**
   * The request is a write that must not be applied twice (a conditional
   * write, a transaction): when the retries are spent after an ambiguous
   * failure it fails with `DynamoDBError` named "UnknownOutcome".
   */
  readonly unknownOutcome?: boolean | undefined
}

/**
 * What one failed attempt means for the next.
 * - `throttle`: DynamoDB refused for throughput; retried, then `Throttled`.
 * - `retry`: transient (a conflict, a 5xx, the network); retried, then `DynamoDBError`.
 * - `notFound`: the table is missing: `StoreNotFound`.
 * - `fatal`: anything else: `DynamoDBError` at once.
 */
type Verdict = "throttle" | "retry" | "notFound" | "fatal"

interface Failure {
  readonly verdict: Verdict
  /** The request may have been applied. */
  readonly ambiguous: boolean
  readonly name: string
  readonly message: string
  readonly cause: unknown
}

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

const errorName = (error: unknown): string => {
  if (Predicate.hasProperty(error, "code") && typeof error.code === "string" && /^E[A-Z_]+$/.test(error.code)) {
    return error.code
  }
  if (Predicate.hasProperty(error, "name") && typeof error.name === "string" && error.name !== "Error") {
    return error.name
  }
  if (Predicate.hasProperty(error, "code") && typeof error.code === "string") return error.code
  return "UnknownError"
}

const errorMessage = (error: unknown): string =>
  Predicate.hasProperty(error, "message") && typeof error.message === "string" ? error.message : String(error)

/** The cancellation reasons of a `TransactionCanceledException`, or empty. @internal */
export const cancellationReasons = (error: unknown): ReadonlyArray<CancellationReason> =>
  Predicate.hasProperty(error, "CancellationReasons") && Array.isArray(error.CancellationReasons)
    ? error.CancellationReasons as ReadonlyArray<CancellationReason>
    : []

/** The current item returned by a failed condition (`ReturnValuesOnConditionCheckFailure: ALL_OLD`). @internal */
export const conditionItem = (error: unknown): Record<string, AttributeValue> | undefined =>
  Predicate.hasProperty(error, "Item") && Predicate.isRecord(error.Item)
    ? error.Item as Record<string, AttributeValue>
    : undefined

const verdictOf = (name: string, error: unknown): Pick<Failure, "verdict" | "ambiguous"> => {
  if (throttlingNames.has(name)) return { verdict: "throttle", ambiguous: false }
  if (name === "ResourceNotFoundException") return { verdict: "notFound", ambiguous: false }
  if (name === "TransactionCanceledException") {
    const codes = cancellationReasons(error).map((reason) => reason.Code ?? "None").filter((code) => code !== "None")
    if (codes.length === 0 || codes.some((code) => code !== "TransactionConflict" && !throttlingReasons.has(code))) {
      return { verdict: "fatal", ambiguous: false }
    }
    return { verdict: codes.every((code) => throttlingReasons.has(code)) ? "throttle" : "retry", ambiguous: false }
  }
  if (transientNames.has(name)) return { verdict: "retry", ambiguous: false }
  if (ambiguousNames.has(name)) return { verdict: "retry", ambiguous: true }
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

/** Classifies one failed attempt, by `error.name` (or a Node.js system error's `code`). */
const classify = (error: unknown): Failure => {
  const name = errorName(error)
  return { ...verdictOf(name, error), name, message: errorMessage(error), cause: error }
}

/**
 * A store's connection to its table.
 *
 * @internal
 */
export interface Client {
  readonly table: string
  readonly sdk: DynamoDBClient
  readonly retry: RetryPolicy
  /** Sends one command, with retries; the failure is a mapped `KonserveError`. */
  readonly send: <K extends CommandName>(
    command: K,
    input: Commands[K][0],
    options?: SendOptions
  ) => Effect.Effect<Commands[K][1], KonserveError>
  /** Sleeps before attempt `attempt + 1` (1-based `attempt`) on the live clock. */
  readonly backoff: (attempt: number) => Effect.Effect<void>
}

/** The retry schedule of a policy: exponential from `baseDelay`, jittered, capped, `maxAttempts` in all. @internal */
export const schedule = (policy: RetryPolicy, delaysTaken = 0): Schedule.Schedule<unknown, Failure> =>
  Schedule.exponential(Duration.times(Duration.decode(policy.baseDelay), 2 ** delaysTaken), 2).pipe(
    Schedule.jittered,
    Schedule.modifyDelay((_, delay) => Duration.min(delay, MAX_RETRY_DELAY)),
    Schedule.intersect(Schedule.recurs(Math.max(0, policy.maxAttempts - 1))),
    Schedule.whileInput(isRetryable)
  )

const isRetryable = (failure: Failure): boolean => failure.verdict === "throttle" || failure.verdict === "retry"

/** The delay before attempt `attempt + 1` of a loop that is not a plain resend (e.g. `UnprocessedKeys`). */
const delayOf = (policy: RetryPolicy, attempt: number): Duration.Duration => {
  const exponential = Duration.toMillis(policy.baseDelay) * 2 ** Math.max(0, attempt - 1)
  const jittered = exponential * (0.8 + Math.random() * 0.4)
  return Duration.min(Duration.millis(jittered), MAX_RETRY_DELAY)
}

/**
 * Builds the `Client` of a table.
 *
 * @internal
 */
export const make = (sdk: DynamoDBClient, table: string, retry: RetryPolicy): Client => {
  const retryAfterFirst = schedule({ ...retry, maxAttempts: retry.maxAttempts - 1 }, 1)

  const toError = (command: CommandName, failure: Failure, attempts: number, options: SendOptions | undefined) => {
    switch (failure.verdict) {
      case "throttle":
        return new Throttled({ operation: command, attempts })
      case "notFound":
        return new StoreNotFound({ table })
      default: {
        const retryable = failure.verdict === "retry"
        if (retryable && options?.unknownOutcome === true && options.ambiguity?.ambiguous === true) {
          return new DynamoDBError({
            operation: command,
            name: "UnknownOutcome",
            message: `${command} on table ${JSON.stringify(table)}: the request failed ambiguously ${attempts} times ` +
              `(last: ${failure.name}: ${failure.message}); whether it was applied is unknown`,
            retryable: false,
            cause: failure.cause
          })
        }
        return new DynamoDBError({
          operation: command,
          name: failure.name,
          message: `${command} on table ${JSON.stringify(table)} failed: ${failure.name}: ${failure.message}`,
          retryable,
          cause: failure.cause
        })
      }
    }
  }

  const send = <K extends CommandName>(
    command: K,
    input: Commands[K][0],
    options?: SendOptions
  ): Effect.Effect<Commands[K][1], KonserveError> => {
    const Constructor = constructors[command]
    let attempts = 0
    const attempt = Effect.tryPromise({
      try: (signal) => {
        attempts++
        return (sdk.send as (command: unknown, options: { abortSignal: AbortSignal }) => Promise<Commands[K][1]>)(
          new Constructor(input),
          { abortSignal: signal }
        )
      },
      catch: (error) => {
        const failure = classify(error)
        if (failure.ambiguous && options?.ambiguity !== undefined) options.ambiguity.ambiguous = true
        return failure
      }
    })
    // The schedule is set up only after a first failure: the common path is one attempt.
    return attempt.pipe(
      Effect.catchAll((failure) =>
        isRetryable(failure) && retry.maxAttempts > 1
          ? Effect.retry(attempt, retryAfterFirst).pipe(Effect.withClock(liveClock))
          : Effect.fail(failure)
      ),
      Effect.mapError((failure) => toError(command, failure, attempts, options)),
      Effect.withSpan(`DynamoDB.${command}`, {
        kind: "client",
        captureStackTrace: false,
        attributes: {
          "db.system.name": "aws.dynamodb",
          "db.operation.name": command,
          "aws.dynamodb.table_names": [table]
        }
      })
    )
  }

  const backoff = (attempt: number): Effect.Effect<void> =>
    Effect.suspend(() => Effect.sleep(delayOf(retry, attempt))).pipe(Effect.withClock(liveClock))

  return { table, sdk, retry, send, backoff }
}
