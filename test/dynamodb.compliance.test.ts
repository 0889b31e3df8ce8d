import * as Redacted from "effect/Redacted"
import * as DynamoDBStore from "../src/DynamoDBStore.js"
import { compliance } from "./compliance.js"
import { endpoint, uniqueTable } from "./utils/dynamodb.js"

/**
 * Every store of the suite gets a table of its own (so that a `keys` Scan
 * reads only its own items) and a prefix (so that every request goes through
 * the prefixed key layout; prefix isolation itself is tested in
 * `dynamodb.test.ts`).
 */
compliance(
  "DynamoDBStore",
  (options) =>
    DynamoDBStore.layer({
      table: uniqueTable("compliance"),
      endpoint: endpoint(),
      region: "us-east-1",
      credentials: { accessKeyId: "local", secretAccessKey: Redacted.make("local") },
      prefix: "compliance",
      ...(options?.maxValueBytes === undefined ? {} : { maxValueBytes: options.maxValueBytes })
    }),
  { timeout: 120_000 }
)
