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
import type {
  BatchGetItemCommandInput,
  BatchGetItemCommandOutput,
  BatchWriteItemCommandInput,
  BatchWriteItemCommandOutput,
  CreateTableCommandInput,
  CreateTableCommandOutput,
  DeleteTableCommandInput,
  DeleteTableCommandOutput,
  DescribeTableCommandInput,
  DescribeTableCommandOutput,
  DynamoDBClient,
  GetItemCommandInput,
  GetItemCommandOutput,
  QueryCommandInput,
  QueryCommandOutput,
  ScanCommandInput,
  ScanCommandOutput,
  TransactWriteItemsCommandInput,
  TransactWriteItemsCommandOutput,
  UpdateItemCommandInput,
  UpdateItemCommandOutput,
  UpdateTimeToLiveCommandInput,
  UpdateTimeToLiveCommandOutput
} from "@aws-sdk/client-dynamodb"
import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  CreateTableCommand,
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
import type { KonserveError } from "../../KonserveError.js"
import * as Retry from "../retry.js"
import * as Failure from "./failure.js"

/**
 * The commands the store sends, with their input and output types.
 *
 * @internal
 */
export interface Commands {
  readonly BatchGetItem: readonly [BatchGetItemCommandInput, BatchGetItemCommandOutput]
  readonly BatchWriteItem: readonly [BatchWriteItemCommandInput, BatchWriteItemCommandOutput]
  readonly CreateTable: readonly [CreateTableCommandInput, CreateTableCommandOutput]
  readonly DeleteTable: readonly [DeleteTableCommandInput, DeleteTableCommandOutput]
  readonly DescribeTable: readonly [DescribeTableCommandInput, DescribeTableCommandOutput]
  readonly GetItem: readonly [GetItemCommandInput, GetItemCommandOutput]
  readonly Query: readonly [QueryCommandInput, QueryCommandOutput]
  readonly Scan: readonly [ScanCommandInput, ScanCommandOutput]
  readonly TransactWriteItems: readonly [TransactWriteItemsCommandInput, TransactWriteItemsCommandOutput]
  readonly UpdateItem: readonly [UpdateItemCommandInput, UpdateItemCommandOutput]
  readonly UpdateTimeToLive: readonly [UpdateTimeToLiveCommandInput, UpdateTimeToLiveCommandOutput]
}

/** @internal */
export type CommandName = keyof Commands

const constructors: { readonly [K in CommandName]: new(input: Commands[K][0]) => unknown } = {
  BatchGetItem: BatchGetItemCommand,
  BatchWriteItem: BatchWriteItemCommand,
  CreateTable: CreateTableCommand,
  DeleteTable: DeleteTableCommand,
  DescribeTable: DescribeTableCommand,
  GetItem: GetItemCommand,
  Query: QueryCommand,
  Scan: ScanCommand,
  TransactWriteItems: TransactWriteItemsCommand,
  UpdateItem: UpdateItemCommand,
  UpdateTimeToLive: UpdateTimeToLiveCommand
}

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
 * Builds the `Client` of a table.
 *
 * @internal
 */
export const make = (sdk: DynamoDBClient, table: string, retry: Retry.RetryPolicy): Client => {
  const retryAfterFirst = Retry.schedule({ ...retry, maxAttempts: retry.maxAttempts - 1 })

  const send = <K extends CommandName>(
    command: K,
    input: Commands[K][0]
  ): Effect.Effect<Commands[K][1], Failure.RequestFailure> =>
    Effect.suspend(() => {
      const Constructor = constructors[command]
      let attempts = 0
      let ambiguous = false
      const attempt = Effect.tryPromise({
        try: (signal) => {
          attempts++
          return (sdk.send as (command: unknown, options: { abortSignal: AbortSignal }) => Promise<Commands[K][1]>)(
            new Constructor(input),
            { abortSignal: signal }
          )
        },
        catch: (error) => {
          const failure = Failure.classify(error)
          if (failure.ambiguous) ambiguous = true
          return failure
        }
      })
      // The schedule is set up only after a first failure: the common path is one attempt.
      return attempt.pipe(
        Effect.catchAll((failure) =>
          Failure.isRetryable(failure) && retry.maxAttempts > 1
            ? Retry.retrying(attempt, { schedule: retryAfterFirst, while: Failure.isRetryable })
            : Effect.fail(failure)
        ),
        Effect.mapError((failure) => new Failure.RequestFailure({ command, ...failure, ambiguous, attempts }))
      )
    }).pipe(
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

  const call = <K extends CommandName>(
    command: K,
    input: Commands[K][0]
  ): Effect.Effect<Commands[K][1], KonserveError> =>
    Effect.mapError(send(command, input), (failure) => Failure.toKonserveError(failure, table))

  return { table, sdk, retry, send, call }
}
