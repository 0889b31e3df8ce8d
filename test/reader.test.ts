/**
 * Reads that stay linear, tell lag from damage, and keep their own limits
 * (issue 14, items 4-7; API.md "Limits belong to the reader", "Decoding is
 * linear"): raw items written with the SDK on DynamoDB Local, two stores with
 * different limits on one table, and the fault proxy playing a lagging replica.
 */
import { DeleteItemCommand } from "@aws-sdk/client-dynamodb"
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { randomBytes } from "node:crypto"
import * as V8 from "node:v8"
import * as Vm from "node:vm"
import * as DynamoDBStore from "../src/DynamoDBStore.js"
import { encodePrefix, layout } from "../src/internal/dynamodb/keyLayout.js"
import { endpoint, storeConfig, uniqueTable } from "./utils/dynamodb.js"
import { sharedPairs } from "./utils/hostileBytes.js"
import * as Proxy from "./utils/proxy.js"
import * as RawItems from "./utils/rawItems.js"
import { head, type RawItem } from "./utils/rawItems.js"

const MiB = 1024 * 1024
const rawItems = RawItems.make(uniqueTable("reader"))
const { put, putAll, table } = rawItems
const raw = rawItems.client
let prefixes = 0

/** The chunk items of a prefix (their keys). */
const chunkItems = (prefix: string) => rawItems.scan(encodePrefix(prefix) + "c", { sk: "c", keysOnly: true })

const freshPrefix = () => `r${prefixes++}`

const timed = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.map(Effect.timed(effect), ([duration, result]) => ({ ms: Duration.toMillis(duration), result }))

describe("decoding is linear (item 4)", () => {
  it.scopedLive(
    "26 levels of self-referencing pairs as a value: get fails with DecodeError at once",
    () =>
      Effect.gen(function*() {
        const prefix = freshPrefix()
        const store = yield* DynamoDBStore.make(storeConfig(endpoint(), table, { prefix }))
        const bytes = sharedPairs(26)
        yield* store.exists("warm-up") // the first request opens connections: not what is timed
        yield* put(head(encodePrefix(prefix) + "graph", { val: { B: bytes }, size: { N: String(bytes.length) } }))
        const { ms, result } = yield* timed(Effect.flip(store.get("graph")))
        expect(result._tag).toBe("DecodeError")
        expect(result.message).toContain("\"graph\"")
        expect(result.message).toContain("shared reference (tag 28)")
        expect(ms).toBeLessThan(2000) // before: ~5 s at 26 levels, doubling with each level
        expect((yield* Effect.flip(store.multiGet(["graph"])))._tag).toBe("DecodeError")
      }),
    60_000
  )

  it.scopedLive(
    "26 levels of self-referencing pairs as a meta: getMeta and keys fail with DecodeError at once",
    () =>
      Effect.gen(function*() {
        const prefix = freshPrefix()
        const store = yield* DynamoDBStore.make(storeConfig(endpoint(), table, { prefix }))
        yield* put(head(encodePrefix(prefix) + "meta", { meta: { B: sharedPairs(26) } }))
        yield* store.exists("warm-up")
        const getMeta = yield* timed(Effect.flip(store.getMeta("meta")))
        expect(getMeta.result._tag).toBe("DecodeError")
        expect(getMeta.result.message).toContain("\"meta\"")
        expect(getMeta.ms).toBeLessThan(2000)
        // keys is what gc and export list with: the listing fails, typed, at once
        const keys = yield* timed(Effect.flip(Stream.runDrain(store.keys)))
        expect(keys.result._tag).toBe("DecodeError")
        expect(keys.ms).toBeLessThan(2000)
      }),
    60_000
  )
})

describe("limits belong to the reader (item 7)", () => {
  it.scopedLive(
    "a 2 MiB value, binary and log element written under the default limit, read with a 1 MiB limit",
    () =>
      Effect.gen(function*() {
        const prefix = freshPrefix()
        const writer = yield* DynamoDBStore.make(storeConfig(endpoint(), table, { prefix }))
        const reader = yield* DynamoDBStore.make(storeConfig(endpoint(), table, { prefix, maxValueBytes: MiB }))
        const big = new Uint8Array(randomBytes(2 * MiB))
        yield* writer.assoc("big", big)
        yield* writer.bassoc("blob", big)
        yield* writer.append("audit", big)
        yield* writer.assoc("small", "fits")
        const size = 2 * MiB + 9 // header 4, byte string header 5
        // getMeta, exists and keys see the keys
        const meta = yield* reader.getMeta("big")
        expect(Option.map(meta, (m) => m.size)).toEqual(Option.some(size))
        expect(yield* reader.exists("big")).toBe(true)
        expect(yield* reader.exists("blob")).toBe(true)
        const listed = Chunk.toReadonlyArray(yield* Stream.runCollect(reader.keys)).map((m) => [m.key, m.size]).sort()
        expect(listed).toEqual([["audit", 1], ["big", size], ["blob", 2 * MiB], ["small", 9]])
        // reading them fails with ItemTooLarge naming key, size and limit
        const tooLarge = { _tag: "ItemTooLarge", key: "big", size, limit: MiB }
        expect(yield* Effect.flip(reader.get("big"))).toMatchObject(tooLarge)
        expect((yield* Effect.flip(reader.get("big"))).message).toBe(`key "big" is ${size} bytes, limit ${MiB}`)
        expect(yield* Effect.flip(reader.getIn(["big", 0]))).toMatchObject(tooLarge)
        expect(yield* Effect.flip(reader.multiGet(["small", "big"]))).toMatchObject(tooLarge)
        expect(yield* Effect.flip(reader.update("big", () => 1))).toMatchObject(tooLarge)
        expect(yield* Effect.flip(reader.bget("blob"))).toMatchObject({
          _tag: "ItemTooLarge",
          key: "blob",
          size: 2 * MiB
        })
        const element = yield* Effect.flip(reader.log("audit"))
        expect(element).toMatchObject({ _tag: "ItemTooLarge", key: "audit", limit: MiB })
        expect((yield* Effect.flip(reader.reduceLog("audit", 0, (n) => n + 1)))._tag).toBe("ItemTooLarge")
        // what fits reads as usual; the writer reads all; the reader may replace what it cannot read
        expect(yield* reader.get("small")).toEqual(Option.some("fits"))
        expect(Option.map(yield* writer.get("big"), (v) => (v as Uint8Array).length)).toEqual(Option.some(2 * MiB))
        yield* reader.assoc("big", "replaced")
        expect(yield* writer.get("big")).toEqual(Option.some("replaced"))
      }),
    120_000
  )

  it.scopedLive("a size beyond any store is still malformed: DecodeError", () =>
    Effect.gen(function*() {
      const prefix = freshPrefix()
      const store = yield* DynamoDBStore.make(storeConfig(endpoint(), table, { prefix, maxValueBytes: MiB }))
      yield* put(head(encodePrefix(prefix) + "huge", { size: { N: "1e20" } }))
      yield* put(head(encodePrefix(prefix) + "negative", { size: { N: "-1" } }))
      for (const key of ["huge", "negative"]) {
        const error = yield* Effect.flip(store.getMeta(key))
        expect(error._tag).toBe("DecodeError")
        expect(error.message).toContain("the stored head is malformed: a size of")
      }
    }), 60_000)
})

describe("lag is no damage (item 6)", () => {
  /** A BatchGetItem answer that finds nothing: what a replica that has not seen the chunks yet answers. */
  const nothingYet = (request: Proxy.Request): Proxy.Fault => {
    const items = (request.body.RequestItems ?? {}) as Record<
      string,
      { ConsistentRead?: boolean; Keys?: Array<{ sk?: { S?: string } }> }
    >
    const chunks = Object.values(items).every((read) =>
      read.ConsistentRead !== true && (read.Keys ?? []).every((key) => key.sk?.S === "c")
    )
    return request.command === "BatchGetItem" && chunks
      ? { _tag: "Answer", body: { Responses: { [table]: [] }, UnprocessedKeys: {} } }
      : { _tag: "Pass" }
  }

  it.scopedLive(
    "consistentRead: false, chunks not yet visible to eventual reads: get, multiGet and bget read them strongly",
    () =>
      Effect.gen(function*() {
        const prefix = freshPrefix()
        const writer = yield* DynamoDBStore.make(storeConfig(endpoint(), table, { prefix }))
        const proxy = yield* Proxy.make(endpoint())
        const reader = yield* DynamoDBStore.make(storeConfig(proxy.endpoint, table, { prefix, consistentRead: false }))
        const value = { blob: new Uint8Array(randomBytes(900_000)) }
        yield* writer.assoc("big", value)
        yield* writer.bassoc("bin", value.blob)
        proxy.setRule(nothingYet)
        const read = yield* reader.get("big")
        expect(Option.map(read, (v) => Buffer.compare((v as typeof value).blob, value.blob))).toEqual(Option.some(0))
        expect((yield* reader.multiGet(["big"])).size).toBe(1)
        const binary = Option.getOrThrow(yield* reader.bget("bin"))
        const bytes = Buffer.concat(Chunk.toReadonlyArray(yield* Stream.runCollect(binary.stream)))
        expect(Buffer.compare(bytes, value.blob)).toBe(0)
        expect(proxy.stats().Answer).toBeGreaterThan(0)
      }),
    60_000
  )

  it.scopedLive(
    "a chunked value that expires while it is read, its chunks swept: absent, never damaged",
    () =>
      Effect.gen(function*() {
        const prefix = freshPrefix()
        const proxy = yield* Proxy.make(endpoint())
        const store = yield* DynamoDBStore.make(storeConfig(proxy.endpoint, table, { prefix }))
        yield* store.assoc("k", { blob: new Uint8Array(randomBytes(500_000)) }, { ttl: "5 seconds" })
        const expiresAt = Option.getOrThrow(yield* store.getMeta("k")).expiresAt!.getTime()
        const chunks = yield* chunkItems(prefix)
        expect(chunks.length).toBe(2)
        // the first chunk read waits until the value expired and DynamoDB's TTL sweeper took its chunks
        let swept = false
        proxy.setRule((request) =>
          request.command === "BatchGetItem" && !swept
            ? {
              _tag: "Hold",
              until: async () => {
                swept = true
                await new Promise((resolve) => setTimeout(resolve, Math.max(0, expiresAt - Date.now() + 50)))
                for (const chunk of chunks) {
                  await raw().send(new DeleteItemCommand({ TableName: table, Key: { pk: chunk.pk, sk: chunk.sk } }))
                }
              }
            }
            : { _tag: "Pass" }
        )
        expect(yield* store.get("k")).toEqual(Option.none())
      }),
    60_000
  )
})

describe("a read holds what its manifest says (item 5)", () => {
  it.scopedLive(
    "a manifest of 48 chunks of 64 KiB whose items hold 390 KB each: DecodeError after a few chunks",
    () =>
      Effect.gen(function*() {
        const prefix = freshPrefix()
        // through the proxy, to count the chunks the read asks for
        const proxy = yield* Proxy.make(endpoint())
        let requested = 0
        proxy.setRule((request) => {
          if (request.command === "BatchGetItem") {
            for (const read of Object.values(request.body.RequestItems as Record<string, { Keys: Array<unknown> }>)) {
              requested += read.Keys.length
            }
          }
          return { _tag: "Pass" }
        })
        const store = yield* DynamoDBStore.make(storeConfig(proxy.endpoint, table, { prefix, maxValueBytes: 3 * MiB }))
        const chunkSize = 64 * 1024
        const chunks = 48
        const cid = "c".repeat(16)
        const keys = layout(prefix)
        const fat = new Uint8Array(randomBytes(390_000))
        yield* putAll(Array.from({ length: chunks }, (_, index): RawItem => ({
          pk: { S: keys.chunkPk("k", cid, index) },
          sk: { S: "c" },
          owner: { S: keys.headPk("k") },
          cid: { S: cid },
          idx: { N: String(index) },
          wt: { N: String(Date.now()) },
          val: { B: fat }
        })))
        yield* put(head(keys.headPk("k"), {
          size: { N: String(chunks * chunkSize) },
          val: { NULL: true },
          cid: { S: cid },
          chunks: { N: String(chunks) },
          csize: { N: String(chunkSize) },
          len: { N: String(chunks * chunkSize) },
          crc: { N: "1" }
        }))
        // a full collection first, so that the garbage of the writes above does not hide or inflate what the read holds
        V8.setFlagsFromString("--expose-gc")
        ;(Vm.runInNewContext("gc") as () => void)()
        const usage = () => process.memoryUsage().arrayBuffers
        const before = usage()
        let peak = before
        const sampler = setInterval(() => peak = Math.max(peak, usage()), 1)
        const error = yield* Effect.flip(store.get("k")).pipe(
          Effect.ensuring(Effect.sync(() => clearInterval(sampler)))
        )
        peak = Math.max(peak, usage())
        // the 3 MiB buffer of the manifest's size and a few items in flight: measured 8.5 MiB, once 16.4 MiB in a
        // clean-clone CI run (11.5 MiB before the fix, when the answers of all 48 items, 18.7 MB, were in flight at
        // once: the sampling misses some of it). arrayBuffers also counts the in-process proxy's and the SDK's
        // buffers, so this is a loose bound against unbounded growth (6 × maxValueBytes and more before) ...
        expect(peak - before).toBeLessThan(24 * MiB)
        // what decides it: the read asked for a few chunks, not all 48, before it failed
        expect(requested).toBeLessThanOrEqual(8)
        expect(error._tag).toBe("DecodeError")
        expect(error.message).toContain("\"k\"")
        expect(error.message).toContain("is 390000 bytes, expected 65536")
      }),
    120_000
  )
})
