/**
 * Helpers for tests that talk to the DynamoDB Local engine started once per
 * run by the library's own vitest `globalSetup` (`src/vitest.ts`, what users
 * get as `konserve-dynamodb/vitest`).
 */
import type { DynamoDBClientConfig } from "@aws-sdk/client-dynamodb"
import * as Redacted from "effect/Redacted"
import type { DynamoDBStoreConfig } from "../../src/DynamoDBStore.js"
import { endpoint } from "../../src/vitest.js"

/**
 * The endpoint of the run's shared engine (`http://127.0.0.1:<port>`), and the
 * engine as the `DynamoDBLocal` service (starts and stops nothing).
 */
export { endpoint, layer as engineLayer } from "../../src/vitest.js"

/**
 * SDK client settings for DynamoDB Local: the engine runs with `-sharedDb`, so
 * region and credentials only need to be present.
 */
export const clientConfig = (url: string = endpoint()): DynamoDBClientConfig => ({
  endpoint: url,
  region: "us-east-1",
  credentials: { accessKeyId: "local", secretAccessKey: "local" }
})

let counter = 0

/**
 * A table name no other test (or test file, or earlier run against the same
 * engine) uses: `<prefix>-<time>-<pid>-<counter>-<random>`, within DynamoDB's
 * 3–255 characters of `[a-zA-Z0-9_.-]`.
 */
export const uniqueTable = (prefix = "t"): string => {
  const clean = prefix.replace(/[^a-zA-Z0-9_.-]/g, "_").slice(0, 180)
  counter += 1
  const random = Math.random().toString(36).slice(2, 8)
  return `${clean}-${Date.now().toString(36)}-${process.pid}-${counter}-${random}`
}

/** A store's configuration for DynamoDB Local at `url` (the engine, or a proxy in front of it). */
export const storeConfig = (
  url: string,
  table: string,
  extra?: Partial<DynamoDBStoreConfig>
): DynamoDBStoreConfig => ({
  table,
  endpoint: url,
  region: "us-east-1",
  credentials: { accessKeyId: "local", secretAccessKey: Redacted.make("local") },
  ...extra
})
