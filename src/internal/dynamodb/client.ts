/**
 * The one boundary between the store and the AWS SDK: every request goes
 * through `send`, which passes the fiber's abort signal (interrupting a
 * fiber cancels its HTTP request), opens one client span, and sends again
 * what failed transiently, on the store's retry `Schedule` (the SDK's own
 * retries are off in the store's own clients). Every request the store makes
 * is safe to send again (reads; chunk writes under a fresh content id; head
 * writes conditioned on `ver < :v`; transactions with their token): deciding
 * what a failed write means is `resolve.ts`'s job, not this module's.
 *
 * @internal
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb"
import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  CreateTableCommand,
  DeleteItemCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  GetItemCommand,
  QueryCommand,
  ScanCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  UpdateTimeToLiveCommand
} from "@aws-sdk/client-dynamodb"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import type { KonserveError } from "../../KonserveError.js"
import * as Metrics from "../metrics.js"
import * as Retry from "../retry.js"
import * as Tracing from "../tracing.js"
import type * as Version from "../version.js"
import type { CommandClass, CommandTable } from "./commandTable.js"
import * as Failure from "./failure.js"
import * as Transport from "./transport.js"

/** The SDK command class of every command the store sends. */
const constructors = {
  BatchGetItem: BatchGetItemCommand,
  BatchWriteItem: BatchWriteItemCommand,
  CreateTable: CreateTableCommand,
  DeleteItem: DeleteItemCommand,
  DeleteTable: DeleteTableCommand,
  DescribeTable: DescribeTableCommand,
  GetItem: GetItemCommand,
  Query: QueryCommand,
  Scan: ScanCommand,
  TransactWriteItems: TransactWriteItemsCommand,
  UpdateItem: UpdateItemCommand,
  UpdateTimeToLive: UpdateTimeToLiveCommand
} satisfies Record<string, CommandClass>

/**
 * The commands the store sends, with their input and output types.
 *
 * @internal
 */
export type Commands = CommandTable<typeof constructors>

/** @internal */
export type CommandName = keyof Commands

/**
 * A store's connection to its table.
 *
 * @internal
 */
export interface Client {
  readonly table: string
  readonly sdk: DynamoDBClient
  readonly retry: Retry.RetryPolicy
  /**
   * Sends one command, again on the retry schedule while it fails
   * transiently; its failure says whether any attempt may have been applied.
   */
  readonly send: <K extends CommandName>(
    command: K,
    input: Commands[K][0]
  ) => Effect.Effect<Commands[K][1], Failure.RequestFailure>
  /** `send`, its failure as the store's public failure: for requests whose failure leaves nothing open. */
  readonly call: <K extends CommandName>(
    command: K,
    input: Commands[K][0]
  ) => Effect.Effect<Commands[K][1], KonserveError>
}

/**
 * One client span per request — when the application has a tracer of its own
 * (OpenTelemetry, say): with Effect's native tracer nobody reads them, and
 * the span per operation (`KonserveStore.get`, ...) remains.
 */
const traced = (command: CommandName, table: string) => <A, E>(request: Effect.Effect<A, E>): Effect.Effect<A, E> =>
  Effect.tracerWith((tracer) =>
    tracer === Tracing.nativeTracer ? request : Effect.withSpan(
      Effect.zipRight(Tracing.arrayAttribute("aws.dynamodb.table_names", [table]), request),
      `DynamoDB.${command}`,
      {
        kind: "client",
        captureStackTrace: false,
        attributes: {
          "db.system.name": "aws.dynamodb",
          "db.operation.name": command,
          "aws.dynamodb.table_names": [table]
        }
      }
    )
  )

/**
 * The deadline of the head requests of a write that wrote chunks: no
 * `UpdateItem` or `TransactWriteItems` attempt is sent after `notAfter`
 * (epoch milliseconds, the machine's clock); such an attempt fails at once,
 * unsent, with code "WriteTooSlow". Set by `content.ts` around a write's
 * commit; what lets `sweep` tell that chunks older than its grace can never
 * be referenced (docs/consistency.md, "Sweeping").
 *
 * @internal
 */
export interface HeadDeadline {
  readonly notAfter: number
  /** The limit it was set from, for the message. */
  readonly limitMillis: number
}

/** @internal */
export const headDeadline: FiberRef.FiberRef<HeadDeadline | undefined> = FiberRef.unsafeMake<
  HeadDeadline | undefined
>(undefined)

/** The requests that write heads: the only ones a head deadline stops. */
const headWrites: ReadonlySet<CommandName> = new Set<CommandName>(["UpdateItem", "TransactWriteItems"])

/** The requests that can report the capacity they consumed (`ReturnConsumedCapacity`). */
const reportsCapacity: ReadonlySet<CommandName> = new Set<CommandName>([
  "BatchGetItem",
  "BatchWriteItem",
  "DeleteItem",
  "GetItem",
  "Query",
  "Scan",
  "TransactWriteItems",
  "UpdateItem"
])

/**
 * How long one of the store's attempts may take on a borrowed client
 * (`layerWithClient`), the SDK's own resends of it included: 60 seconds,
 * then it is aborted (an ambiguous failure, retried on the store's schedule).
 * The SDK's defaults (3 attempts, no request timeout) could otherwise hold
 * an attempt on a dead connection and resend it long after — past the
 * tombstones' hour of history, or a chunked write's deadline. Aborting
 * stops the SDK from signing any further resend of it.
 *
 * @internal
 */
export const BORROWED_ATTEMPT_MILLIS = 60_000

/** `BORROWED_ATTEMPT_MILLIS`, shorter in tests; read when a store is built. @internal */
export const borrowedAttemptMillis: FiberRef.FiberRef<number> = FiberRef.unsafeMake(BORROWED_ATTEMPT_MILLIS)

/**
 * What a `Client` is built from. `transport`: whose SDK client it is
 * (`transport.ts`); `anchor`: the store's version clock, told DynamoDB's
 * time by every answer; `attemptDeadlineMillis`: abort each attempt after it
 * (a borrowed client's); `consumedCapacity`: ask every request for its
 * consumed capacity (metered).
 *
 * @internal
 */
export interface ClientOptions {
  readonly table: string
  readonly retry: Retry.RetryPolicy
  readonly transport: Transport.Transport
  readonly consumedCapacity?: boolean | undefined
  readonly anchor?: Version.Anchor | undefined
  readonly attemptDeadlineMillis?: number | undefined
}

/** An attempt's abort signal: a real `AbortController`'s (`full`), else a plain object the Node.js handler reads. */
const abortSignalOf = (transport: Transport.Transport) => {
  if (transport === "full") {
    const controller = new AbortController()
    return { signal: controller.signal as Transport.AbortSignalLike, abort: () => controller.abort() }
  }
  const signal: Transport.AbortSignalLike = { aborted: false, onabort: null }
  return {
    signal,
    abort: () => {
      signal.aborted = true
      ;(signal.onabort as (() => void) | null)?.()
    }
  }
}

/**
 * Builds the `Client` of a table on an SDK client.
 *
 * @internal
 */
export const make = (sdk: DynamoDBClient, options: ClientOptions): Client => {
  const { anchor, attemptDeadlineMillis, retry, table, transport } = options
  const consumedCapacity = options.consumedCapacity ?? false
  const retryAfterFirst = Retry.schedule({ ...retry, maxAttempts: retry.maxAttempts - 1 })
  const sendSdk = sdk.send.bind(sdk) as (command: unknown, options?: { abortSignal: unknown }) => Promise<unknown>
  // the store's own client resolves its middleware once per command: a send with options would resolve it again
  const dispatch = (Constructor: new(input: never) => unknown, input: object, signal: Transport.AbortSignalLike) => {
    if (transport === "own") {
      return sendSdk(new Constructor(Transport.withPassenger(input, { signal, anchor }) as never))
    }
    const request = new Constructor(input as never)
    if (anchor !== undefined) Transport.observeDates(request, anchor)
    return sendSdk(request, { abortSignal: signal })
  }
  const labels = new Map<string, Metrics.RequestLabels>()
  const labelsOf = (command: CommandName): Metrics.RequestLabels => {
    let found = labels.get(command)
    if (found === undefined) {
      found = Metrics.requestLabels(command)
      labels.set(command, found)
    }
    return found
  }

  const send = <K extends CommandName>(
    command: K,
    input: Commands[K][0]
  ): Effect.Effect<Commands[K][1], Failure.RequestFailure> =>
    Effect.withFiberRuntime<Commands[K][1], Failure.RequestFailure>((fiber) => {
      const Constructor = constructors[command]
      const metered = labelsOf(command)
      const sent = consumedCapacity && reportsCapacity.has(command)
        ? { ...input, ReturnConsumedCapacity: "TOTAL" }
        : input
      const deadline = headWrites.has(command) ? fiber.getFiberRef(headDeadline) : undefined
      let attempts = 0
      let ambiguous = false
      const attempt = Effect.async<Commands[K][1], Failure.Attempt>((resume) => {
        // Checked before every attempt, resends included: no head request of a late write is signed.
        if (deadline !== undefined && Date.now() > deadline.notAfter) {
          return resume(Effect.fail(Failure.writeTooSlow(command, deadline.limitMillis)))
        }
        attempts++
        if (attempts > 1) Metrics.retries.unsafeUpdate(1, metered.command)
        const { abort, signal } = abortSignalOf(transport)
        let timedOut = false
        const timer = attemptDeadlineMillis === undefined ? undefined : setTimeout(() => {
          timedOut = true
          abort()
        }, attemptDeadlineMillis)
        dispatch(Constructor, sent, signal).then(
          (output) => {
            if (timer !== undefined) clearTimeout(timer)
            Metrics.requests.unsafeUpdate(1, metered.ok)
            if (consumedCapacity) Metrics.recordCapacity(command, output)
            resume(Effect.succeed(output as Commands[K][1]))
          },
          (error) => {
            if (timer !== undefined) clearTimeout(timer)
            const failure = timedOut
              ? Failure.attemptDeadline(command, attemptDeadlineMillis!, error)
              : Failure.classify(error)
            Metrics.requests.unsafeUpdate(1, metered.verdict(failure.verdict))
            if (failure.verdict === "throttle") Metrics.throttles.unsafeUpdate(1, metered.command)
            if (failure.ambiguous) ambiguous = true
            resume(Effect.fail(failure))
          }
        )
        return Effect.sync(() => {
          if (timer !== undefined) clearTimeout(timer)
          abort()
        })
      })
      // The schedule is set up only after a first failure: the common path is one attempt.
      return attempt.pipe(
        Effect.catchAll((failure) =>
          Failure.isRetryable(failure) && retry.maxAttempts > 1
            ? Retry.retrying(attempt, { schedule: retryAfterFirst, while: Failure.isRetryable }).pipe(
              Effect.ensuring(Effect.suspend(() => Effect.annotateCurrentSpan("konserve.attempts", attempts)))
            )
            : Effect.fail(failure)
        ),
        Effect.mapError((failure) => new Failure.RequestFailure({ command, ...failure, ambiguous, attempts }))
      )
    }).pipe(traced(command, table))

  const call = <K extends CommandName>(
    command: K,
    input: Commands[K][0]
  ): Effect.Effect<Commands[K][1], KonserveError> =>
    Effect.mapError(send(command, input), (failure) => Failure.toKonserveError(failure, table))

  return { table, sdk, retry, send, call }
}
