/**
 * A store's settings decoded from its configuration (one schema,
 * `internal/options.ts`, with the defaults filled in), and the SDK client
 * options built from them once: the store's own `DynamoDBClient` and the
 * feed's `DynamoDBStreamsClient` get the same region, endpoint, credentials
 * and timeouts.
 *
 * @internal
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import type { DynamoDBError } from "../../KonserveError.js"
import * as Options from "../options.js"
import * as Retry from "../retry.js"
import * as Store from "../store.js"
import type * as ConfigShape from "./configShape.js"
import type * as StreamsClient from "./feed/streamsClient.js"
import * as DynamoDBOptions from "./options.js"
import type * as Table from "./table.js"
import * as Transport from "./transport.js"

/** @internal */
export interface Settings {
  readonly table: string
  readonly prefix: string | undefined
  readonly consistentRead: boolean
  readonly createTable: Table.CreateTable
  readonly maxValueBytes: number
  readonly conflictRetries: number
  readonly scanSegments: number | undefined
  readonly consumedCapacity: boolean
  readonly stream: boolean
  readonly retry: Retry.RetryPolicy
  readonly timeouts: { readonly connection: Duration.Duration; readonly request: Duration.Duration }
}

/** Where the store's own client connects and as whom. @internal */
export type Connection = ConfigShape.ConnectionShape<Redacted.Redacted<string>>

/** The default timeouts of the store's own client. */
const DEFAULT_TIMEOUTS = { connection: Duration.seconds(3), request: Duration.seconds(10) }

const durationOr = (input: Duration.DurationInput | undefined, fallback: Duration.Duration): Duration.Duration =>
  input === undefined ? fallback : Duration.decode(input)

/** The settings of a store from its configuration, checked by one schema (`internal/options.ts`). @internal */
export const settingsOf = (
  config: { readonly table: string; readonly credentials?: unknown }
): Effect.Effect<Settings, DynamoDBError> =>
  Effect.suspend(() => {
    const checked = Either.flatMap(
      DynamoDBOptions.checkCredentials(config.credentials),
      () => Options.check(DynamoDBOptions.DynamoDBOptions, config, "DynamoDBStore.make")
    )
    if (Either.isLeft(checked)) return Effect.fail(checked.left)
    const options = checked.right
    return Effect.succeed({
      table: options.table,
      prefix: options.prefix,
      consistentRead: options.consistentRead ?? true,
      createTable: options.createTable ?? { billingMode: "PAY_PER_REQUEST" },
      maxValueBytes: options.maxValueBytes ?? Store.DEFAULT_MAX_VALUE_BYTES,
      conflictRetries: options.conflictRetries ?? Store.DEFAULT_CONFLICT_RETRIES,
      scanSegments: options.scanSegments,
      consumedCapacity: options.consumedCapacity ?? false,
      stream: options.stream ?? false,
      retry: {
        maxAttempts: options.retry?.maxAttempts ?? Retry.DEFAULT_RETRY.maxAttempts,
        baseDelay: durationOr(options.retry?.baseDelay, Retry.DEFAULT_RETRY.baseDelay)
      },
      timeouts: {
        connection: durationOr(options.timeouts?.connection, DEFAULT_TIMEOUTS.connection),
        request: durationOr(options.timeouts?.request, DEFAULT_TIMEOUTS.request)
      }
    })
  })

/** The HTTP handler's options: timeouts on connecting and on every request. */
const handlerOptions = (settings: Settings) => ({
  connectionTimeout: Duration.toMillis(settings.timeouts.connection),
  requestTimeout: Duration.toMillis(settings.timeouts.request),
  throwOnRequestTimeout: true
})

/**
 * The SDK client options of the store's own clients (DynamoDB and DynamoDB
 * Streams): timeouts on connecting and on every request, the region,
 * endpoint and credentials when given (the secret unwrapped only to sign).
 *
 * @internal
 */
export const clientOptions = (config: Connection, settings: Settings): StreamsClient.Settings => {
  const credentials = config.credentials
  return {
    requestHandler: handlerOptions(settings),
    ...(config.region === undefined ? {} : { region: config.region }),
    ...(config.endpoint === undefined ? {} : { endpoint: config.endpoint }),
    ...(credentials === undefined ? {} : {
      credentials: () =>
        Promise.resolve({
          accessKeyId: credentials.accessKeyId,
          secretAccessKey: Redacted.value(credentials.secretAccessKey),
          ...(credentials.sessionToken === undefined
            ? {}
            : { sessionToken: Redacted.value(credentials.sessionToken) })
        })
    })
  }
}

/**
 * A client of the store's own: the SDK's retries off (the store retries on
 * its schedule), and timeouts on connecting and on every request.
 *
 * @internal
 */
export const acquireClient = (
  config: Connection,
  settings: Settings
): Effect.Effect<DynamoDBClient, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() =>
      Transport.ownClient({ ...clientOptions(config, settings), requestHandler: handlerOptions(settings) })
    ),
    (client) => Effect.sync(() => client.destroy())
  )

/**
 * The streams client's settings: the store's region, endpoint, credentials
 * and timeouts, or the borrowed client's.
 *
 * @internal
 */
export const streamsSettings = (
  config: Connection | { readonly client: DynamoDBClient },
  settings: Settings
): StreamsClient.Settings => {
  if ("client" in config) {
    const resolved = config.client.config
    return {
      region: resolved.region,
      credentials: resolved.credentials,
      ...(resolved.endpoint === undefined ? {} : { endpoint: resolved.endpoint })
    } as StreamsClient.Settings
  }
  return clientOptions(config, settings)
}
