/**
 * `DynamoDBStore.changes` on DynamoDB Local's real stream: every write kind
 * surfaces as its change(s), nothing else of the store (chunks, log
 * elements, checkpoints) or of other prefixes does; `StreamNotEnabled`;
 * checkpoints (saved before the first change, resumed, tampered with: a
 * typed `DecodeError`) and the checkpoint item hidden from `keys`, `size`
 * and `sweep`.
 */
import { DynamoDBClient, UpdateItemCommand } from "@aws-sdk/client-dynamodb"
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Stream from "effect/Stream"
import { randomBytes } from "node:crypto"
import * as DynamoDBStore from "../src/DynamoDBStore.js"
import { encodePrefix } from "../src/internal/dynamodb/keyLayout.js"
import type { KonserveError } from "../src/KonserveError.js"
import type { Change } from "../src/KonserveStore.js"
import { clientConfig, endpoint, storeConfig, uniqueTable } from "./utils/dynamodb.js"

const POLL = Duration.millis(50)

/** The changes of a running feed, collected in a queue. */
const collect = (config: DynamoDBStore.DynamoDBStoreConfig, options?: DynamoDBStore.ChangesOptions) =>
  Effect.gen(function*() {
    const queue = yield* Queue.unbounded<Change>()
    const fiber = yield* DynamoDBStore.changes(config, { pollInterval: POLL, from: "oldest", ...options }).pipe(
      Stream.runForEach((change) => Queue.offer(queue, change)),
      Effect.forkScoped
    )
    return { queue, fiber }
  })

/** Takes changes until `done` holds for what was taken (or fails after `timeout`). */
const takeUntil = (
  queue: Queue.Queue<Change>,
  done: (taken: ReadonlyArray<Change>) => boolean,
  timeout: Duration.DurationInput = "40 seconds"
): Effect.Effect<Option.Option<Array<Change>>> =>
  Effect.gen(function*() {
    const taken: Array<Change> = []
    while (!done(taken)) taken.push(yield* Queue.take(queue))
    return taken
  }).pipe(Effect.timeoutOption(timeout))

const summary = (changes: ReadonlyArray<Change>) =>
  changes.map((c) =>
    `${c.op} ${c.key}${Option.isSome(c.value) ? ` ${JSON.stringify(c.value.value).slice(0, 40)}` : ""}`
  )

describe("DynamoDBStore.changes on DynamoDB Local", { timeout: 120_000 }, () => {
  it.scopedLive("every write kind surfaces as its changes, and nothing else does", () =>
    Effect.gen(function*() {
      const table = uniqueTable("feed")
      const config = storeConfig(endpoint(), table, { prefix: "a", stream: true })
      const store = yield* DynamoDBStore.make(config)
      const other = yield* DynamoDBStore.make({ ...config, prefix: "a2" })
      const { queue } = yield* collect(config, { checkpoint: "kinds" })
      yield* store.assoc("v", { n: 1 }, { meta: { by: "test" } })
      yield* other.assoc("v", "other prefix")
      yield* store.assocIn(["v", "m"], 2)
      yield* store.update("v", () => ({ n: 3 }))
      yield* store.updateIn(["v", "n"], () => 4)
      // incompressible, so stored in chunks
      const big = randomBytes(450_000).toString("base64")
      yield* store.assoc("big", big)
      yield* store.bassoc("bin", Stream.make(new Uint8Array([1, 2, 3])))
      yield* store.append("log", "e1")
      yield* store.append("log", "e2")
      yield* store.multiAssoc({ m1: 1, m2: 2 })
      yield* store.multiAssoc({ n1: 1 }, { atomic: false })
      yield* store.dissoc("v")
      yield* store.dissoc("never")
      yield* store.multiDissoc(["m1", "m2"])
      yield* store.assoc("last", "end")
      const taken = yield* takeUntil(queue, (t) => t.some((c) => c.key === "last"))
      expect(Option.isSome(taken)).toBe(true)
      const changes = Option.getOrThrow(taken)
      expect(summary(changes)).toEqual([
        "write v {\"n\":1}",
        "write v {\"n\":1,\"m\":2}",
        "write v {\"n\":3}",
        "write v {\"n\":4}",
        "write big",
        "write bin",
        "write log",
        "write log",
        ...summary(changes.filter((c) => c.key === "m1" || c.key === "m2").slice(0, 2)),
        "write n1 1",
        "remove v",
        ...summary(changes.filter((c) => c.key === "m1" || c.key === "m2").slice(2)),
        "write last \"end\""
      ])
      expect(changes.filter((c) => c.key === "m1" || c.key === "m2").map((c) => c.op)).toEqual([
        "write",
        "write",
        "remove",
        "remove"
      ])
      const first = changes[0]
      expect(Option.map(first.meta, (m) => m.user)).toEqual(Option.some({ by: "test" }))
      // each change carries the version the store reports
      const meta = yield* store.getMeta("last")
      expect(changes.at(-1)?.version).toBe(Option.getOrThrow(meta).version)
      // the atomic multiAssoc and multiDissoc of m1, m2 are batches (see the next test); nothing else is
      expect(changes.filter((c) => Option.isSome(c.batch)).map((c) => c.key).sort()).toEqual(["m1", "m1", "m2", "m2"])
      // the checkpoint item is none of the store's keys
      const keys = yield* Stream.runCollect(store.keys)
      expect(Chunk.toReadonlyArray(keys).map((m) => m.key).sort()).toEqual(["big", "bin", "last", "log", "n1"])
    }))

  it.scopedLive("an atomic multiAssoc, multiDissoc and transact each share one batch, the one changes gives", () =>
    Effect.gen(function*() {
      const table = uniqueTable("batch")
      const config = storeConfig(endpoint(), table, { prefix: "b", stream: true })
      const store = yield* DynamoDBStore.make(config)
      const local = yield* Queue.unbounded<Change>()
      yield* store.changes.pipe(Stream.runForEach((c) => Queue.offer(local, c)), Effect.forkScoped)
      // let the in-process subscription start
      yield* Effect.sleep("100 millis")
      const { queue } = yield* collect(config)
      yield* store.assoc("x", 0)
      yield* store.multiAssoc({ a: 1, b: 2, x: 3 })
      yield* store.multiDissoc(["a", "x", "never"])
      yield* store.transact(["b", "c", "x"], () => Effect.succeed({ assoc: { c: 4, x: 5 }, dissoc: ["b"], result: 0 }))
      yield* store.multiAssoc({ solo: 6 })
      yield* store.assoc("x", 7)
      yield* store.multiDissoc(["c"], { atomic: false })
      yield* store.assoc("last", "end")
      const feed = Option.getOrThrow(yield* takeUntil(queue, (t) => t.some((c) => c.key === "last")))
      const inProcess = Option.getOrThrow(yield* takeUntil(local, (t) => t.some((c) => c.key === "last"), "5 seconds"))
      const batches = (changes: ReadonlyArray<Change>) =>
        changes.map((c) => `${c.op} ${c.key} ${c.version} ${Option.getOrElse(c.batch, () => "-")}`).sort()
      expect(batches(feed)).toEqual(batches(inProcess))
      const byBatch = new Map<string, Array<string>>()
      for (const c of feed) {
        if (Option.isSome(c.batch)) {
          byBatch.set(c.batch.value, [...byBatch.get(c.batch.value) ?? [], `${c.op} ${c.key}`])
        }
      }
      expect(Array.from(byBatch.values(), (keys) => keys.sort())).toEqual([
        ["write a", "write b", "write x"],
        ["remove a", "remove x"],
        ["remove b", "write c", "write x"],
        ["write solo"]
      ])
      // every batch is its version
      expect(feed.every((c) => Option.isNone(c.batch) || c.batch.value === c.version)).toBe(true)
      // the later single-key writes of x and c (and the first) are no batch's
      const singles = feed.filter((c) => Option.isNone(c.batch)).map((c) => `${c.op} ${c.key}`)
      expect(singles).toEqual(["write x", "write x", "remove c", "write last"])
    }))

  it.scopedLive("fails with StreamNotEnabled on a table without a stream, naming the table and UpdateTable", () =>
    Effect.gen(function*() {
      const table = uniqueTable("nostream")
      const config = storeConfig(endpoint(), table)
      yield* DynamoDBStore.make(config)
      expect(yield* DynamoDBStore.hasStream(config)).toBe(false)
      const exit = yield* Effect.exit(Stream.runDrain(DynamoDBStore.changes(config)))
      const error = Exit.isFailure(exit) ? failures(exit.cause)[0] : undefined
      expect(error?._tag).toBe("DynamoDBError")
      if (error?._tag === "DynamoDBError") {
        expect(error.code).toBe("StreamNotEnabled")
        expect(error.message).toContain(table)
        expect(error.message).toContain("update-table")
      }
      // a store with `stream: true` turns it on for the existing table
      yield* DynamoDBStore.make({ ...config, stream: true })
      expect(yield* DynamoDBStore.hasStream(config)).toBe(true)
    }))

  it.scopedLive("a checkpoint resumes where its reader stopped, and a tampered one fails with DecodeError", () =>
    Effect.gen(function*() {
      const table = uniqueTable("ckpt")
      const config = storeConfig(endpoint(), table, { prefix: "c", stream: true })
      const store = yield* DynamoDBStore.make(config)
      const first = yield* collect(config, { checkpoint: "r" })
      yield* store.assoc("k1", 1)
      yield* store.assoc("k2", 2)
      yield* takeUntil(first.queue, (t) => t.length === 2)
      // let the reader pull past the batch (and save its position)
      yield* Effect.sleep("300 millis")
      yield* Fiber.interrupt(first.fiber)
      yield* store.assoc("k3", 3)
      yield* store.assoc("k4", 4)
      const second = yield* collect(config, { checkpoint: "r" })
      const resumed = Option.getOrThrow(yield* takeUntil(second.queue, (t) => t.some((c) => c.key === "k4")))
      expect(resumed.map((c) => c.key)).toEqual(["k3", "k4"])
      yield* Fiber.interrupt(second.fiber)
      // someone rewrites the checkpoint item
      const raw = new DynamoDBClient(clientConfig())
      yield* Effect.promise(() =>
        raw.send(
          new UpdateItemCommand({
            TableName: table,
            Key: { pk: { S: `${encodePrefix("c")}r` }, sk: { S: "f" } },
            UpdateExpression: "SET pos = :p",
            ExpressionAttributeValues: { ":p": { S: "{\"start\":\"yesterday\"}" } }
          })
        )
      )
      raw.destroy()
      const exit = yield* Effect.exit(Stream.runDrain(DynamoDBStore.changes(config, { checkpoint: "r" })))
      const error = Exit.isFailure(exit) ? failures(exit.cause)[0] : undefined
      expect(error?._tag).toBe("DecodeError")
      expect(error?.message).toContain("checkpoint \"r\"")
      // still none of the store's keys, and sweep leaves it alone
      yield* Stream.runDrain(DynamoDBStore.sweep(config, { grace: 0 }))
      const keys = yield* Stream.runCollect(store.keys)
      expect(Chunk.size(keys)).toBe(4)
      const again = yield* Effect.exit(Stream.runDrain(DynamoDBStore.changes(config, { checkpoint: "r" })))
      expect(Exit.isFailure(again)).toBe(true)
    }))
})

const failures = (cause: Cause.Cause<KonserveError>): ReadonlyArray<KonserveError> =>
  Chunk.toReadonlyArray(Cause.failures(cause))
