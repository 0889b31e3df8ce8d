/**
 * From a store's configuration to its `Client.Client`: the settings decoded
 * once, the SDK client (the store's own, destroyed with the scope, or the
 * borrowed one of `layerWithClient`), and the store built on it. Every entry
 * point of `DynamoDBStore` (`make`, `layerWithClient`, `deleteStore`,
 * `storeExists`, `sweep`, `changes`, `hasStream`) comes through here.
 *
 * @internal
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import type * as Scope from "effect/Scope"
import type { DynamoDBError, StoreNotFound } from "../../KonserveError.js"
import type * as KonserveStore from "../../KonserveStore.js"
import * as Store from "../store.js"
import * as Version from "../version.js"
import * as Backend from "./backend.js"
import * as Client from "./client.js"
import * as StreamTable from "./feed/streamTable.js"
import * as KeyLayout from "./keyLayout.js"
import { acquireClient, type Connection, type Settings, settingsOf } from "./settings.js"
import * as Table from "./table.js"
import * as Transport from "./transport.js"

/** @internal */
export const clientOf = (
  sdk: DynamoDBClient,
  settings: Settings,
  transport: Transport.Transport,
  anchor?: Version.Anchor
): Effect.Effect<Client.Client> =>
  Effect.map(
    FiberRef.get(Client.borrowedAttemptMillis),
    (deadline) =>
      Client.make(sdk, {
        table: settings.table,
        retry: settings.retry,
        transport,
        consumedCapacity: settings.consumedCapacity,
        anchor,
        // a borrowed client may resend on its own with no request timeout: bound each of the store's attempts
        attemptDeadlineMillis: transport === "own" ? undefined : deadline
      })
  )

/** The store on a client: checks (or creates) the table first, so a bad configuration fails here. @internal */
export const makeWith = (
  sdk: DynamoDBClient,
  settings: Settings,
  transport: Transport.Transport
): Effect.Effect<KonserveStore.KonserveStore, StoreNotFound | DynamoDBError> =>
  Effect.gen(function*() {
    // versions are minted from DynamoDB's clock, learned from the Date of every answer (the table check's first)
    const anchor = Version.makeAnchor(yield* FiberRef.get(Version.testSkewMillis))
    const client = yield* clientOf(sdk, settings, transport, anchor)
    yield* Table.ensure(client, settings.createTable)
    if (settings.stream) yield* StreamTable.ensure(client)
    const backend = Backend.make(client, KeyLayout.layout(settings.prefix), {
      consistentRead: settings.consistentRead,
      conflictRetries: settings.conflictRetries,
      maxValueBytes: settings.maxValueBytes,
      scanSegments: settings.scanSegments,
      anchor
    })
    return Store.make(backend, { maxValueBytes: settings.maxValueBytes, conflictRetries: settings.conflictRetries })
  })

/**
 * The settings and a client for the scope, on the store's own SDK client or
 * on the borrowed one (`client` in the configuration), which stays open.
 *
 * @internal
 */
export const scopedClient = (
  config: (Connection | { readonly client: DynamoDBClient }) & { readonly table: string }
): Effect.Effect<{ readonly client: Client.Client; readonly settings: Settings }, DynamoDBError, Scope.Scope> =>
  Effect.gen(function*() {
    const settings = yield* settingsOf(config)
    const borrowed = "client" in config
    const sdk = borrowed ? config.client : yield* acquireClient(config, settings)
    const client = yield* clientOf(sdk, settings, borrowed ? Transport.borrowedTransport(sdk) : "own")
    return { client, settings }
  })
