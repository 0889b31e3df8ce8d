/**
 * The vitest `globalSetup` that starts one DynamoDB Local per test run:
 * `konserve-dynamodb/vitest/setup`, its default export. Tests reach the
 * engine with `konserve-dynamodb/vitest`. A module of its own because a
 * `globalSetup` runs outside the test workers, where `vitest` itself cannot
 * be imported.
 *
 * @since 0.1.0
 */
import type { TestProject } from "vitest/node"
import * as internal from "./internal/dynamoDBLocal.js"

declare module "vitest" {
  export interface ProvidedContext {
    /** The endpoint of the run's DynamoDB Local, from `konserve-dynamodb/vitest/setup`. */
    konserveDynamoDBLocalEndpoint: string
  }
}

/**
 * Starts DynamoDB Local on a free port, in memory, hands its endpoint to the
 * tests, and stops it when the run ends.
 *
 * @since 0.1.0
 * @category setup
 */
const setup = async (project: TestProject): Promise<() => Promise<void>> => {
  const engine = await internal.start()
  project.provide("konserveDynamoDBLocalEndpoint", engine.endpoint)
  return () => engine.stop()
}

export default setup
