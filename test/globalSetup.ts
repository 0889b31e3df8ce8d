/**
 * Starts ONE DynamoDB Local engine for the whole test run and hands its
 * endpoint to the tests (`inject("dynamodbEndpoint")`, see `test/utils/dynamodb.ts`).
 * A missing `java` fails the run with a message that names the fix.
 */
import type { TestProject } from "vitest/node"
import * as Engine from "../src/internal/dynamoDBLocal.js"

declare module "vitest" {
  export interface ProvidedContext {
    dynamodbEndpoint: string
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true"
  const engine = await Engine.start()
  project.provide("dynamodbEndpoint", engine.endpoint)
  return () => engine.stop()
}
