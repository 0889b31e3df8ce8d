/**
 * How fast `DynamoDBStore.sweep` reads a table: a DynamoDB Local engine of
 * its own, a table of about 115,000 items in the store's layout written raw
 * (heads, logs and their elements, chunked values with their chunks, and
 * what a sweep removes: orphaned chunks, elements of dead log generations,
 * tombstones past their TTL), then a dry run with 1 and 4 `Scan` segments
 * and a real sweep. Prints items scanned per second.
 *
 * `npx tsx bench/sweep.ts` (needs java). `SWEEP_HEADS` sets the number of
 * plain heads (default 100000).
 */
import type { AttributeValue, WriteRequest } from "@aws-sdk/client-dynamodb"
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb"
import { BatchWriteItemCommand, CreateTableCommand } from "@aws-sdk/client-dynamodb"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { randomBytes } from "node:crypto"
import * as DynamoDBLocal from "../src/DynamoDBLocal.js"
import * as DynamoDBStore from "../src/DynamoDBStore.js"
import { localClient } from "./harness.js"

type Item = Record<string, AttributeValue>

const HEADS = Number(process.env.SWEEP_HEADS ?? 100_000)
const LOGS = 300
const ELEMENTS = 30
const DEAD_GENERATIONS = 100
const DEAD_ELEMENTS = 10
const CHUNKED = 500
const ORPHANS = 1_000
const TOMBSTONES = 1_000
const CHUNK_VALUE = 4 * 1024

const table = "sweep-bench"
const P = "5:bench:"
const hour = 3_600_000
const old = Date.now() - 2 * hour

const version = (millis: number): Uint8Array => {
  const v = new Uint8Array(12)
  let rest = millis * 1000
  for (let i = 6; i >= 0; i--) {
    v[i] = rest % 256
    rest = Math.floor(rest / 256)
  }
  v.set(randomBytes(5), 7)
  return v
}

const head = (key: string, extra: Item): Item => ({
  pk: { S: P + key },
  sk: { S: "h" },
  ver: { B: version(old) },
  lw: { N: String(old) },
  ...extra
})

const items = function*(): Generator<Item> {
  for (let i = 0; i < HEADS; i++) {
    yield head(`k${i}`, { kind: { S: "value" }, size: { N: "100" }, val: { B: randomBytes(100) } })
  }
  for (let j = 0; j < LOGS; j++) {
    const gen = `g${j}`
    yield head(`log${j}`, { kind: { S: "log" }, size: { N: String(ELEMENTS) }, gen: { S: gen } })
    for (let s = 0; s < ELEMENTS; s++) {
      yield {
        pk: { S: `${P}log${j}` },
        sk: { S: `l#${gen}#${String(s).padStart(12, "0")}` },
        el: { B: randomBytes(50) }
      }
    }
    if (j < DEAD_GENERATIONS) {
      for (let s = 0; s < DEAD_ELEMENTS; s++) {
        yield {
          pk: { S: `${P}log${j}` },
          sk: { S: `l#dead${j}#${String(s).padStart(12, "0")}` },
          el: { B: randomBytes(50) }
        }
      }
    }
  }
  const chunk = (key: string, cid: string): Item => ({
    pk: { S: `${P}c${cid.length}:${cid}:0:${key}` },
    sk: { S: "c" },
    owner: { S: P + key },
    cid: { S: cid },
    idx: { N: "0" },
    wt: { N: String(old) },
    val: { B: randomBytes(CHUNK_VALUE) }
  })
  for (let i = 0; i < CHUNKED; i++) {
    const cid = randomBytes(12).toString("base64url")
    yield head(`big${i}`, {
      kind: { S: "binary" },
      size: { N: String(CHUNK_VALUE) },
      cid: { S: cid },
      chunks: { N: "1" },
      csize: { N: String(380 * 1024) },
      len: { N: String(CHUNK_VALUE) },
      crc: { N: "0" }
    })
    yield chunk(`big${i}`, cid)
  }
  for (let i = 0; i < ORPHANS; i++) yield chunk(`gone${i}`, randomBytes(12).toString("base64url"))
  for (let i = 0; i < TOMBSTONES; i++) {
    yield head(`tomb${i}`, { kind: { S: "tomb" }, ttl: { N: String(Math.floor(old / 1000) + 3600) } })
  }
}

const populate = async (client: DynamoDBClient) => {
  await client.send(
    new CreateTableCommand({
      TableName: table,
      BillingMode: "PAY_PER_REQUEST",
      AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }, { AttributeName: "sk", AttributeType: "S" }],
      KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }, { AttributeName: "sk", KeyType: "RANGE" }]
    })
  )
  let batch: Array<WriteRequest> = []
  let inFlight: Array<Promise<void>> = []
  let count = 0
  const send = async (requests: Array<WriteRequest>) => {
    let pending = requests
    while (pending.length > 0) {
      const out = await client.send(new BatchWriteItemCommand({ RequestItems: { [table]: pending } }))
      pending = out.UnprocessedItems?.[table] ?? []
    }
  }
  for (const item of items()) {
    count++
    batch.push({ PutRequest: { Item: item } })
    if (batch.length === 25) {
      inFlight.push(send(batch))
      batch = []
      if (inFlight.length === 16) {
        await Promise.all(inFlight)
        inFlight = []
      }
    }
  }
  inFlight.push(send(batch))
  await Promise.all(inFlight)
  return count
}

const program = Effect.gen(function*() {
  const { endpoint } = yield* DynamoDBLocal.DynamoDBLocal
  const client = localClient(endpoint)
  const started = Date.now()
  const total = yield* Effect.promise(() => populate(client))
  console.log(`${total} items written in ${((Date.now() - started) / 1000).toFixed(1)} s`)
  const config = (segments: number): DynamoDBStore.DynamoDBStoreConfig => ({
    table,
    prefix: "bench",
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "local", secretAccessKey: Redacted.make("local") },
    createTable: false,
    scanSegments: segments
  })
  const run = (label: string, segments: number, dryRun: boolean) =>
    Effect.gen(function*() {
      const t0 = Date.now()
      const last = yield* Stream.runLast(DynamoDBStore.sweep(config(segments), { dryRun }))
      const seconds = (Date.now() - t0) / 1000
      const p = last._tag === "Some" ? last.value : undefined
      console.log(
        `${label}: ${p?.scanned} scanned, ${p?.unreferenced} unreferenced, ${p?.removed} removed, ` +
          `${p?.bytesFreed} bytes, ${seconds.toFixed(1)} s, ${Math.round((p?.scanned ?? 0) / seconds)} items/s`
      )
    })
  yield* run("dry run, 1 segment", 1, true)
  yield* run("dry run, 4 segments", 4, true)
  yield* run("sweep, 4 segments", 4, false)
  yield* run("again (clean), 4 segments", 4, false)
  client.destroy()
})

Effect.runPromise(Effect.scoped(Effect.provide(program, DynamoDBLocal.layer()))).catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
