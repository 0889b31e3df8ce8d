/**
 * The table's stream: whether it has one, and turning it on (`stream: true`
 * in the store's configuration) with `UpdateTable`, view type
 * `NEW_AND_OLD_IMAGES` (the new image gives inline values without a read;
 * the old one tells a tombstone's TTL removal from a value's expiry and
 * gives `expire` its version), then waiting until the table is ACTIVE
 * again with its stream's ARN.
 *
 * @internal
 */
import type { UpdateTableCommandOutput } from "@aws-sdk/client-dynamodb"
import { UpdateTableCommand } from "@aws-sdk/client-dynamodb"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import { DynamoDBError } from "../../../KonserveError.js"
import * as FailureCodes from "../../failureCodes.js"
import * as Retry from "../../retry.js"
import type { Client } from "../client.js"
import * as Failure from "../failure.js"
import * as Table from "../table.js"

/** The stream view the feed needs. @internal */
export const VIEW_TYPE = "NEW_AND_OLD_IMAGES"

/** What the table's stream is. @internal */
export interface StreamStatus {
  readonly enabled: boolean
  readonly viewType: string | undefined
  readonly arn: string | undefined
}

/** The table's stream status; undefined when the table does not exist. @internal */
export const status = (client: Client): Effect.Effect<StreamStatus | undefined, DynamoDBError> =>
  Effect.map(Table.describe(client), (table) =>
    table === undefined ? undefined : {
      enabled: table.StreamSpecification?.StreamEnabled === true,
      viewType: table.StreamSpecification?.StreamViewType,
      arn: table.LatestStreamArn
    })

const updateTable = (client: Client): Effect.Effect<UpdateTableCommandOutput, DynamoDBError> =>
  Effect.tryPromise({
    try: (signal) =>
      client.sdk.send(
        new UpdateTableCommand({
          TableName: client.table,
          StreamSpecification: { StreamEnabled: true, StreamViewType: VIEW_TYPE }
        }),
        { abortSignal: signal }
      ),
    catch: (error) => {
      const attempt = Failure.classify(error)
      return new DynamoDBError({
        operation: "UpdateTable",
        code: attempt.code,
        message: `UpdateTable (turning on the stream of table ${JSON.stringify(client.table)}) failed: ` +
          `${attempt.code}: ${attempt.message}`,
        retryable: Failure.isRetryable(attempt),
        cause: error
      })
    }
  })

/** How long the store waits for a table whose stream it turned on to be ACTIVE with a stream. @internal */
export const ENABLE_TIMEOUT = Duration.minutes(2)

/**
 * Turns the table's stream on when it is off (a table with a stream of
 * another view type is a configuration error: the feed needs both images).
 *
 * @internal
 */
export const ensure = (client: Client): Effect.Effect<void, DynamoDBError> =>
  Effect.gen(function*() {
    const found = yield* status(client)
    if (found?.enabled === true) {
      if (found.viewType === VIEW_TYPE) return
      return yield* FailureCodes.invalidConfiguration(
        "UpdateTable",
        `table ${JSON.stringify(client.table)} has a stream of view type ${found.viewType}; the change ` +
          `feed needs ${VIEW_TYPE}: turn the stream off and open the store with \`stream: true\` again`
      )
    }
    yield* updateTable(client).pipe(
      // a concurrent store turned it on meanwhile
      Effect.catchIf((error) => error.code === "ValidationException" && /already/i.test(error.message), () =>
        Effect.void),
      Effect.catchIf((error) =>
        error.code === "ResourceInUseException", () => Effect.void)
    )
    yield* status(client).pipe(
      Effect.repeat(
        Schedule.spaced(Duration.millis(250)).pipe(
          Schedule.untilInput((s: StreamStatus | undefined) => s?.enabled === true && s.arn !== undefined),
          Schedule.passthrough
        )
      ),
      Effect.timeoutFail({
        duration: ENABLE_TIMEOUT,
        onTimeout: () =>
          FailureCodes.timeoutError(
            "UpdateTable",
            `the stream of table ${JSON.stringify(client.table)} was not on within ${Duration.format(ENABLE_TIMEOUT)}`
          )
      }),
      Retry.live
    )
  }).pipe(Effect.withSpan("DynamoDBStore.ensureStream"))
