/**
 * DynamoDBStore on the real engine (DynamoDB Local, one per run, see
 * `src/vitest.ts`): what the compliance suite cannot see — the items in the
 * table, request counts, faults, retries, table life cycle and the
 * constructors.
 */
import {
  type AttributeValue,
  DeleteItemCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  GetItemCommand,
  ScanCommand
} from "@aws-sdk/client-dynamodb"
import * as KeyValueStore from "@effect/platform/KeyValueStore"
import { assert, describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Config from "effect/Config"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import { randomBytes } from "node:crypto"
import { afterAll, vi } from "vitest"
import * as DynamoDBStore from "../src/DynamoDBStore.js"
import { CHUNKS_PER_REQUEST, STREAM_CHUNKS_PER_REQUEST } from "../src/internal/dynamodb/chunks.js"
import { encodePrefix } from "../src/internal/dynamodb/keyLayout.js"
import { CHUNK_BYTES } from "../src/internal/dynamodb/plan.js"
import { MAX_LEARNED_SEGMENTS, PAGES_PER_SEGMENT } from "../src/internal/dynamodb/scanPlan.js"
import type { KonserveError } from "../src/KonserveError.js"
import * as KonserveStore from "../src/KonserveStore.js"
import { deepEqual } from "./utils/deepEqual.js"
import { clientConfig, endpoint, uniqueTable } from "./utils/dynamodb.js"
import * as Faults from "./utils/faults.js"

// ---------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------

const MiB = 1024 * 1024
const credentials = { accessKeyId: "local", secretAccessKey: Redacted.make("local") }

/** The file's table: every test works under prefixes of its own. */
const table = uniqueTable("dynamodb")
let prefixes = 0
const freshPrefix = (label = "p"): string => `${label}-${prefixes++}`

const config = (extra?: Partial<DynamoDBStore.DynamoDBStoreConfig>): DynamoDBStore.DynamoDBStoreConfig => ({
  table,
  endpoint: endpoint(),
  region: "us-east-1",
  credentials,
  prefix: freshPrefix(),
  ...extra
})

const sdkClients: Array<DynamoDBClient> = []
/** An SDK client of the test's own (SDK retries off, as the store's own clients). */
const newClient = (): DynamoDBClient => {
  const client = new DynamoDBClient({ ...clientConfig(), maxAttempts: 1 })
  sdkClients.push(client)
  return client
}
let rawClient: DynamoDBClient | undefined
const raw = (): DynamoDBClient => rawClient ??= newClient()
afterAll(() => sdkClients.forEach((client) => client.destroy()))

type RawItem = Record<string, AttributeValue>

/** Every item of the table under a store prefix (heads, chunks, log elements), read with raw Scans. */
const rawItems = (prefix: string | undefined, tableName = table): Effect.Effect<Array<RawItem>> =>
  Effect.promise(async () => {
    const items: Array<RawItem> = []
    let cursor: RawItem | undefined
    do {
      const out = await raw().send(
        new ScanCommand({
          TableName: tableName,
          ConsistentRead: true,
          FilterExpression: "begins_with(pk, :p)",
          // everything but the bytes
          ProjectionExpression: "pk, sk, #kind, #owner, ver, #cid, #chunks, #ttl, #exp",
          ExpressionAttributeNames: {
            "#kind": "kind",
            "#owner": "owner",
            "#cid": "cid",
            "#chunks": "chunks",
            "#ttl": "ttl",
            "#exp": "exp"
          },
          ExpressionAttributeValues: { ":p": { S: encodePrefix(prefix) } },
          ...(cursor === undefined ? {} : { ExclusiveStartKey: cursor })
        })
      )
      items.push(...(out.Items ?? []))
      cursor = out.LastEvaluatedKey
    } while (cursor !== undefined)
    return items
  })

const sortKeys = (items: ReadonlyArray<RawItem>): Array<string> => items.map((item) => item.sk.S ?? "?").sort()

/** What a removed key leaves for a while: its tombstone head, which keeps its write history (docs/consistency.md). */
const onlyTombstones = (items: ReadonlyArray<RawItem>): boolean =>
  items.every((item) => item.sk.S === "h" && item.kind?.S === "tomb")

/** A store on a client of the test's own, with a recorder (counts, inputs, faults) installed on it. */
const recordedStore = (extra?: Partial<DynamoDBStore.DynamoDBStoreConfig>) =>
  Effect.gen(function*() {
    const client = newClient()
    const recorder = Faults.install(client)
    const { credentials: _c, endpoint: _e, region: _r, ...rest } = config(extra)
    const store = yield* Effect.provide(
      KonserveStore.KonserveStore,
      DynamoDBStore.layerWithClient({ ...rest, client })
    )
    recorder.reset()
    return { store, recorder, client, prefix: rest.prefix }
  })

/** The requests an effect sends, per command. */
const requestsOf = <A, E, R>(recorder: Faults.Recorder, self: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    recorder.reset()
    const value = yield* self
    return { value, total: recorder.total(), counts: Object.fromEntries(recorder.counts) }
  })

const collect = (stream: Stream.Stream<Uint8Array, KonserveError>): Effect.Effect<Uint8Array, KonserveError> =>
  Effect.map(Stream.runCollect(stream), (chunks) => Buffer.concat(Chunk.toReadonlyArray(chunks)))

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => Buffer.compare(a, b) === 0

const inc = (current: Option.Option<unknown>): number => Option.getOrElse(current as Option.Option<number>, () => 0) + 1

// ---------------------------------------------------------------------------
// the data model: items in the table
// ---------------------------------------------------------------------------

describe("DynamoDBStore: items in the table", () => {
  it.scopedLive(
    "a 10 MiB binary round-trips, in chunks, and dissoc leaves no item of it in the table",
    () =>
      Effect.gen(function*() {
        const prefix = freshPrefix("big")
        const store = yield* DynamoDBStore.make(config({ prefix }))
        const data = randomBytes(10 * MiB)
        yield* store.bassoc("video", data)
        const items = yield* rawItems(prefix)
        const chunks = Math.ceil(data.length / CHUNK_BYTES)
        expect(sortKeys(items)).toEqual([...Array.from({ length: chunks }, () => "c"), "h"])
        // every chunk has a partition of its own and names its owner and content id
        expect(new Set(items.map((item) => item.pk.S)).size).toBe(chunks + 1)
        const head = items.find((item) => item.sk.S === "h")!
        for (const chunk of items.filter((item) => item.sk.S === "c")) {
          expect(chunk.owner.S).toBe(head.pk.S)
          expect(chunk.cid.S).toBe(head.cid.S)
        }
        const binary = yield* store.bget("video")
        assert.isTrue(Option.isSome(binary))
        if (Option.isSome(binary)) {
          expect(binary.value.size).toBe(data.length)
          assert.isTrue(sameBytes(yield* collect(binary.value.stream), data), "the bytes differ")
        }
        const whole = yield* store.get("video")
        assert.isTrue(Option.isSome(whole) && sameBytes(whole.value as Uint8Array, data))
        expect(yield* store.dissoc("video")).toBe(true)
        const left = yield* rawItems(prefix)
        expect(left.length).toBe(1)
        assert.isTrue(onlyTombstones(left), "only the tombstone head is left")
      }),
    120_000
  )

  it.scopedLive("a 1 MiB structured value is stored in chunks and round-trips", () =>
    Effect.gen(function*() {
      const prefix = freshPrefix("structured")
      const store = yield* DynamoDBStore.make(config({ prefix }))
      const value = {
        rows: Array.from({ length: 12_000 }, (_, i) => ({
          id: i,
          name: `row-${i}`,
          tags: new Set(["a", `t${i % 7}`]),
          score: i * 1.5,
          at: new Date(1_700_000_000_000 + i),
          // random, so that compression cannot shrink the value under 1 MiB
          note: randomBytes(96).toString("base64")
        }))
      }
      yield* store.assoc("table", value)
      const meta = yield* store.getMeta("table")
      assert.isTrue(Option.isSome(meta) && meta.value.size > MiB, "the encoded value is over 1 MiB")
      expect(sortKeys(yield* rawItems(prefix)).filter((sk) => sk === "c").length).toBeGreaterThanOrEqual(3)
      const back = yield* store.get("table")
      assert.isTrue(Option.isSome(back) && deepEqual(back.value, value), "the value differs")
      // an update of it replaces every chunk: the old ones are deleted
      const { after } = yield* store.updateIn(["table", "rows", 0, "name"], () => "first")
      expect(after).toBe("first")
      const items = yield* rawItems(prefix)
      const head = items.find((item) => item.sk.S === "h")!
      const chunks = items.filter((item) => item.sk.S === "c")
      expect(chunks.every((chunk) => chunk.cid.S === head.cid.S)).toBe(true)
      expect(chunks.length).toBe(Number(head.chunks.N))
    }), 120_000)

  it.scopedLive(
    "an atomic multiAssoc of 100 keys with several ~500 KB values, then over them again",
    () =>
      Effect.gen(function*() {
        const prefix = freshPrefix("multi")
        const store = yield* DynamoDBStore.make(config({ prefix }))
        const entries = new Map<string, unknown>()
        for (let i = 0; i < 100; i++) {
          entries.set(`k${i}`, i % 17 === 0 ? randomBytes(500_000) : { i, text: `value ${i}` })
        }
        yield* store.multiAssoc(entries)
        const back = yield* store.multiGet(entries.keys())
        expect(back.size).toBe(100)
        for (const [key, value] of entries) {
          assert.isTrue(deepEqual(back.get(key), value), `key ${key} differs`)
        }
        expect(sortKeys(yield* rawItems(prefix)).filter((sk) => sk === "c").length).toBe(6 * 2)
        // replacing the big values with small ones deletes their chunks
        yield* store.multiAssoc(Array.from(entries.keys(), (key) => [key, key] as const))
        expect(sortKeys(yield* rawItems(prefix)).filter((sk) => sk === "c")).toEqual([])
      }),
    120_000
  )

  it.scopedLive(
    "an atomic multiAssoc over DynamoDB's 4 MB transaction limit moves values to chunks",
    () =>
      Effect.gen(function*() {
        const prefix = freshPrefix("tx4mb")
        const store = yield* DynamoDBStore.make(config({ prefix }))
        // 20 values of 300 KB: each fits one item, together 6 MB
        const entries = Array.from({ length: 20 }, (_, i) => [`k${i}`, randomBytes(300_000)] as const)
        yield* store.multiAssoc(entries)
        const back = yield* store.multiGet(entries.map(([key]) => key))
        for (const [key, value] of entries) assert.isTrue(sameBytes(back.get(key) as Uint8Array, value), key)
      }),
    120_000
  )

  it.scopedLive("101 keys fail with TransactionLimitExceeded and write nothing", () =>
    Effect.gen(function*() {
      const prefix = freshPrefix("limit")
      const store = yield* DynamoDBStore.make(config({ prefix }))
      const error = yield* Effect.flip(store.multiAssoc(Array.from({ length: 101 }, (_, i) => [`k${i}`, i] as const)))
      expect(error._tag).toBe("TransactionLimitExceeded")
      if (error._tag === "TransactionLimitExceeded") {
        expect([error.items, error.limit]).toEqual([101, 100])
      }
      expect(yield* rawItems(prefix)).toEqual([])
    }))

  it.scopedLive("keys lists every key once across several Scan pages", () =>
    Effect.gen(function*() {
      const { recorder, store } = yield* recordedStore()
      // 40 × 40 KB inline values: over 1 MB of items, so more than one Scan page
      const keys = Array.from({ length: 40 }, (_, i) => `key-${i}`)
      yield* store.multiAssoc(keys.map((key) => [key, randomBytes(40_000)] as const), { atomic: false })
      const { counts, value } = yield* requestsOf(recorder, Stream.runCollect(store.keys))
      expect(counts.Scan).toBeGreaterThanOrEqual(2)
      expect(Chunk.toReadonlyArray(value).map((meta) => meta.key).sort()).toEqual([...keys].sort())
    }), 60_000)

  it.scopedLive("keys reads only what a Meta says, and never chunk or log items", () =>
    Effect.gen(function*() {
      const { recorder, store } = yield* recordedStore()
      yield* store.assoc("v", { a: 1 }, { meta: { tag: "x" } })
      yield* store.bassoc("b", randomBytes(CHUNK_BYTES + 1))
      yield* store.append("l", 1)
      const { counts, value } = yield* requestsOf(recorder, Stream.runCollect(store.keys))
      // Scan only (how many pages depends on the whole shared table): no read of a chunk or a log element
      expect(Object.keys(counts)).toEqual(["Scan"])
      const [input] = recorder.inputs.get("Scan")!
      expect(input.ProjectionExpression).toBe("pk, kind, ver, lw, #size, exp, meta")
      expect(input.FilterExpression).toContain("sk = :h")
      const metas = [...Chunk.toReadonlyArray(value)].sort((a, b) => a.key.localeCompare(b.key))
      expect(metas.map((meta) => [meta.key, meta.type, meta.user])).toEqual([
        ["b", "binary", undefined],
        ["l", "log", undefined],
        ["v", "value", { tag: "x" }]
      ])
    }))

  it.scopedLive(
    "keys reads Scan segments side by side: as many as asked, or learned from the last listing",
    () =>
      Effect.gen(function*() {
        // a table of its own: how many pages a Scan reads depends on everything in the table
        const own = uniqueTable("segments")
        const client = newClient()
        const recorder = Faults.install(client)
        const store = yield* Effect.provide(
          KonserveStore.KonserveStore,
          DynamoDBStore.layerWithClient({ table: own, client })
        )
        const keys = Array.from({ length: 120 }, (_, i) => `key-${i}`)
        // 120 × 40 KB inline values: about 5 MB, five Scan pages and more
        yield* store.multiAssoc(keys.map((key) => [key, randomBytes(40_000)] as const), { atomic: false })
        const listed = (self: KonserveStore.KonserveStore) =>
          Effect.map(
            Stream.runCollect(self.keys),
            (metas) => Chunk.toReadonlyArray(metas).map((meta) => meta.key).sort()
          )
        const scans = () => recorder.inputs.get("Scan") ?? []

        recorder.reset()
        expect(yield* listed(store)).toEqual([...keys].sort())
        const pages = scans().length
        expect(pages).toBeGreaterThanOrEqual(5)
        expect(scans().every((input) => input.TotalSegments === undefined)).toBe(true)

        recorder.reset()
        expect(yield* listed(store)).toEqual([...keys].sort())
        const learned = Math.min(MAX_LEARNED_SEGMENTS, Math.ceil(pages / PAGES_PER_SEGMENT))
        expect(new Set(scans().map((input) => input.TotalSegments))).toEqual(new Set([learned]))
        expect(new Set(scans().map((input) => input.Segment)).size).toBe(learned)

        const asked = yield* Effect.provide(
          KonserveStore.KonserveStore,
          DynamoDBStore.layerWithClient({ table: own, client, scanSegments: 7 })
        )
        recorder.reset()
        expect(yield* listed(asked)).toEqual([...keys].sort())
        expect(new Set(scans().map((input) => input.Segment))).toEqual(new Set([0, 1, 2, 3, 4, 5, 6]))
        expect(new Set(scans().map((input) => input.TotalSegments))).toEqual(new Set([7]))
      }),
    120_000
  )

  it.scopedLive(
    "ItemTooLarge leaves the old value readable and no chunk of the failed write",
    () =>
      Effect.gen(function*() {
        const prefix = freshPrefix("too-large")
        const store = yield* DynamoDBStore.make(config({ prefix, maxValueBytes: MiB }))
        const old = randomBytes(800_000)
        yield* store.bassoc("blob", old)
        const before = sortKeys(yield* rawItems(prefix))
        const piece = randomBytes(CHUNK_BYTES)
        const error = yield* Effect.flip(store.bassoc("blob", Stream.make(piece, piece, piece, piece)))
        expect(error._tag).toBe("ItemTooLarge")
        const binary = yield* store.bget("blob")
        assert.isTrue(Option.isSome(binary) && sameBytes(yield* collect(binary.value.stream), old))
        expect(sortKeys(yield* rawItems(prefix))).toEqual(before)
        // from bytes: refused before anything is sent
        expect((yield* Effect.flip(store.bassoc("blob", randomBytes(MiB + 1))))._tag).toBe("ItemTooLarge")
        expect(sortKeys(yield* rawItems(prefix))).toEqual(before)
      }),
    60_000
  )

  it.scopedLive(
    "a writer interrupted in the middle of a chunked bassoc leaves the old value intact",
    () =>
      Effect.gen(function*() {
        const prefix = freshPrefix("interrupted")
        const store = yield* DynamoDBStore.make(config({ prefix }))
        const old = randomBytes(MiB)
        yield* store.bassoc("blob", old)
        const before = sortKeys(yield* rawItems(prefix))
        const piece = randomBytes(CHUNK_BYTES)
        // six chunks (one request's worth and more), then the input never ends
        const pieces = Stream.make(piece, piece, piece, piece, piece, piece)
        const fiber = yield* Effect.fork(store.bassoc("blob", Stream.concat(pieces, Stream.never)))
        // wait until new chunks reached the table
        yield* rawItems(prefix).pipe(
          Effect.repeat({ until: (items) => items.length > before.length, schedule: Schedule.spaced("100 millis") }),
          Effect.timeout("20 seconds")
        )
        yield* Fiber.interrupt(fiber)
        const binary = yield* store.bget("blob")
        assert.isTrue(
          Option.isSome(binary) && sameBytes(yield* collect(binary.value.stream), old),
          "the old value is gone"
        )
        expect(yield* Effect.map(Stream.runCollect(store.keys), Chunk.size)).toBe(1)
        // the interrupted writer deleted what it wrote
        expect(sortKeys(yield* rawItems(prefix))).toEqual(before)
      }),
    60_000
  )

  it.scopedLive(
    "a binary stream whose chunks a rewrite deleted fails with a typed error, never truncated",
    () =>
      Effect.gen(function*() {
        const store = yield* DynamoDBStore.make(config())
        yield* store.bassoc("blob", randomBytes(2 * MiB))
        const binary = yield* store.bget("blob")
        assert.isTrue(Option.isSome(binary))
        if (Option.isNone(binary)) return
        yield* store.bassoc("blob", randomBytes(2 * MiB))
        const error = yield* Effect.flip(collect(binary.value.stream))
        expect(error._tag).toBe("DynamoDBError")
        if (error._tag === "DynamoDBError") {
          expect(error.code).toBe("ConcurrentModification")
          expect(error.retryable).toBe(true)
        }
      }),
    60_000
  )

  it.scopedLive(
    "a log: elements under the key's partition, large ones in chunks, all removed with it",
    () =>
      Effect.gen(function*() {
        const prefix = freshPrefix("log")
        const store = yield* DynamoDBStore.make(config({ prefix }))
        for (let i = 0; i < 5; i++) yield* store.append("events", { i })
        expect(yield* store.log("events")).toEqual(Option.some([0, 1, 2, 3, 4].map((i) => ({ i }))))
        const items = yield* rawItems(prefix)
        expect(new Set(items.map((item) => item.pk.S)).size).toBe(1)
        expect(sortKeys(items).filter((sk) => sk.startsWith("l#")).length).toBe(5)
        // a value over the log replaces it and its elements go
        yield* store.assoc("events", "no longer a log")
        expect(sortKeys(yield* rawItems(prefix))).toEqual(["h"])
        expect(yield* store.dissoc("events")).toBe(true)
        assert.isTrue(onlyTombstones(yield* rawItems(prefix)))
        // an element larger than one item: its bytes in chunks of their own
        const big = randomBytes(600_000)
        yield* store.append("events", "small")
        yield* store.append("events", big)
        const log = yield* store.log("events")
        assert.isTrue(Option.isSome(log) && log.value[0] === "small" && sameBytes(log.value[1] as Uint8Array, big))
        expect(sortKeys(yield* rawItems(prefix))).toEqual([
          "c",
          "c",
          "h",
          expect.stringMatching(/^l#/),
          expect.stringMatching(/^l#/)
        ])
        expect(yield* store.dissoc("events")).toBe(true)
        const left = yield* rawItems(prefix)
        expect(left.length).toBe(1)
        assert.isTrue(onlyTombstones(left))
      }),
    60_000
  )

  it.scoped(
    "an expired chunked value whose chunks DynamoDB's TTL sweeper took first reads as absent (on TestClock)",
    () =>
      Effect.gen(function*() {
        const prefix = freshPrefix("expired")
        const store = yield* DynamoDBStore.make(config({ prefix }))
        yield* store.assoc("big", randomBytes(MiB), { ttl: "1 second" })
        yield* store.assoc("small", 1)
        yield* TestClock.adjust("2 seconds")
        // the sweeper takes the chunks (their own items) before the head
        const chunks = (yield* rawItems(prefix)).filter((item) => item.sk.S === "c")
        expect(chunks.length).toBeGreaterThan(0)
        yield* Effect.promise(() =>
          Promise.all(chunks.map((item) =>
            raw().send(new DeleteItemCommand({ TableName: table, Key: { pk: item.pk, sk: item.sk } }))
          ))
        )
        expect(yield* store.get("big")).toEqual(Option.none())
        expect(yield* store.multiGet(["big", "small"])).toEqual(new Map([["small", 1]]))
        const { before } = yield* store.update("big", () =>
          "fresh")
        expect(before).toEqual(Option.none())
        expect(yield* store.get("big")).toEqual(Option.some("fresh"))
      }),
    60_000
  )

  it.scopedLive(
    "two stores on two clients incrementing one counter concurrently lose nothing",
    () =>
      Effect.gen(function*() {
        const prefix = freshPrefix("counter")
        const a = yield* DynamoDBStore.make(config({ prefix }))
        const b = yield* DynamoDBStore.make(config({ prefix }))
        yield* Effect.all(
          Array.from({ length: 16 }, (_, i) => (i % 2 === 0 ? a : b).update("n", inc)),
          { concurrency: "unbounded" }
        )
        expect(yield* a.get("n")).toEqual(Option.some(16))
        expect(yield* b.get("n")).toEqual(Option.some(16))
      }),
    60_000
  )

  it.scopedLive(
    "KeyValueStore.modify through two layers on two clients loses nothing (2 × 10 concurrent)",
    () =>
      Effect.gen(function*() {
        const prefix = freshPrefix("kv")
        const kvOf = Effect.provide(
          KeyValueStore.KeyValueStore,
          Layer.provide(KonserveStore.layerKeyValueStore, DynamoDBStore.layer(config({ prefix })))
        )
        const a = yield* kvOf
        const b = yield* kvOf
        yield* a.set("n", "0")
        yield* Effect.all(
          Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).modify("n", (v) => String(Number(v) + 1))),
          { concurrency: "unbounded" }
        )
        expect(yield* b.get("n")).toEqual(Option.some("20"))
      }),
    60_000
  )

  it.scopedLive("prefixes isolate completely, also when one extends another", () =>
    Effect.gen(function*() {
      const run = freshPrefix("iso")
      const names = [`${run}p`, `${run}p2`, `${run}t`, `${run}t/x`]
      const stores = yield* Effect.forEach(names, (prefix) => DynamoDBStore.make(config({ prefix })))
      yield* Effect.forEach(stores, (store, i) => store.assoc("k", names[i]))
      // keys that would collide under naive concatenation
      yield* stores[0].assoc("2k", "in p")
      yield* stores[2].assoc("/xk", "in t")
      for (const [i, store] of stores.entries()) {
        expect(yield* store.get("k")).toEqual(Option.some(names[i]))
      }
      expect(yield* stores[1].exists("2k")).toBe(false)
      expect(yield* stores[3].exists("/xk")).toBe(false)
      const keysOf = (i: number) =>
        Effect.map(Stream.runCollect(stores[i].keys), (c) => Chunk.toReadonlyArray(c).map((m) => m.key).sort())
      expect(yield* keysOf(0)).toEqual(["2k", "k"])
      expect(yield* keysOf(1)).toEqual(["k"])
      expect(yield* keysOf(2)).toEqual(["/xk", "k"])
      expect(yield* keysOf(3)).toEqual(["k"])
      expect(yield* stores[0].dissoc("k")).toBe(true)
      expect(yield* stores[1].get("k")).toEqual(Option.some(names[1]))
      // deleting one prefix keeps the others
      yield* DynamoDBStore.deleteStore(config({ prefix: names[0] }))
      expect(yield* keysOf(0)).toEqual([])
      expect(yield* keysOf(1)).toEqual(["k"])
      expect(yield* keysOf(2)).toEqual(["/xk", "k"])
    }), 60_000)
})

// ---------------------------------------------------------------------------
// request counts
// ---------------------------------------------------------------------------

describe("DynamoDBStore: requests per operation", () => {
  it.scopedLive("the store's own client resolves its middleware once per command, not on every request", () =>
    Effect.gen(function*() {
      // a send with options (an abort signal, say) makes the SDK rebuild the whole stack: 100+ µs of CPU a request
      const store = yield* Effect.provide(KonserveStore.KonserveStore, DynamoDBStore.layer(config()))
      yield* store.assoc("k", 1)
      const resolved = vi.spyOn(GetItemCommand.prototype, "resolveMiddleware")
      yield* Effect.addFinalizer(() => Effect.sync(() => resolved.mockRestore()))
      for (let i = 0; i < 20; i++) expect(yield* store.get("k")).toEqual(Option.some(1))
      expect(resolved.mock.calls.length).toBeLessThanOrEqual(1)
    }))

  it.scopedLive("inline values, logs, multi-key operations", () =>
    Effect.gen(function*() {
      const { recorder, store } = yield* recordedStore()
      const count = <A, E>(self: Effect.Effect<A, E>) => Effect.map(requestsOf(recorder, self), (r) => r.total)
      expect(yield* count(store.assoc("a", { x: 1 }))).toBe(1)
      expect(yield* count(store.get("a"))).toBe(1)
      expect(yield* count(store.get("missing"))).toBe(1)
      expect(yield* count(store.exists("a"))).toBe(1)
      expect(yield* count(store.getMeta("a"))).toBe(1)
      expect(yield* count(store.update("a", () => 2))).toBe(2)
      const version = Option.getOrThrow(yield* store.getMeta("a")).version
      expect(yield* count(store.assoc("a", 3, { ifVersion: version }))).toBe(1)
      expect(yield* count(store.assoc("a", 4, { ifVersion: version }).pipe(Effect.ignore))).toBe(1)
      // a string that no version can be: refused without a request
      expect(yield* count(store.assoc("a", 4, { ifVersion: "nope" }).pipe(Effect.ignore))).toBe(0)
      expect(yield* count(store.assoc("a", 5, { ifAbsent: true }).pipe(Effect.ignore))).toBe(1)
      expect(yield* count(store.dissoc("a"))).toBe(1)
      expect(yield* count(store.dissoc("a"))).toBe(1)
      expect(yield* count(store.assoc("a", 6, { ifAbsent: true }))).toBe(1)
      expect(yield* count(store.append("log", 1))).toBe(2)
      expect(yield* count(store.append("log", 2))).toBe(2)
      expect(yield* count(store.log("log"))).toBe(1)
      expect(yield* count(store.get("log"))).toBe(2)
      // atomic: false, one conditional UpdateItem per key (a batch put can carry no condition)
      const keys = Array.from({ length: 250 }, (_, i) => `m${i}`)
      const written = keys.slice(0, 200).map((key) => [key, key] as const)
      expect(yield* count(store.multiAssoc(written, { atomic: false }))).toBe(200)
      expect(yield* count(store.multiGet(keys))).toBe(3)
      // atomic: one TransactWriteItems, also over existing inline values
      const ten = keys.slice(0, 10)
      expect(yield* count(store.multiAssoc(ten.map((key) => [key, 0] as const)))).toBe(1)
      expect(yield* count(store.multiAssoc([["fresh", 0]], { ifAbsent: true }))).toBe(1)
      expect(yield* count(store.multiDissoc(ten))).toBe(2)
      expect(yield* count(store.multiDissoc(ten))).toBe(1)
    }), 60_000)

  it.scopedLive("a 10 MiB binary", () =>
    Effect.gen(function*() {
      const { recorder, store } = yield* recordedStore()
      const data = randomBytes(10 * MiB)
      const chunks = Math.ceil(data.length / CHUNK_BYTES) // 27
      const write = yield* requestsOf(recorder, store.bassoc("blob", data))
      expect(write.counts).toEqual({ BatchWriteItem: Math.ceil(chunks / CHUNKS_PER_REQUEST), UpdateItem: 1 })
      const read = yield* requestsOf(recorder, store.get("blob"))
      expect(read.counts).toEqual({ GetItem: 1, BatchGetItem: Math.ceil(chunks / CHUNKS_PER_REQUEST) })
      const stream = yield* requestsOf(
        recorder,
        Effect.flatMap(store.bget("blob"), (b) => collect(Option.getOrThrow(b).stream))
      )
      expect(stream.counts).toEqual({ GetItem: 1, BatchGetItem: Math.ceil(chunks / STREAM_CHUNKS_PER_REQUEST) })
      const rewrite = yield* requestsOf(
        recorder,
        store.bassoc("blob", Stream.make(data.subarray(0, 5 * MiB), data.subarray(5 * MiB)))
      )
      // the new chunks, the head (twice: the first attempt learns that the old head has chunks to delete),
      // then the old chunks deleted in slices of 25
      expect(rewrite.counts).toEqual({
        BatchWriteItem: Math.ceil(chunks / STREAM_CHUNKS_PER_REQUEST) + Math.ceil(chunks / 25),
        UpdateItem: 2
      })
      const remove = yield* requestsOf(recorder, store.dissoc("blob"))
      expect(remove.counts).toEqual({ UpdateItem: 2, BatchWriteItem: Math.ceil(chunks / 25) })
    }), 120_000)
})

// ---------------------------------------------------------------------------
// faults and retries
// ---------------------------------------------------------------------------

describe("DynamoDBStore: lost responses, throttling, retries", () => {
  it.scopedLive("an update whose response is lost is applied exactly once", () =>
    Effect.gen(function*() {
      const { recorder, store } = yield* recordedStore()
      yield* store.assoc("n", 0)
      recorder.reset()
      recorder.setRule(Faults.loseResponse("UpdateItem"))
      const { after, before } = yield* store.update("n", inc)
      expect([before, after]).toEqual([Option.some(0), 1])
      expect(recorder.count("UpdateItem")).toBe(2)
      expect(yield* store.get("n")).toEqual(Option.some(1))
      // every response lost: the retry's failed condition still recognises the write
      recorder.setRule(Faults.loseResponse("UpdateItem", 100))
      yield* store.update("n", inc)
      expect(yield* store.get("n")).toEqual(Option.some(2))
      // ifAbsent whose response is lost: its own write is not a failed condition
      yield* store.assoc("fresh", 1, { ifAbsent: true })
      expect(yield* store.get("fresh")).toEqual(Option.some(1))
    }), 60_000)

  it.scopedLive(
    "an update whose lost write was overwritten by another writer is recognised as applied (case 5)",
    () =>
      Effect.gen(function*() {
        const { recorder, store } = yield* recordedStore()
        yield* store.assoc("n", 0)
        let calls = 0
        recorder.setRule((command, n) =>
          command === "UpdateItem" && n === 0
            ? {
              _tag: "LoseResponse",
              error: Faults.connectionReset,
              // another writer's blind assoc lands between the lost answer and the retry
              afterApplied: () => Effect.runPromise(store.assoc("n", 100))
            }
            : { _tag: "None" }
        )
        // the blind assoc kept the update's version in the head's history: the retry finds it there
        const { after } = yield* store.update("n", (n) => {
          calls++
          return inc(n)
        })
        expect(after).toBe(1)
        expect(calls).toBe(1)
        expect(yield* store.get("n")).toEqual(Option.some(100))
      }),
    60_000
  )

  it.scopedLive(
    "an append whose response is lost is applied exactly once, with one token",
    () =>
      Effect.gen(function*() {
        const { recorder, store } = yield* recordedStore()
        recorder.setRule(Faults.loseResponse("TransactWriteItems"))
        yield* store.append("log", "first")
        yield* store.append("log", "second")
        expect(yield* store.log("log")).toEqual(Option.some(["first", "second"]))
        const tokens = (recorder.inputs.get("TransactWriteItems") ?? []).map((input) => input.ClientRequestToken)
        expect(tokens.length).toBe(3)
        expect(tokens[0]).toBe(tokens[1])
        expect(tokens[2]).not.toBe(tokens[0])
      }),
    60_000
  )

  it.scopedLive(
    "an atomic multiAssoc reuses its ClientRequestToken after a lost response",
    () =>
      Effect.gen(function*() {
        const { recorder, store } = yield* recordedStore()
        recorder.setRule(Faults.loseResponse("TransactWriteItems"))
        yield* store.multiAssoc({ a: 1, b: 2 }, { ifAbsent: true })
        const sent = recorder.inputs.get("TransactWriteItems") ?? []
        expect(sent.length).toBe(2)
        expect(typeof sent[0].ClientRequestToken).toBe("string")
        expect(sent[1].ClientRequestToken).toBe(sent[0].ClientRequestToken)
        expect(yield* store.multiGet(["a", "b"])).toEqual(new Map([["a", 1], ["b", 2]]))
        // an atomic multiDissoc too
        recorder.reset()
        recorder.setRule(Faults.loseResponse("TransactWriteItems"))
        yield* store.multiDissoc(["a", "b"])
        const removal = recorder.inputs.get("TransactWriteItems") ?? []
        expect(removal.length).toBe(2)
        expect(removal[1].ClientRequestToken).toBe(removal[0].ClientRequestToken)
        expect(yield* store.multiGet(["a", "b"])).toEqual(new Map())
      }),
    60_000
  )

  it.scopedLive("a dissoc whose response is lost removes the key", () =>
    Effect.gen(function*() {
      const { recorder, store } = yield* recordedStore()
      yield* store.assoc("k", 1)
      recorder.setRule(Faults.loseResponse("UpdateItem"))
      yield* store.dissoc("k")
      expect(yield* store.exists("k")).toBe(false)
    }), 60_000)

  it.scoped(
    "throttling surfaces as Throttled after the schedule's attempts (on TestClock: retries sleep live)",
    () =>
      Effect.gen(function*() {
        const { recorder, store } = yield* recordedStore({ retry: { maxAttempts: 4, baseDelay: "5 millis" } })
        recorder.setRule(Faults.refuseAlways(Faults.throughputExceeded, "GetItem"))
        const error = yield* Effect.flip(store.get("k"))
        expect(error._tag).toBe("Throttled")
        if (error._tag === "Throttled") {
          expect(error.attempts).toBe(4)
          expect(error.operation).toBe("GetItem")
        }
        expect(recorder.count("GetItem")).toBe(4)
        // throttling that stops in time is invisible
        recorder.setRule((command, n) =>
          command === "PutItem" && n < 3 ? { _tag: "Refuse", error: Faults.throughputExceeded } : { _tag: "None" }
        )
        yield* store.assoc("k", 1)
        recorder.setRule(undefined)
        expect(yield* store.get("k")).toEqual(Option.some(1))
      }),
    60_000
  )

  it.scoped("connection resets are retried, then fail with a retryable DynamoDBError", () =>
    Effect.gen(function*() {
      const { recorder, store } = yield* recordedStore({ retry: { maxAttempts: 3, baseDelay: "1 millis" } })
      recorder.setRule(Faults.refuseAlways(Faults.connectionReset, "GetItem"))
      const error = yield* Effect.flip(store.get("k"))
      expect(error._tag).toBe("DynamoDBError")
      if (error._tag === "DynamoDBError") {
        expect(error.code).toBe("ECONNRESET")
        expect(error.retryable).toBe(true)
      }
      expect(recorder.count("GetItem")).toBe(3)
    }), 60_000)
})

// ---------------------------------------------------------------------------
// the table and the constructors
// ---------------------------------------------------------------------------

describe("DynamoDBStore: tables and constructors", () => {
  it.scopedLive("a missing table is created on demand, with its TTL attribute", () =>
    Effect.gen(function*() {
      const name = uniqueTable("created")
      const store = yield* DynamoDBStore.make(config({ table: name, prefix: undefined }))
      yield* store.assoc("k", 1, { ttl: "1 hour" })
      const ttl = yield* Effect.promise(() => raw().send(new DescribeTimeToLiveCommand({ TableName: name })))
      expect(ttl.TimeToLiveDescription?.AttributeName).toBe("ttl")
      const [head] = yield* rawItems(undefined, name)
      // the sweeper's epoch seconds, never before the expiry (and never before its write history expires)
      expect(Number(head.ttl.N)).toBeGreaterThanOrEqual(Math.ceil(Number(head.exp.N) / 1000))
      yield* DynamoDBStore.deleteStore(config({ table: name, prefix: undefined }))
    }), 60_000)

  it.scopedLive("createTable PROVISIONED creates a provisioned table", () =>
    Effect.gen(function*() {
      const name = uniqueTable("provisioned")
      const own = config({
        table: name,
        prefix: undefined,
        createTable: { billingMode: "PROVISIONED", readCapacity: 7, writeCapacity: 3 }
      })
      const store = yield* DynamoDBStore.make(own)
      yield* store.assoc("k", 1)
      const described = yield* Effect.promise(() => raw().send(new DescribeTableCommand({ TableName: name })))
      expect(described.Table?.ProvisionedThroughput?.ReadCapacityUnits).toBe(7)
      expect(described.Table?.ProvisionedThroughput?.WriteCapacityUnits).toBe(3)
      yield* DynamoDBStore.deleteStore(own)
    }), 60_000)

  it.scopedLive(
    "consistentRead: false sends eventually consistent reads; the default is strongly consistent",
    () =>
      Effect.gen(function*() {
        const eventual = yield* recordedStore({ consistentRead: false })
        yield* eventual.store.assoc("k", 1)
        expect(yield* eventual.store.get("k")).toEqual(Option.some(1))
        expect(eventual.recorder.inputs.get("GetItem")?.[0].ConsistentRead).toBe(false)
        const strong = yield* recordedStore()
        yield* strong.store.get("k")
        expect(strong.recorder.inputs.get("GetItem")?.[0].ConsistentRead).toBe(true)
      }),
    60_000
  )

  it.scopedLive(
    "createTable: false on a missing table fails with StoreNotFound while the layer builds",
    () =>
      Effect.gen(function*() {
        const name = uniqueTable("missing")
        const error = yield* Effect.flip(Layer.build(DynamoDBStore.layer(config({ table: name, createTable: false }))))
        expect(error._tag).toBe("StoreNotFound")
        if (error._tag === "StoreNotFound") expect(error.table).toBe(name)
        expect(yield* DynamoDBStore.storeExists(config({ table: name, prefix: undefined }))).toBe(false)
      }),
    60_000
  )

  it.scopedLive("deleteStore and storeExists, with a prefix and without", () =>
    Effect.gen(function*() {
      // with a prefix: the table stays, the prefix's items go
      const prefix = freshPrefix("deleted")
      expect(yield* DynamoDBStore.storeExists(config({ prefix }))).toBe(false)
      const store = yield* DynamoDBStore.make(config({ prefix }))
      const neighbour = yield* DynamoDBStore.make(config({ prefix: `${prefix}-neighbour` }))
      yield* store.assoc("small", 1)
      yield* store.bassoc("big", randomBytes(MiB))
      yield* store.append("log", 1)
      yield* neighbour.assoc("small", 2)
      expect(yield* DynamoDBStore.storeExists(config({ prefix }))).toBe(true)
      yield* DynamoDBStore.deleteStore(config({ prefix }))
      expect(yield* DynamoDBStore.storeExists(config({ prefix }))).toBe(false)
      expect(yield* rawItems(prefix)).toEqual([])
      expect(yield* neighbour.get("small")).toEqual(Option.some(2))
      // without a prefix: the table goes
      const name = uniqueTable("dropped")
      const own = config({ table: name, prefix: undefined })
      yield* Effect.scoped(Effect.flatMap(DynamoDBStore.make(own), (s) => s.assoc("k", 1)))
      expect(yield* DynamoDBStore.storeExists(own)).toBe(true)
      yield* DynamoDBStore.deleteStore(own)
      expect(yield* DynamoDBStore.storeExists(own)).toBe(false)
      // deleting what does not exist is fine
      yield* DynamoDBStore.deleteStore(own)
      // with a borrowed client, which stays open
      const client = newClient()
      const borrowed = { client, table, prefix: freshPrefix("borrowed") }
      yield* Effect.provide(KonserveStore.assoc("k", 1), DynamoDBStore.layerWithClient(borrowed))
      expect(yield* DynamoDBStore.storeExists(borrowed)).toBe(true)
      yield* DynamoDBStore.deleteStore(borrowed)
      expect(yield* DynamoDBStore.storeExists(borrowed)).toBe(false)
    }), 60_000)

  it.scopedLive("layerWithClient never destroys the client; layer destroys its own", () =>
    Effect.gen(function*() {
      const client = newClient()
      let destroyed = 0
      const destroy = client.destroy.bind(client)
      client.destroy = () => {
        destroyed++
        destroy()
      }
      const { client: _, ...rest } = { client, table, prefix: freshPrefix("borrowed") }
      yield* Effect.scoped(Layer.build(DynamoDBStore.layerWithClient({ ...rest, client })))
      yield* Effect.provide(KonserveStore.assoc("k", 1), DynamoDBStore.layerWithClient({ ...rest, client }))
      expect(destroyed).toBe(0)
      // the client still works
      yield* Effect.provide(KonserveStore.get("k"), DynamoDBStore.layerWithClient({ ...rest, client })).pipe(
        Effect.map((value) => expect(value).toEqual(Option.some(1)))
      )
      // the store's own client is destroyed with the layer's scope
      const original = DynamoDBClient.prototype.destroy
      let own = 0
      DynamoDBClient.prototype.destroy = function(this: DynamoDBClient) {
        own++
        original.call(this)
      }
      yield* Effect.ensuring(
        Effect.provide(KonserveStore.assoc("k", 1), DynamoDBStore.layer(config())),
        Effect.sync(() => {
          DynamoDBClient.prototype.destroy = original
        })
      )
      expect(own).toBe(1)
    }), 60_000)

  it.scopedLive("layerConfig reads the configuration from a ConfigProvider", () =>
    Effect.gen(function*() {
      const prefix = freshPrefix("config")
      const provider = ConfigProvider.fromMap(
        new Map([
          ["KONSERVE_TABLE", table],
          ["KONSERVE_ENDPOINT", endpoint()],
          ["KONSERVE_PREFIX", prefix],
          ["AWS_REGION", "us-east-1"],
          ["AWS_ACCESS_KEY_ID", "local"],
          ["AWS_SECRET_ACCESS_KEY", "local"],
          ["KONSERVE_RETRIES", "3"]
        ])
      )
      const StoreLive = DynamoDBStore.layerConfig({
        table: Config.string("KONSERVE_TABLE"),
        endpoint: Config.string("KONSERVE_ENDPOINT"),
        region: Config.string("AWS_REGION"),
        prefix: Config.string("KONSERVE_PREFIX"),
        credentials: {
          accessKeyId: Config.string("AWS_ACCESS_KEY_ID"),
          secretAccessKey: Config.redacted("AWS_SECRET_ACCESS_KEY")
        },
        retry: { maxAttempts: Config.integer("KONSERVE_RETRIES") }
      }).pipe(Layer.provide(Layer.setConfigProvider(provider)))
      yield* Effect.provide(KonserveStore.assoc("k", "from config"), StoreLive)
      expect(yield* Effect.scoped(Effect.flatMap(DynamoDBStore.make(config({ prefix })), (s) => s.get("k")))).toEqual(
        Option.some("from config")
      )
      // a missing variable fails the layer with a ConfigError
      const missing = DynamoDBStore.layerConfig({ table: Config.string("NOPE") }).pipe(
        Layer.provide(Layer.setConfigProvider(provider))
      )
      const exit = yield* Effect.exit(Effect.provide(KonserveStore.get("k"), missing))
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit)) expect(Cause.pretty(exit.cause)).toContain("NOPE")
    }), 60_000)

  it.scopedLive("no secret in errors: messages, JSON, causes", () =>
    Effect.gen(function*() {
      const secret = "top-secret-value-4711"
      const leaky = config({
        table: "x", // too short for DynamoDB: a ValidationException while the layer builds
        credentials: { accessKeyId: "local", secretAccessKey: Redacted.make(secret) }
      })
      const exit = yield* Effect.exit(Layer.build(DynamoDBStore.layer(leaky)))
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit)) {
        const error = Option.getOrThrow(Cause.failureOption(exit.cause))
        expect(error._tag).toBe("DynamoDBError")
        for (const text of [JSON.stringify(error), String(error), Cause.pretty(exit.cause), JSON.stringify(leaky)]) {
          expect(text).not.toContain(secret)
        }
      }
    }), 60_000)

  it.scopedLive("an invalid prefix or setting fails while the layer builds, naming the field, sending nothing", () =>
    Effect.gen(function*() {
      const invalid: ReadonlyArray<readonly [Partial<DynamoDBStore.DynamoDBStoreConfig>, string]> = [
        [{ prefix: "x".repeat(513) }, "prefix"],
        [{ retry: { maxAttempts: 0 } }, "maxAttempts"],
        [{ retry: { baseDelay: "soon" as Duration.DurationInput } }, "baseDelay"],
        [{ maxValueBytes: -1 }, "maxValueBytes"],
        [{ conflictRetries: 1.5 }, "conflictRetries"],
        [{ scanSegments: 0 }, "scanSegments"],
        [{ scanSegments: 65 }, "scanSegments"],
        [{ table: "a" }, "table"],
        [{ table: "has space" }, "table"],
        [{ endpoint: "not a url" }, "endpoint"],
        [{ timeouts: { request: Duration.infinity } }, "request"],
        [{ createTable: { billingMode: "PROVISIONED", readCapacity: 0, writeCapacity: 1 } }, "readCapacity"],
        [{ credentials: { accessKeyId: "", secretAccessKey: Redacted.make("s3cret-value") } }, "credentials"]
      ]
      for (const [bad, field] of invalid) {
        const error = yield* Effect.flip(Layer.build(DynamoDBStore.layer(config(bad))))
        expect(error._tag).toBe("DynamoDBError")
        if (error._tag === "DynamoDBError") {
          expect(error.code, field).toBe("InvalidConfiguration")
          expect(error.message, field).toContain(field)
          expect(error.message).not.toContain("s3cret-value")
        }
      }
    }))

  it.scopedLive("no region anywhere is named plainly, not UnknownError", () =>
    Effect.gen(function*() {
      // a client of the user's own, built without a region (the SDK resolves it only when it sends)
      const client = new DynamoDBClient({
        endpoint: endpoint(),
        credentials: { accessKeyId: "a", secretAccessKey: "b" }
      })
      sdkClients.push(client)
      const previous = process.env.AWS_REGION
      delete process.env.AWS_REGION
      const error = yield* Effect.flip(
        Layer.build(DynamoDBStore.layerWithClient({ client, table, prefix: freshPrefix() }))
      ).pipe(Effect.ensuring(Effect.sync(() => {
        if (previous !== undefined) process.env.AWS_REGION = previous
      })))
      expect(error._tag).toBe("DynamoDBError")
      if (error._tag === "DynamoDBError") {
        expect(error.code).toBe("InvalidConfiguration")
        expect(error.message).toContain("region")
      }
    }))
})
