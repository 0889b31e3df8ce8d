/**
 * A store reads what others wrote: corrupted items, other programs' items,
 * an attacker's. Raw items written to DynamoDB Local under a store's prefix,
 * then every operation on their keys: success or a typed failure, in bounded
 * time and memory — never a defect, never gigabytes. Then a seeded fuzz that
 * mutates the items of a real store (issue 7).
 */
import { type AttributeValue, DeleteItemCommand } from "@aws-sdk/client-dynamodb"
import { assert, describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { randomBytes } from "node:crypto"
import * as Zlib from "node:zlib"
import * as DynamoDBStore from "../src/DynamoDBStore.js"
import { encodePrefix } from "../src/internal/dynamodb/keyLayout.js"
import type { KonserveError } from "../src/KonserveError.js"
import type * as KonserveStore from "../src/KonserveStore.js"
import { endpoint, storeConfig, uniqueTable } from "./utils/dynamodb.js"
import * as Proxy from "./utils/proxy.js"
import * as RawItems from "./utils/rawItems.js"
import { head, type RawItem } from "./utils/rawItems.js"

const MiB = 1024 * 1024
const rawItems = RawItems.make(uniqueTable("hostile"))
const { put, table } = rawItems
const raw = rawItems.client
let prefixes = 0

const itemsOf = (prefix: string): Effect.Effect<Array<RawItem>> => rawItems.scan(encodePrefix(prefix))

/** A store on a fresh prefix, with a small maxValueBytes so that limits are near. */
const freshStore = (maxValueBytes = 4 * MiB) =>
  Effect.gen(function*() {
    const prefix = `h${prefixes++}`
    const store = yield* DynamoDBStore.make(storeConfig(endpoint(), table, { prefix, maxValueBytes }))
    return { store, prefix, pk: (key: string) => encodePrefix(prefix) + key }
  })

/** Whether an exit is a success or a typed failure (not a defect, not an interruption). */
const typed = <A>(exit: Exit.Exit<A, KonserveError>): boolean =>
  Exit.isSuccess(exit) || Option.isSome(Cause.failureOption(exit.cause))

const describeExit = <A>(exit: Exit.Exit<A, KonserveError>): string =>
  Exit.isSuccess(exit) ? "success" : Cause.pretty(exit.cause).split("\n")[0]

/** Every operation on a key, each as an exit. */
const everyOperation = (store: KonserveStore.KonserveStore, key: string) => ({
  get: store.get(key),
  getMeta: store.getMeta(key),
  exists: store.exists(key),
  getIn: store.getIn([key, "a"]),
  multiGet: store.multiGet([key]),
  log: store.log(key),
  bget: Effect.flatMap(
    store.bget(key),
    (binary) => Option.isNone(binary) ? Effect.void : Effect.asVoid(Stream.runDrain(binary.value.stream))
  ),
  keys: Stream.runDrain(store.keys),
  update: store.update(key, () => "updated"),
  append: store.append(key, "element"),
  assoc: store.assoc(key, "replaced"),
  dissoc: store.dissoc(key)
})

const runAll = (store: KonserveStore.KonserveStore, key: string) =>
  Effect.forEach(
    Object.entries(everyOperation(store, key)),
    ([name, operation]) =>
      Effect.map(Effect.exit(operation as Effect.Effect<unknown, KonserveError>), (exit) => [name, exit] as const)
  )

describe("hostile stored items", () => {
  it.scopedLive(
    "a decompression bomb (260 KB inflating to 256 MiB) fails with DecodeError, in bounded memory",
    () =>
      Effect.gen(function*() {
        const { pk, store } = yield* freshStore()
        const body = Zlib.deflateSync(Buffer.alloc(256 * MiB), { level: 9 })
        const bomb = Buffer.concat([Buffer.from([1, 1, 1, 0]), body])
        expect(bomb.byteLength).toBeLessThan(350_000)
        yield* put(head(pk("bomb"), { val: { B: bomb }, size: { N: String(bomb.byteLength) } }))
        const before = process.memoryUsage().rss
        const error = yield* Effect.flip(store.get("bomb"))
        expect(error._tag).toBe("DecodeError")
        expect(error.message).toContain("inflates past")
        expect(process.memoryUsage().rss - before).toBeLessThan(64 * MiB)
        // multiGet the same
        expect((yield* Effect.flip(store.multiGet(["bomb"])))._tag).toBe("DecodeError")
        // and it can be overwritten and removed
        yield* store.assoc("bomb", "defused")
        expect(yield* store.get("bomb")).toEqual(Option.some("defused"))
      }),
    60_000
  )

  const malformed: ReadonlyArray<readonly [string, (pk: string) => RawItem]> = [
    ["a chunk count of 5e9", (pk) =>
      head(pk, {
        val: { NULL: true },
        cid: { S: "c".repeat(16) },
        chunks: { N: "5000000000" },
        csize: { N: String(380 * 1024) },
        len: { N: "1000" },
        crc: { N: "1" }
      })],
    [
      "a chunk count of 1e8 and a tiny chunk size",
      (pk) =>
        head(pk, { cid: { S: "c".repeat(16) }, chunks: { N: "100000000" }, csize: { N: "1" }, len: { N: "100000000" } })
    ],
    ["a stored length past maxValueBytes", (pk) =>
      head(pk, {
        cid: { S: "c".repeat(16) },
        chunks: { N: "100" },
        csize: { N: String(380 * 1024) },
        len: { N: String(100 * 380 * 1024) },
        crc: { N: "1" }
      })],
    ["a log of 5e9 elements", (pk) => head(pk, { kind: { S: "log" }, size: { N: "5000000000" }, gen: { S: "abc" } })],
    [
      "a log of 1e6 elements that are not there",
      (pk) => head(pk, { kind: { S: "log" }, size: { N: "1000000" }, gen: { S: "abc" } })
    ],
    ["a negative size", (pk) => head(pk, { size: { N: "-5" } })],
    ["an unknown kind", (pk) => head(pk, { kind: { S: "table" } })],
    ["a string version", (pk) => head(pk, { ver: { S: "v1" } })],
    ["no version", (pk) => {
      const { ver: _, ...rest } = head(pk)
      return rest
    }],
    ["a number as the value", (pk) => head(pk, { val: { N: "12" } })],
    ["garbage bytes as the value", (pk) => head(pk, { val: { B: randomBytes(1000) } })],
    ["garbage as the meta", (pk) => head(pk, { meta: { B: randomBytes(50) } })],
    ["a last write that is not a number", (pk) => head(pk, { lw: { S: "yesterday" } })],
    ["an expiry that is not a number", (pk) => head(pk, { exp: { S: "tomorrow" } })]
  ]

  for (const [name, item] of malformed) {
    it.scopedLive(
      `a head with ${name}: every operation ends in success or a typed failure`,
      () =>
        Effect.gen(function*() {
          const { pk, store } = yield* freshStore()
          yield* put(item(pk("k")))
          const before = process.memoryUsage().rss
          const results = yield* runAll(store, "k")
          for (const [operation, exit] of results) {
            assert.isTrue(typed(exit), `${operation}: ${describeExit(exit)}`)
          }
          expect(process.memoryUsage().rss - before).toBeLessThan(256 * MiB)
          // a read that fails says so with DecodeError naming the key
          const get = results.find(([operation]) => operation === "get")![1]
          if (Exit.isFailure(get)) {
            const error = Option.getOrThrow(Cause.failureOption(get.cause))
            expect(error._tag).toBe("DecodeError")
            expect(error.message).toContain("\"k\"")
          }
          // the last writes won: the key is readable again
          expect(yield* store.assoc("k", "clean")).toBeUndefined()
          expect(yield* store.get("k")).toEqual(Option.some("clean"))
        }),
      60_000
    )
  }
})

/** A seeded random change to one attribute of an item. */
const mutate = (item: RawItem, random: () => number): RawItem => {
  const names = Object.keys(item).filter((name) => name !== "pk" && name !== "sk")
  if (names.length === 0) return item
  const name = names[Math.floor(random() * names.length)]
  const copy = { ...item }
  const pick = <A>(choices: ReadonlyArray<A>): A => choices[Math.floor(random() * choices.length)]
  switch (pick(["remove", "number", "retype", "truncate", "replace"] as const)) {
    case "remove":
      delete copy[name]
      break
    case "number":
      copy[name] = { N: pick(["-1", "0", "1e9", "5e9", "1e20", "-1e20", "3.5", "99999999999"]) }
      break
    case "retype":
      copy[name] = pick<AttributeValue>([{ S: "x" }, { B: Uint8Array.from([1]) }, { BOOL: true }, { NULL: true }, {
        L: []
      }])
      break
    case "truncate": {
      const value = copy[name]
      if (value.B !== undefined) copy[name] = { B: value.B.subarray(0, Math.floor(value.B.length * random())) }
      else if (value.S !== undefined) copy[name] = { S: value.S.slice(0, Math.floor(value.S.length * random())) }
      break
    }
    case "replace": {
      const value = copy[name]
      if (value.B !== undefined) copy[name] = { B: randomBytes(Math.max(1, value.B.length)) }
      else copy[name] = { S: randomBytes(8).toString("hex") }
      break
    }
  }
  return copy
}

describe("fuzz over stored items", () => {
  const seeds = process.env.FUZZ_SEED !== undefined ? [Number(process.env.FUZZ_SEED)] : [11, 12, 13]
  for (const seed of seeds) {
    it.scopedLive(
      `seed ${seed}: a store's items mutated at random; every operation ends in success or a typed failure`,
      () =>
        Effect.gen(function*() {
          const random = Proxy.random(seed)
          const { prefix, store } = yield* freshStore()
          const keys = ["small", "chunked", "binary", "stream", "log", "biglog", "meta", "expiring"]
          yield* store.assoc("small", { a: [1, 2, 3], s: "text" })
          yield* store.assoc("chunked", { blob: randomBytes(600_000) })
          yield* store.bassoc("binary", randomBytes(900_000))
          yield* store.bassoc("stream", Stream.make(randomBytes(300_000), randomBytes(300_000)))
          for (const element of [1, "two", { three: 3 }]) yield* store.append("log", element)
          yield* store.append("biglog", randomBytes(500_000))
          yield* store.append("biglog", "after")
          yield* store.assoc("meta", 1, { meta: { owner: "me", tags: ["a", "b"] } })
          yield* store.assoc("expiring", 2, { ttl: "1 hour" })
          // mutate a third of all items (heads, chunks, log elements), some more than once
          const items = yield* itemsOf(prefix)
          for (const item of items) {
            if (random() > 0.33) continue
            let mutated = item
            for (let n = 1 + Math.floor(random() * 3); n > 0; n--) mutated = mutate(mutated, random)
            if (random() < 0.1) {
              yield* Effect.promise(() =>
                raw().send(new DeleteItemCommand({ TableName: table, Key: { pk: item.pk, sk: item.sk } }))
              )
            } else {
              yield* put(mutated)
            }
          }
          const before = process.memoryUsage().rss
          for (const key of keys) {
            for (const [operation, exit] of yield* runAll(store, key)) {
              assert.isTrue(typed(exit), `seed ${seed}, ${key}, ${operation}: ${describeExit(exit)}`)
            }
          }
          expect(process.memoryUsage().rss - before).toBeLessThan(512 * MiB)
          // whatever the damage, every key can be written again and read back
          for (const key of keys) {
            yield* store.assoc(key, `fresh ${key}`)
            expect(yield* store.get(key)).toEqual(Option.some(`fresh ${key}`))
          }
          const listed = Chunk.toReadonlyArray(yield* Stream.runCollect(store.keys)).map((meta) => meta.key).sort()
          expect(listed).toEqual([...keys].sort())
        }),
      120_000
    )
  }
})
