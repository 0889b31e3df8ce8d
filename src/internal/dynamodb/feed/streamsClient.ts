/**
 * The one boundary between the feed and DynamoDB Streams: the SDK's own
 * `DynamoDBStreamsClient`, built with the store's region, endpoint and
 * credentials (or those of a borrowed `DynamoDBClient`) and destroyed with
 * the feed's scope; every request passes the fiber's abort signal and is
 * sent again on the store's retry schedule while it fails transiently
 * (throttling — `LimitExceededException` — 5xx, network).
 *
 * @internal
 */
import type { DynamoDBStreamsClientConfig } from "@aws-sdk/client-dynamodb-streams"
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand
} from "@aws-sdk/client-dynamodb-streams"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Retry from "../../retry.js"
import type { CommandClass, CommandTable } from "../commandTable.js"
import * as Failure from "../failure.js"

const constructors = {
  DescribeStream: DescribeStreamCommand,
  GetShardIterator: GetShardIteratorCommand,
  GetRecords: GetRecordsCommand
} satisfies Record<string, CommandClass>

/** @internal */
export type Commands = CommandTable<typeof constructors>

/** @internal */
export type CommandName = keyof Commands

/** A request to DynamoDB Streams that failed for good (its code is the service's exception name). @internal */
export interface StreamsFailure extends Failure.Attempt {
  readonly command: CommandName
  readonly attempts: number
}

/** @internal */
export interface StreamsClient {
  readonly send: <K extends CommandName>(
    command: K,
    input: Commands[K][0]
  ) => Effect.Effect<Commands[K][1], StreamsFailure>
}

/**
 * The settings of the streams client: the store's own (region, endpoint,
 * credentials, timeouts as given to its `DynamoDBClient`), with the SDK's
 * retries off.
 *
 * @internal
 */
export type Settings = Pick<
  DynamoDBStreamsClientConfig,
  "region" | "endpoint" | "credentials" | "requestHandler"
>

/** Builds the SDK client for the scope, destroying it when the scope closes. @internal */
export const acquire = (
  settings: Settings,
  retry: Retry.RetryPolicy
): Effect.Effect<StreamsClient, never, Scope.Scope> =>
  Effect.map(
    Effect.acquireRelease(
      Effect.sync(() => new DynamoDBStreamsClient({ ...settings, maxAttempts: 1 })),
      (sdk) => Effect.sync(() => sdk.destroy())
    ),
    (sdk) => make(sdk, retry)
  )

/** The client over an SDK client. @internal */
export const make = (sdk: DynamoDBStreamsClient, retry: Retry.RetryPolicy): StreamsClient => {
  const schedule = Retry.schedule({ ...retry, maxAttempts: retry.maxAttempts - 1 })
  const sendSdk = sdk.send.bind(sdk) as (command: unknown, options: { abortSignal: AbortSignal }) => Promise<unknown>
  const send = <K extends CommandName>(
    command: K,
    input: Commands[K][0]
  ): Effect.Effect<Commands[K][1], StreamsFailure> => {
    let attempts = 0
    const attempt = Effect.tryPromise({
      try: (signal) => {
        attempts++
        const Constructor: CommandClass = constructors[command]
        return sendSdk(new Constructor(input), { abortSignal: signal }) as Promise<Commands[K][1]>
      },
      catch: Failure.classify
    })
    return Retry.retrying(attempt, { schedule, while: Failure.isRetryable }).pipe(
      Effect.mapError((failure): StreamsFailure => ({ ...failure, command, attempts })),
      Effect.withSpan(`DynamoDBStreams.${command}`, {
        kind: "client",
        captureStackTrace: false,
        attributes: { "db.system.name": "aws.dynamodb", "db.operation.name": command }
      })
    )
  }
  return { send }
}
