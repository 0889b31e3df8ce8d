import process from "node:process"
import { inject } from "vitest"
import { open } from "../../src/promise.ts"
import { run } from "./suite.js"

run("KeyvKonserve on DynamoDB Local", () =>
  open({
    table: `keyv-suite-${Date.now().toString(36)}-${process.pid}`,
    endpoint: inject("konserveDynamoDBLocalEndpoint"),
    region: "us-east-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" }
  }))
