/**
 * KeyvKonserve against @keyv/dynamo, both under Keyv 5 on one DynamoDB Local:
 * get and set of 1 KiB values at 16 in flight, then what @keyv/dynamo cannot
 * do (values past 400 KB, getMany past 100 keys, clear past one Scan page),
 * shown as what it is. `npx tsx bench/keyv.ts [operations] [reverse]`
 * (reverse: @keyv/dynamo first, against the colder engine). Numbers on a
 * shared machine are indicative only.
 */
import KeyvDynamo from "@keyv/dynamo"
import Keyv from "keyv"
import { performance } from "node:perf_hooks"
import * as DynamoDBLocal from "../src/internal/dynamoDBLocal.js"
import { KeyvKonserve } from "../src/keyv.js"

const operations = Number(process.argv[2] ?? 800)
const concurrency = 16
const KiB = 1024
const credentials = { accessKeyId: "local", secretAccessKey: "local" }

const inFlight = async (count: number, f: (i: number) => Promise<unknown>): Promise<number> => {
  let next = 0
  const start = performance.now()
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < count) await f(next++)
  }))
  return count / ((performance.now() - start) / 1000)
}

const engine = await DynamoDBLocal.start()
try {
  const adapters = {
    KeyvKonserve: new KeyvKonserve({
      table: "bench-keyv",
      endpoint: engine.endpoint,
      region: "us-east-1",
      credentials
    }),
    "@keyv/dynamo": new KeyvDynamo({
      endpoint: engine.endpoint,
      region: "us-east-1",
      credentials,
      tableName: "bench-dynamo"
    })
  }
  const rows: Array<Record<string, string>> = []
  const order = process.argv[3] === "reverse" ? Object.entries(adapters).reverse() : Object.entries(adapters)
  for (const [name, adapter] of order) {
    const errors: Array<unknown> = []
    const keyv = new Keyv({ store: adapter, namespace: "b" })
    keyv.on("error", (error) => errors.push(error))
    const value = "v".repeat(KiB)
    await keyv.set("warm", value)
    const set = await inFlight(operations, (i) => keyv.set(`k${i}`, value))
    const get = await inFlight(operations, (i) => keyv.get(`k${i}`))
    const big = "x".repeat(500 * KiB)
    const bigOk = (await keyv.set("big", big)) && (await keyv.get("big")) === big
    await Promise.all(Array.from({ length: 150 }, (_, i) => keyv.set(`m${i}`, i)))
    const many = await (keyv.get(Array.from({ length: 150 }, (_, i) => `m${i}`)) as Promise<Array<unknown>>).then(
      (values) => `${values.filter((v) => v !== undefined).length} found`,
      (error: unknown) => `cannot (${(error as Error).name})`
    )
    await inFlight(300, (i) => keyv.set(`page${i}`, "p".repeat(4 * KiB)))
    await keyv.clear()
    const left = (await Promise.all(Array.from({ length: 300 }, (_, i) => keyv.has(`page${i}`)))).filter(Boolean)
    rows.push({
      adapter: name,
      "set 1 KiB c=16 (ops/s)": set.toFixed(0),
      "get 1 KiB c=16 (ops/s)": get.toFixed(0),
      "500 KB value": bigOk ? "stored and read" : "cannot (fails)",
      "getMany 150 keys": many,
      "clear of 1.2 MB (300 keys)": left.length === 0 ? "all removed" : `cannot (${left.length} keys left)`,
      "errors emitted": String(errors.length)
    })
    await keyv.disconnect()
  }
  console.table(rows)
} finally {
  await engine.stop()
}
