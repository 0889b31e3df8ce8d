/**
 * The table's life cycle: describe it, create it when missing (and wait
 * until it is ACTIVE, then register the TTL attribute), check its key
 * schema, delete it.
 *
 * @internal
 */
import type { DescribeTableCommandOutput } from "@aws-sdk/client-dynamodb"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import { DynamoDBError, type KonserveError, StoreNotFound } from "../../KonserveError.js"
import * as FailureCodes from "../failureCodes.js"
import * as Retry from "../retry.js"
import type { Client } from "./client.js"
import type { RequestFailure } from "./failure.js"
import { isTableInUse, isTtlAlreadyEnabled, toKonserveError } from "./failure.js"
import { KEY } from "./keyLayout.js"
import type { CreateTable } from "./requests/index.js"
import * as Requests from "./requests/index.js"

/** @internal */
export type { CreateTable } from "./requests/index.js"

/** How long the store waits for a table it created (or found being created) to become ACTIVE. @internal */
export const TABLE_ACTIVE_TIMEOUT = Duration.minutes(2)

/** How long `deleteStore` waits for a deleted table to be gone. @internal */
export const TABLE_DELETE_TIMEOUT = Duration.minutes(2)

const POLL_INTERVAL = Duration.millis(250)

/**
 * Narrows a failure to the `DynamoDBError` of the table operations and of
 * `deleteStore`/`storeExists` (a throttled or missing table included).
 *
 * @internal
 */
export const narrowAll = (error: KonserveError): DynamoDBError =>
  error._tag === "DynamoDBError" ? error : new DynamoDBError({
    operation: "operation" in error ? error.operation : "DescribeTable",
    code: error._tag === "StoreNotFound" ? "ResourceNotFoundException" : error._tag,
    message: error.message,
    retryable: error._tag === "Throttled",
    cause: error
  })

type Description = NonNullable<DescribeTableCommandOutput["Table"]>

/** The table's description, or undefined when it does not exist. @internal */
export const describe = (client: Client): Effect.Effect<Description | undefined, DynamoDBError> =>
  client.call("DescribeTable", Requests.describeTable(client.table)).pipe(
    Effect.map((out): Description | undefined => out.Table),
    Effect.catchTag("StoreNotFound", () => Effect.succeed(undefined)),
    Effect.mapError(narrowAll)
  )

const timeoutError = (client: Client, what: string, timeout: Duration.Duration) =>
  FailureCodes.timeoutError(
    "DescribeTable",
    `table ${JSON.stringify(client.table)} ${what} within ${Duration.format(timeout)}`
  )

/** Describes the table every `POLL_INTERVAL` until `done` says so, or fails after `timeout`. */
const pollUntil = (
  client: Client,
  done: (table: Description | undefined) => boolean,
  timeout: Duration.Duration,
  what: string
): Effect.Effect<Description | undefined, DynamoDBError> =>
  describe(client).pipe(
    Effect.repeat(Schedule.spaced(POLL_INTERVAL).pipe(Schedule.untilInput(done), Schedule.passthrough)),
    Effect.timeoutFail({ duration: timeout, onTimeout: () => timeoutError(client, what, timeout) }),
    Retry.live
  )

/** Polls until the table is ACTIVE. */
const waitActive = (client: Client): Effect.Effect<Description, DynamoDBError> =>
  pollUntil(
    client,
    (table) => table?.TableStatus === "ACTIVE",
    TABLE_ACTIVE_TIMEOUT,
    "did not become ACTIVE"
  ) as Effect.Effect<Description, DynamoDBError>

const checkSchema = (client: Client, table: Description): Effect.Effect<void, DynamoDBError> => {
  const keyType = (name: string) => table.KeySchema?.find((k) => k.AttributeName === name)?.KeyType
  const attrType = (name: string) => table.AttributeDefinitions?.find((a) => a.AttributeName === name)?.AttributeType
  const ok = table.KeySchema?.length === 2 && keyType(KEY.pk) === "HASH" && keyType(KEY.sk) === "RANGE" &&
    attrType(KEY.pk) === "S" && attrType(KEY.sk) === "S"
  return ok ? Effect.void : Effect.fail(
    FailureCodes.invalidTableSchema(
      "DescribeTable",
      `table ${JSON.stringify(client.table)} exists but its primary key is not ` +
        `${KEY.pk} (S, HASH) + ${KEY.sk} (S, RANGE): it is not a konserve-dynamodb table`
    )
  )
}

/** A failure of a table operation as `DynamoDBError`, unless `tolerated`. */
const tableFailure = (client: Client, tolerated: (failure: RequestFailure) => boolean) => (failure: RequestFailure) =>
  tolerated(failure) ? Effect.void : Effect.fail(narrowAll(toKonserveError(failure, client.table)))

const create = (client: Client, mode: Exclude<CreateTable, false>): Effect.Effect<void, DynamoDBError> =>
  client.send("CreateTable", Requests.createTable(client.table, mode)).pipe(
    Effect.asVoid,
    // Another process is creating it at the same time: wait for it as for ours.
    Effect.catchAll(tableFailure(client, isTableInUse))
  )

const enableTtl = (client: Client): Effect.Effect<void, DynamoDBError> =>
  client.send("UpdateTimeToLive", Requests.updateTimeToLive(client.table)).pipe(
    Effect.asVoid,
    // Enabled already (by a concurrent creator).
    Effect.catchAll(
      tableFailure(client, isTtlAlreadyEnabled)
    )
  )

/**
 * Makes sure the table exists, is ACTIVE and has the store's key schema:
 * creates it when missing (unless `createTable` is false: `StoreNotFound`).
 *
 * @internal
 */
export const ensure = (client: Client, createTable: CreateTable): Effect.Effect<void, StoreNotFound | DynamoDBError> =>
  Effect.gen(function*() {
    const found = yield* describe(client)
    if (found !== undefined) {
      yield* checkSchema(client, found)
      if (found.TableStatus !== "ACTIVE") yield* waitActive(client)
      return
    }
    if (createTable === false) return yield* new StoreNotFound({ table: client.table })
    yield* create(client, createTable)
    yield* Effect.flatMap(waitActive(client), (table) => checkSchema(client, table))
    yield* enableTtl(client)
  }).pipe(Effect.withSpan("DynamoDBStore.ensureTable"))

/** Deletes the table (nothing when it is missing) and waits until it is gone. @internal */
export const remove = (client: Client): Effect.Effect<void, DynamoDBError> =>
  client.send("DeleteTable", Requests.deleteTable(client.table)).pipe(
    Effect.asVoid,
    Effect.catchAll(tableFailure(client, (failure) => failure.verdict === "notFound")),
    Effect.zipRight(pollUntil(client, (table) => table === undefined, TABLE_DELETE_TIMEOUT, "was not deleted")),
    Effect.asVoid,
    Effect.withSpan("DynamoDBStore.deleteTable")
  )
