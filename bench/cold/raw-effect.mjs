/* global process, console */
// Cold start of the raw AWS SDK in an Effect program that uses Schema (what an Effect application loads
// anyway): import, client, one GetItem answered. `node bench/cold/raw-effect.mjs` with ENDPOINT, TABLE, KEY.
import { performance } from "node:perf_hooks"
import { DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"

const imported = performance.now()
const client = new DynamoDBClient({
  endpoint: process.env.ENDPOINT,
  region: "us-east-1",
  credentials: { accessKeyId: "local", secretAccessKey: "local" }
})
const Key = Schema.NonEmptyString
const out = await Effect.runPromise(
  Effect.flatMap(Schema.decodeUnknown(Key)(process.env.KEY), (key) =>
    Effect.promise(() =>
      client.send(
        new GetItemCommand({ TableName: process.env.TABLE, Key: { pk: { S: key }, sk: { S: "v" } }, ConsistentRead: true })
      )
    ))
)
if (out.Item === undefined) throw new Error("cold start: no item")
client.destroy()
console.log(JSON.stringify({ imported, answered: performance.now() }))
