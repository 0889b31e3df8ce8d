/* global process, console */
// Cold start of the raw AWS SDK: import, client, one GetItem answered.
// `node bench/cold/raw.mjs` with ENDPOINT, TABLE and KEY set; prints the milliseconds since the process began.
import { performance } from "node:perf_hooks"
import { DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb"

const imported = performance.now()
const client = new DynamoDBClient({
  endpoint: process.env.ENDPOINT,
  region: "us-east-1",
  credentials: { accessKeyId: "local", secretAccessKey: "local" }
})
const out = await client.send(
  new GetItemCommand({ TableName: process.env.TABLE, Key: { pk: { S: process.env.KEY }, sk: { S: "v" } }, ConsistentRead: true })
)
if (out.Item === undefined) throw new Error("cold start: no item")
client.destroy()
console.log(JSON.stringify({ imported, answered: performance.now() }))
