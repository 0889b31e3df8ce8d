/* global process, console */
// Cold start of the store: import, layer build (borrowing nothing: its own client), one `get` answered.
// `node bench/cold/store.mjs` with ENDPOINT, TABLE and KEY set; prints the milliseconds since the process began.
import { performance } from "node:perf_hooks"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { DynamoDBStore, KonserveStore } from "../../dist/index.js"

const imported = performance.now()
const layer = DynamoDBStore.layer({
  table: process.env.TABLE,
  endpoint: process.env.ENDPOINT,
  region: "us-east-1",
  credentials: { accessKeyId: "local", secretAccessKey: Redacted.make("local") },
  createTable: false
})
const value = await Effect.runPromise(
  Effect.provide(Effect.flatMap(KonserveStore.KonserveStore, (store) => store.get(process.env.KEY)), layer)
)
if (value._tag !== "Some") throw new Error("cold start: no value")
console.log(JSON.stringify({ imported, answered: performance.now() }))
