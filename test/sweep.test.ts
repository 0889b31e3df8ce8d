/**
 * `DynamoDBStore.sweep` on DynamoDB Local: what it removes is exactly what
 * no head references (checked against a raw `Scan` before and after), and
 * nothing any read sees, also with writers running. Orphans are made the
 * ways they arise: a writer killed mid-`bassoc` (a child process, SIGKILL),
 * writes whose outcome stayed unknown and deletions that failed (through the
 * fault proxy), and the bookkeeping past its use (tombstones and expired
 * heads whose TTL attribute has passed).
 *
 * Items age on the machine's clock, not on a `TestClock`: the tests use a
 * grace of 0 (or a few seconds and a wait), and check that a write in
 * progress survives the default grace.
 */
import type { AttributeValue } from "@aws-sdk/client-dynamodb"
import {
  CreateTableCommand,
  DynamoDBClient,
  PutItemCommand,
  ScanCommand,
  UpdateItemCommand
} from "@aws-sdk/client-dynamodb"
import { afterEach, assert, beforeEach, describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Stream from "effect/Stream"
import { spawn } from "node:child_process"
import { createHash, randomBytes } from "node:crypto"
import { fileURLToPath } from "node:url"
import * as DynamoDBStore from "../src/DynamoDBStore.js"
import * as Content from "../src/internal/dynamodb/content.js"
import { encodePrefix, layout, logSk } from "../src/internal/dynamodb/keyLayout.js"
import * as Sweep from "../src/internal/dynamodb/sweep.js"
import type { KonserveError } from "../src/KonserveError.js"
import type * as KonserveStore from "../src/KonserveStore.js"
import { clientConfig, endpoint, storeConfig, uniqueTable } from "./utils/dynamodb.js"
import * as Proxy from "./utils/proxy.js"

type Item = Record<string, AttributeValue>
type Store = KonserveStore.KonserveStore

const KiB = 1024
const MiB = 1024 * KiB
/** A table per test: every sweep and raw scan reads the whole table, so each test reads only its own items. */
let table = uniqueTable("sweep")
beforeEach(() => {
  table = uniqueTable("sweep")
})
afterEach(() => Effect.runPromise(Effect.ignore(DynamoDBStore.deleteStore(storeConfig(endpoint(), table)))))
let prefixes = 0
const freshPrefix = () => `sw${prefixes++}`

const raw = new DynamoDBClient(clientConfig())

/** Random bytes, as a plain `Uint8Array` (what reads give back). */
const bytes = (n: number) => new Uint8Array(randomBytes(n))

const config = (prefix: string | undefined, extra?: Partial<DynamoDBStore.DynamoDBStoreConfig>, url = endpoint()) =>
  storeConfig(url, table, {
    ...(prefix === undefined ? {} : { prefix }),
    retry: { maxAttempts: 2, baseDelay: "2 millis" },
    ...extra
  })

const idOf = (item: Item) => `${item.pk.S}\u0000${item.sk.S}`

/** Every item of a store (of a prefix, or of the store without one), by primary key, straight from the table. */
const rawItems = (prefix: string | undefined, onTable = table) =>
  Effect.promise(async () => {
    const items = new Map<string, Item>()
    let start: Item | undefined
    do {
      const out = await raw.send(
        new ScanCommand({
          TableName: onTable,
          ConsistentRead: true,
          FilterExpression: "begins_with(pk, :p)",
          // every attribute but the bytes (DynamoDB Local is slow to send megabytes)
          ProjectionExpression: "pk, sk, #kind, ver, #ttl, #exp, cid, #owner, wt, gen",
          ExpressionAttributeNames: { "#kind": "kind", "#ttl": "ttl", "#exp": "exp", "#owner": "owner" },
          ExpressionAttributeValues: { ":p": { S: encodePrefix(prefix) } },
          ...(start === undefined ? {} : { ExclusiveStartKey: start })
        })
      )
      for (const item of out.Items ?? []) items.set(idOf(item), item)
      start = out.LastEvaluatedKey
    } while (start !== undefined)
    return items
  })

const chunksOf = (items: ReadonlyMap<string, Item>, prefix: string | undefined, key: string) =>
  Array.from(items.values()).filter((item) => item.sk.S === "c" && item.owner?.S === encodePrefix(prefix) + key)

const minus = <K, V>(a: ReadonlyMap<K, V>, b: ReadonlyMap<K, V>): Set<K> =>
  new Set(Array.from(a.keys()).filter((k) => !b.has(k)))

/** Runs a sweep to its end (warnings about a short grace silenced); every progress element. */
const sweepAll = (
  cfg: DynamoDBStore.DynamoDBStoreConfig | DynamoDBStore.LayerWithClientOptions,
  options?: DynamoDBStore.SweepOptions
) =>
  Stream.runCollect(DynamoDBStore.sweep(cfg, options)).pipe(
    Effect.map((all) => {
      const progress = Chunk.toReadonlyArray(all)
      expect(progress.length).toBeGreaterThan(0)
      expect(progress.filter((p) => p.done)).toEqual([progress[progress.length - 1]])
      return progress[progress.length - 1]
    }),
    Logger.withMinimumLogLevel(LogLevel.Error)
  )

const quiet = <A, E, R>(self: Effect.Effect<A, E, R>) => Logger.withMinimumLogLevel(self, LogLevel.None)

/** The failure code of a write's exit: the error's tag, or a DynamoDBError's code. */
const codeOf = (exit: Exit.Exit<unknown, KonserveError>): string | undefined =>
  Exit.isSuccess(exit) ? undefined : Option.match(Cause.failureOption(exit.cause), {
    onNone: () => "not a failure",
    onSome: (error) => error._tag === "DynamoDBError" ? error.code : error._tag
  })

/** The failure code of an effect that must fail. */
const failureCode = <A>(self: Effect.Effect<A, KonserveError>) =>
  Effect.flip(self).pipe(Effect.map((error) => error._tag === "DynamoDBError" ? error.code : error._tag))

/** A value with its byte arrays replaced by their SHA-256 (deep equality of megabytes is slow). */
const digest = (value: unknown): unknown =>
  value instanceof Uint8Array
    ? `sha256:${createHash("sha256").update(value).digest("hex")}`
    : Array.isArray(value)
    ? value.map(digest)
    : Option.isOption(value)
    ? Option.map(value, digest)
    : typeof value === "object" && value !== null && Object.getPrototypeOf(value) === Object.prototype
    ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, digest(v)]))
    : value

/** What a store holds, read back by every kind of read, to compare before and after a sweep. */
const snapshot = (store: Store, keys: ReadonlyArray<string>) =>
  Effect.forEach(keys, (key) =>
    Effect.all({
      key: Effect.succeed(key),
      value: Effect.map(store.get(key), digest),
      log: Effect.map(store.log(key), digest),
      binary: Effect.flatMap(store.bget(key), (found) =>
        Option.match(found, {
          onNone: () => Effect.succeed("none"),
          onSome: (binary) =>
            Stream.runFold(binary.stream, createHash("sha256"), (hash, piece) => hash.update(piece)).pipe(
              Effect.map((hash) => `${binary.size}:${hash.digest("hex")}`)
            )
        })),
      exists: store.exists(key)
    })).pipe(
      Effect.zip(
        Effect.map(Stream.runCollect(store.keys), (metas) => Chunk.toReadonlyArray(metas).map((m) => m.key).sort())
      )
    )

/** A store's keys of every kind: inline, chunked, binary, log with a chunked element, expiring, removed, replaced. */
const populate = (store: Store) =>
  Effect.gen(function*() {
    yield* store.assoc("inline", { n: 1 })
    yield* store.assoc("chunked", bytes(MiB))
    yield* store.bassoc("binary", bytes(MiB))
    yield* store.bassoc("streamed", Stream.make(bytes(400 * KiB), bytes(400 * KiB)))
    yield* store.append("log", "one")
    yield* store.append("log", bytes(400 * KiB))
    yield* store.append("log", "three")
    yield* store.assoc("expiring", bytes(MiB), { ttl: "1 hour" })
    yield* store.assoc("removed", bytes(MiB))
    yield* store.dissoc("removed")
    yield* store.assoc("replaced", bytes(MiB))
    yield* store.assoc("replaced", bytes(MiB))
    return ["inline", "chunked", "binary", "streamed", "log", "expiring", "removed", "replaced"]
  })

const KILLED_WRITER = fileURLToPath(new URL("./utils/killedWriter.ts", import.meta.url))

/**
 * Starts a `bassoc` in a child process, waits until its 8 chunks are in the
 * table, and kills the process with SIGKILL (no finalizer runs).
 */
const killWriterMidBassoc = (prefix: string, key: string) =>
  Effect.gen(function*() {
    const child = spawn(process.execPath, ["--import", "tsx", KILLED_WRITER, endpoint(), table, prefix, key], {
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stderr = ""
    child.stderr.on("data", (part: Buffer) => {
      stderr += part.toString()
    })
    const exited = new Promise<NodeJS.Signals | number | null>((resolve) =>
      child.on("exit", (code, signal) => resolve(signal ?? code))
    )
    yield* Effect.addFinalizer(() => Effect.sync(() => child.kill("SIGKILL")))
    // poll the table until the child's 8 chunks are there
    const deadline = Date.now() + 30_000
    let written = 0
    while (written < 8) {
      if (child.exitCode !== null || Date.now() > deadline) {
        return yield* Effect.die(new Error(`the writer did not write its chunks (${written}): ${stderr}`))
      }
      yield* Effect.sleep("50 millis")
      written = chunksOf(yield* rawItems(prefix), prefix, key).length
    }
    child.kill("SIGKILL")
    expect(yield* Effect.promise(() => exited)).toBe("SIGKILL")
    return written
  })

describe("sweep removes exactly what no head references", () => {
  it.scopedLive(
    "a writer killed mid-bassoc (child process, SIGKILL): its 8 chunks go, everything else stays",
    () =>
      Effect.gen(function*() {
        const prefix = freshPrefix()
        const store = yield* DynamoDBStore.make(config(prefix))
        const keys = yield* populate(store)
        const before = yield* snapshot(store, [...keys, "victim"])

        yield* killWriterMidBassoc(prefix, "victim")
        const items = yield* rawItems(prefix)
        const orphans = new Set(chunksOf(items, prefix, "victim").map(idOf))
        expect(orphans.size).toBe(8)
        // nothing reads the dead writer's chunks
        expect(yield* snapshot(store, [...keys, "victim"])).toEqual(before)

        yield* Effect.sleep("5 millis")
        const progress = yield* sweepAll(config(prefix), { grace: 0 })
        const after = yield* rawItems(prefix)
        expect(minus(items, after)).toEqual(orphans)
        expect(minus(after, items)).toEqual(new Set())
        expect(progress).toEqual({
          scanned: items.size,
          unreferenced: 8,
          removed: 8,
          bytesFreed: progress.bytesFreed,
          done: true
        })
        expect(progress.bytesFreed).toBeGreaterThanOrEqual(8 * 380 * KiB)
        expect(progress.bytesFreed).toBeLessThan(8 * 390 * KiB)
        expect(yield* snapshot(store, [...keys, "victim"])).toEqual(before)

        // a second sweep finds nothing more
        const again = yield* sweepAll(config(prefix), { grace: 0 })
        expect([again.scanned, again.unreferenced, again.removed]).toEqual([items.size - 8, 0, 0])
      }),
    60_000
  )

  it.scopedLive(
    "orphans of unknown outcomes and of failed deletions (through the fault proxy) go exactly",
    () =>
      Effect.gen(function*() {
        const prefix = freshPrefix()
        const proxy = yield* Proxy.make(endpoint())
        const store = yield* DynamoDBStore.make(config(prefix, {}, proxy.endpoint))
        const keys = yield* populate(store)
        const orphans = new Set<string>()
        const track = <A>(self: Effect.Effect<A, KonserveError>) =>
          Effect.gen(function*() {
            const before = yield* rawItems(prefix)
            const exit = yield* Effect.exit(quiet(self))
            const after = yield* rawItems(prefix)
            return { exit, before, after }
          })

        // (a) a chunked assoc whose every head request was reset: UnknownOutcome, its chunks left
        proxy.setRule((r) => r.command === "UpdateItem" ? { _tag: "Reset" } : { _tag: "Pass" })
        const a = yield* track(store.assoc("unknown", bytes(MiB)))
        expect(codeOf(a.exit)).toBe("UnknownOutcome")
        for (const id of minus(a.after, a.before)) orphans.add(id)
        expect(chunksOf(a.after, prefix, "unknown").length).toBe(3)

        // (b) a chunked append whose every transaction was reset: UnknownOutcome, its element's chunks left
        proxy.setRule((r) => r.command === "TransactWriteItems" ? { _tag: "Reset" } : { _tag: "Pass" })
        const b = yield* track(store.append("unknown-log", bytes(400 * KiB)))
        expect(codeOf(b.exit)).toBe("UnknownOutcome")
        for (const id of minus(b.after, b.before)) orphans.add(id)
        expect(chunksOf(b.after, prefix, "unknown-log").length).toBe(2)

        // (c) a chunked value replaced while every deletion is throttled: the old chunks stay
        const deletions: Proxy.Rule = (r) => {
          const items = (r.body.RequestItems ?? {}) as Record<string, Array<Record<string, unknown>>>
          return r.command === "BatchWriteItem" && Object.values(items).some((list) => "DeleteRequest" in list[0])
            ? { _tag: "Throttle" }
            : { _tag: "Pass" }
        }
        proxy.setRule(deletions)
        const c = yield* track(store.assoc("replaced", bytes(MiB)))
        expect(Exit.isSuccess(c.exit)).toBe(true)
        for (const chunk of chunksOf(c.before, prefix, "replaced")) orphans.add(idOf(chunk))

        // (d) a log (with a chunked element) replaced by a value while deletions fail: its elements and chunks stay
        const d = yield* track(store.assoc("log", "now a value"))
        expect(Exit.isSuccess(d.exit)).toBe(true)
        const logPk = encodePrefix(prefix) + "log"
        for (const item of d.before.values()) {
          if ((item.pk.S === logPk && item.sk.S?.startsWith("l#")) || (item.sk.S === "c" && item.owner?.S === logPk)) {
            orphans.add(idOf(item))
          }
        }
        // (e) a removal of a chunked value while deletions fail
        const e = yield* track(store.dissoc("chunked"))
        expect(Exit.isSuccess(e.exit)).toBe(true)
        for (const chunk of chunksOf(e.before, prefix, "chunked")) orphans.add(idOf(chunk))
        proxy.setRule(undefined)

        expect(orphans.size).toBe(3 + 2 + 3 + (3 + 2) + 3)
        const items = yield* rawItems(prefix)
        for (const id of orphans) assert.isTrue(items.has(id), id)
        const before = yield* snapshot(store, [...keys, "unknown", "unknown-log"])
        expect(yield* store.get("unknown")).toEqual(Option.none())
        expect(yield* store.log("unknown-log")).toEqual(Option.none())

        yield* Effect.sleep("5 millis")
        const progress = yield* sweepAll(config(prefix), { grace: 0 })
        const after = yield* rawItems(prefix)
        expect(minus(items, after)).toEqual(orphans)
        expect([progress.scanned, progress.unreferenced, progress.removed]).toEqual([
          items.size,
          orphans.size,
          orphans.size
        ])
        expect(yield* snapshot(store, [...keys, "unknown", "unknown-log"])).toEqual(before)
        expect(yield* store.get("log")).toEqual(Option.some("now a value"))
        // the keys stay writable and readable
        yield* store.append("unknown-log", "first")
        expect(yield* store.log("unknown-log")).toEqual(Option.some(["first"]))
      }),
    60_000
  )

  it.scopedLive(
    "a dry run counts them and removes nothing; a long grace removes nothing",
    () =>
      Effect.gen(function*() {
        const prefix = freshPrefix()
        const proxy = yield* Proxy.make(endpoint())
        const store = yield* DynamoDBStore.make(config(prefix, {}, proxy.endpoint))
        yield* populate(store)
        proxy.setRule((r) => r.command === "UpdateItem" ? { _tag: "Reset" } : { _tag: "Pass" })
        yield* Effect.exit(quiet(store.assoc("unknown", bytes(2 * MiB))))
        proxy.setRule(undefined)
        const items = yield* rawItems(prefix)
        const orphans = chunksOf(items, prefix, "unknown").length
        expect(orphans).toBe(6)
        yield* Effect.sleep("5 millis")

        const dry = yield* sweepAll(config(prefix), { grace: 0, dryRun: true })
        expect(dry).toEqual({ scanned: items.size, unreferenced: orphans, removed: 0, bytesFreed: 0, done: true })
        expect(yield* rawItems(prefix)).toEqual(items)

        const patient = yield* sweepAll(config(prefix), { grace: "1 hour" })
        expect(patient).toEqual({ scanned: items.size, unreferenced: 0, removed: 0, bytesFreed: 0, done: true })
        const byDefault = yield* sweepAll(config(prefix))
        expect(byDefault).toEqual(patient)
        expect(yield* rawItems(prefix)).toEqual(items)

        const real = yield* sweepAll(config(prefix), { grace: "1 millis" })
        expect([real.unreferenced, real.removed]).toEqual([orphans, orphans])
        expect((yield* rawItems(prefix)).size).toBe(items.size - orphans)
      }),
    60_000
  )
})

describe("sweep never takes what a write in progress or a reader needs", () => {
  it.scopedLive(
    "a write whose chunks are in and whose head is held survives the default grace",
    () =>
      Effect.gen(function*() {
        const prefix = freshPrefix()
        const proxy = yield* Proxy.make(endpoint())
        const store = yield* DynamoDBStore.make(config(prefix, {}, proxy.endpoint))
        let release: () => void = () => {}
        const released = new Promise<void>((resolve) => {
          release = resolve
        })
        let held = false
        proxy.setRule((r) => {
          if (r.command !== "UpdateItem" || held) return { _tag: "Pass" }
          held = true
          return { _tag: "Hold", until: () => released }
        })
        const value = bytes(MiB)
        const writer = yield* Effect.fork(store.assoc("w", value))
        while (!held) yield* Effect.sleep("10 millis")
        const items = yield* rawItems(prefix)
        expect(chunksOf(items, prefix, "w").length).toBe(3)
        yield* Effect.sleep("5 millis")

        // only the grace protects them: with none, they count as unreferenced
        const unprotected = yield* sweepAll(config(prefix), { grace: 0, dryRun: true })
        expect(unprotected.unreferenced).toBe(3)
        const progress = yield* sweepAll(config(prefix))
        expect([progress.scanned, progress.unreferenced, progress.removed]).toEqual([3, 0, 0])
        expect(yield* rawItems(prefix)).toEqual(items)

        release()
        yield* Fiber.join(writer)
        const read = yield* store.get("w")
        assert.isTrue(Option.isSome(read) && Buffer.compare(read.value as Uint8Array, value) === 0)
      }),
    60_000
  )

  it.scopedLive(
    "a chunked write past its time limit sends no head, fails with WriteTooSlow and deletes its chunks",
    () =>
      Effect.gen(function*() {
        const prefix = freshPrefix()
        const store = yield* DynamoDBStore.make(config(prefix))
        const old = bytes(MiB)
        yield* store.bassoc("slow", old)
        const before = yield* rawItems(prefix)
        const slow = Stream.make(...Array.from({ length: 4 }, () => bytes(380 * KiB))).pipe(
          Stream.concat(Stream.fromEffect(Effect.as(Effect.sleep("400 millis"), bytes(KiB))))
        )
        const code = yield* failureCode(
          Effect.locally(store.bassoc("slow", slow), Content.chunkedWriteLimit, Duration.millis(200))
        )
        expect(code).toBe("WriteTooSlow")
        expect(yield* rawItems(prefix)).toEqual(before)
        const read = yield* store.get("slow")
        assert.isTrue(Option.isSome(read) && Buffer.compare(read.value as Uint8Array, old) === 0)
        // within the limit it goes through
        yield* Effect.locally(
          store.bassoc("slow", Stream.make(bytes(MiB))),
          Content.chunkedWriteLimit,
          Duration.seconds(30)
        )
      }),
    60_000
  )

  it.scopedLive(
    "writers and readers running during sweeps keep every key readable and every write",
    () =>
      Effect.gen(function*() {
        const prefix = freshPrefix()
        const proxy = yield* Proxy.make(endpoint())
        const faulty = yield* DynamoDBStore.make(config(prefix, {}, proxy.endpoint))
        const store = yield* DynamoDBStore.make(config(prefix, { retry: { baseDelay: "5 millis" } }))
        // orphans older than the grace
        proxy.setRule((r) => r.command === "UpdateItem" ? { _tag: "Reset" } : { _tag: "Pass" })
        yield* Effect.exit(quiet(faulty.assoc("b", bytes(MiB))))
        proxy.setRule(undefined)
        const orphans = new Set(chunksOf(yield* rawItems(prefix), prefix, "b").map(idOf))
        expect(orphans.size).toBe(3)
        const grace = Duration.seconds(5)
        yield* Effect.sleep(Duration.sum(grace, Duration.millis(200)))

        const stop = yield* Ref.make(false)
        const last = new Map<string, unknown>()
        let appended = 0
        const loop = (body: (i: number) => Effect.Effect<void, KonserveError>) =>
          Effect.gen(function*() {
            let i = 0
            while (!(yield* Ref.get(stop))) yield* body(i++)
          })
        const writers = [
          loop((i) => {
            const data = bytes(i % 2 === 0 ? MiB : 2 * KiB)
            return Effect.tap(store.bassoc("b", data), () => last.set("b", data))
          }),
          loop((i) => {
            const element = i % 4 === 0 ? bytes(400 * KiB) : i
            return Effect.tap(store.append("log", element), () => {
              appended++
              last.set("log", element)
            })
          }),
          loop((i) => {
            const value = { i, pad: bytes(i % 3 === 0 ? 500 * KiB : 10) }
            return Effect.tap(store.assoc("v", value), () => last.set("v", value))
          }),
          loop((i) =>
            i % 2 === 0
              ? Effect.tap(store.assoc("d", bytes(MiB)), () => last.set("d", true))
              : Effect.tap(store.dissoc("d"), () => last.set("d", false))
          ),
          loop(() => Effect.asVoid(Effect.all([store.get("b"), store.get("v"), store.log("log"), store.get("d")])))
        ]
        const running = yield* Effect.fork(Effect.all(writers, { concurrency: "unbounded", discard: true }))
        yield* Effect.sleep("300 millis")
        let removed = 0
        for (let round = 0; round < 3; round++) {
          const progress = yield* sweepAll(config(prefix), { grace })
          removed += progress.removed
        }
        yield* Ref.set(stop, true)
        yield* Fiber.join(running)
        expect(removed).toBe(3)
        const after = yield* rawItems(prefix)
        for (const id of orphans) assert.isFalse(after.has(id))

        const b = yield* store.get("b")
        assert.isTrue(Option.isSome(b) && Buffer.compare(b.value as Uint8Array, last.get("b") as Uint8Array) === 0)
        expect(digest(yield* store.get("v"))).toEqual(digest(Option.some(last.get("v"))))
        const log = Option.getOrThrow(yield* store.log("log"))
        expect(log.length).toBe(appended)
        expect(digest(log[log.length - 1])).toEqual(digest(last.get("log")))
        expect(Option.isSome(yield* store.get("d"))).toBe(last.get("d"))
        // and nothing is left over once they stopped: the writers cleaned up after themselves
        yield* Effect.sleep("5 millis")
        const final = yield* sweepAll(config(prefix), { grace: 0 })
        expect(final.unreferenced).toBe(0)
      }),
    90_000
  )
})

/**
 * The test's table, created without registering a TTL attribute: DynamoDB
 * Local runs a TTL sweeper too, which would race a test's sweep over items
 * whose TTL has passed.
 */
const createTableWithoutTtl = Effect.suspend(() =>
  Effect.promise(() =>
    raw.send(
      new CreateTableCommand({
        TableName: table,
        BillingMode: "PAY_PER_REQUEST",
        AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }, {
          AttributeName: "sk",
          AttributeType: "S"
        }],
        KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }, { AttributeName: "sk", KeyType: "RANGE" }]
      })
    )
  )
)

describe("sweep and the store's bookkeeping", () => {
  it.scopedLive(
    "tombstones and expired heads past their TTL go (with the expired head's chunks); others stay",
    () =>
      Effect.gen(function*() {
        const prefix = freshPrefix()
        yield* createTableWithoutTtl
        const store = yield* DynamoDBStore.make(config(prefix, { createTable: false }))
        const P = encodePrefix(prefix)
        const setTtl = (key: string, ttl: number) =>
          Effect.promise(() =>
            raw.send(
              new UpdateItemCommand({
                TableName: table,
                Key: { pk: { S: P + key }, sk: { S: "h" } },
                UpdateExpression: "SET #ttl = :ttl",
                ExpressionAttributeNames: { "#ttl": "ttl" },
                ExpressionAttributeValues: { ":ttl": { N: String(ttl) } }
              })
            )
          )
        const past = Math.floor(Date.now() / 1000) - 60
        yield* store.assoc("tomb-fresh", 1)
        yield* store.dissoc("tomb-fresh")
        yield* store.assoc("tomb-old", 1)
        yield* store.dissoc("tomb-old")
        yield* setTtl("tomb-old", past)
        yield* store.assoc("expired-old", bytes(MiB), { ttl: "1 millis" })
        yield* setTtl("expired-old", past)
        yield* store.assoc("expired-fresh", "x", { ttl: "1 millis" })
        yield* store.assoc("live", "y", { ttl: "1 hour" })
        yield* setTtl("live", past)
        yield* store.assoc("plain", "z")
        const items = yield* rawItems(prefix)
        const gone = new Set([
          `${P}tomb-old\u0000h`,
          `${P}expired-old\u0000h`,
          ...chunksOf(items, prefix, "expired-old").map(idOf)
        ])
        expect(gone.size).toBe(5)
        const keysBefore = Chunk.toReadonlyArray(yield* Stream.runCollect(store.keys)).map((m) => m.key).sort()
        expect(keysBefore).toEqual(["live", "plain"])

        yield* Effect.sleep("5 millis")
        const progress = yield* sweepAll(config(prefix), { grace: 0 })
        const after = yield* rawItems(prefix)
        expect(minus(items, after)).toEqual(gone)
        expect([progress.unreferenced, progress.removed]).toEqual([5, 5])
        expect(Chunk.toReadonlyArray(yield* Stream.runCollect(store.keys)).map((m) => m.key).sort()).toEqual(keysBefore)
        expect(yield* store.get("live")).toEqual(Option.some("y"))
        expect(yield* store.get("tomb-old")).toEqual(Option.none())
        // the keys are writable again
        yield* store.assoc("tomb-old", "back", { ifAbsent: true })
        expect(yield* store.get("tomb-old")).toEqual(Option.some("back"))
      }),
    60_000
  )

  it.scopedLive("items the store did not write are left alone", () =>
    Effect.gen(function*() {
      const prefix = freshPrefix()
      yield* createTableWithoutTtl
      const store = yield* DynamoDBStore.make(config(prefix, { createTable: false }))
      yield* store.assoc("k", "v")
      const P = encodePrefix(prefix)
      const past = String(Math.floor(Date.now() / 1000) - 60)
      const foreign: Array<Item> = [
        // a chunk without a write time (written before chunks had one)
        {
          pk: { S: `${P}c16:AAAAAAAAAAAAAAAA:0:k` },
          sk: { S: "c" },
          owner: { S: `${P}k` },
          cid: { S: "AAAAAAAAAAAAAAAA" }
        },
        // a chunk whose owner is not the key its pk names
        {
          pk: { S: `${P}c16:BBBBBBBBBBBBBBBB:0:k` },
          sk: { S: "c" },
          owner: { S: `${P}other` },
          cid: { S: "BBBBBBBBBBBBBBBB" },
          wt: { N: "1" }
        },
        // sort keys of nothing the store writes
        { pk: { S: `${P}k` }, sk: { S: "l#zz" } },
        { pk: { S: `${P}k` }, sk: { S: "x" } },
        // a tombstone-like head whose version is not one of ours
        { pk: { S: `${P}t` }, sk: { S: "h" }, kind: { S: "tomb" }, ver: { S: "1" }, ttl: { N: past } }
      ]
      for (const item of foreign) {
        yield* Effect.promise(() => raw.send(new PutItemCommand({ TableName: table, Item: item })))
      }
      const items = yield* rawItems(prefix)
      const progress = yield* sweepAll(config(prefix), { grace: 0 })
      expect(yield* rawItems(prefix)).toEqual(items)
      expect([progress.scanned, progress.unreferenced, progress.removed]).toEqual([items.size, 0, 0])
    }), 60_000)
})

describe("sweep's scope and progress", () => {
  it.scopedLive(
    "with a prefix it touches only that prefix's items (also when another prefix extends it)",
    () =>
      Effect.gen(function*() {
        const onTable = uniqueTable("sweep-prefixes")
        const base = freshPrefix()
        const proxy = yield* Proxy.make(endpoint())
        const stores = [undefined, base, `${base}2`, `${base}/x`] as const
        const cfg = (prefix: string | undefined, url = endpoint()) =>
          storeConfig(url, onTable, {
            ...(prefix === undefined ? {} : { prefix }),
            retry: { maxAttempts: 2, baseDelay: "2 millis" }
          })
        yield* Effect.addFinalizer(() => Effect.orDie(DynamoDBStore.deleteStore(cfg(undefined))))
        for (const prefix of stores) {
          const store = yield* DynamoDBStore.make(cfg(prefix, proxy.endpoint))
          yield* store.assoc("kept", bytes(MiB))
          proxy.setRule((r) => r.command === "UpdateItem" ? { _tag: "Reset" } : { _tag: "Pass" })
          yield* Effect.exit(quiet(store.assoc("orphaned", bytes(MiB))))
          proxy.setRule(undefined)
        }
        const before = yield* Effect.forEach(stores, (prefix) => rawItems(prefix, onTable))
        for (const [i, prefix] of stores.entries()) expect(chunksOf(before[i], prefix, "orphaned").length).toBe(3)
        yield* Effect.sleep("5 millis")

        const progress = yield* sweepAll(cfg(base), { grace: 0 })
        expect([progress.scanned, progress.removed]).toEqual([before[1].size, 3])
        const after = yield* Effect.forEach(stores, (prefix) => rawItems(prefix, onTable))
        expect(after[0]).toEqual(before[0])
        expect(minus(before[1], after[1])).toEqual(new Set(chunksOf(before[1], base, "orphaned").map(idOf)))
        expect(after[2]).toEqual(before[2])
        expect(after[3]).toEqual(before[3])

        // the store without a prefix is a store of its own too
        const unprefixed = yield* sweepAll(cfg(undefined), { grace: 0 })
        expect([unprefixed.scanned, unprefixed.removed]).toEqual([before[0].size, 3])
        expect(yield* rawItems(`${base}2`, onTable)).toEqual(before[2])
      }),
    60_000
  )

  it.scopedLive(
    "progress is cumulative over pages and parallel segments, and ends with done",
    () =>
      Effect.gen(function*() {
        const prefix = freshPrefix()
        const proxy = yield* Proxy.make(endpoint())
        const store = yield* DynamoDBStore.make(config(prefix, {}, proxy.endpoint))
        for (let i = 0; i < 4; i++) yield* store.assoc(`big${i}`, bytes(MiB))
        proxy.setRule((r) => r.command === "UpdateItem" ? { _tag: "Reset" } : { _tag: "Pass" })
        for (let i = 0; i < 3; i++) yield* Effect.exit(quiet(store.assoc(`lost${i}`, bytes(MiB))))
        proxy.setRule(undefined)
        const items = yield* rawItems(prefix)
        yield* Effect.sleep("5 millis")

        const all = Chunk.toReadonlyArray(
          yield* Stream.runCollect(DynamoDBStore.sweep(config(prefix, { scanSegments: 3 }), { grace: 0 })).pipe(
            Logger.withMinimumLogLevel(LogLevel.Error)
          )
        )
        expect(all.length).toBeGreaterThan(3)
        for (let i = 1; i < all.length; i++) {
          for (const field of ["scanned", "unreferenced", "removed", "bytesFreed"] as const) {
            expect(all[i][field]).toBeGreaterThanOrEqual(all[i - 1][field])
          }
        }
        expect(all.map((p) => p.done)).toEqual([...Array.from({ length: all.length - 1 }, () => false), true])
        const last = all[all.length - 1]
        expect([last.scanned, last.unreferenced, last.removed]).toEqual([items.size, 9, 9])
        expect(all[all.length - 2]).toEqual({ ...last, done: false })
      }),
    60_000
  )

  it.scopedLive(
    "takes the layerWithClient options and leaves the client open; a missing table is StoreNotFound",
    () =>
      Effect.gen(function*() {
        const client = new DynamoDBClient(clientConfig())
        yield* Effect.addFinalizer(() => Effect.sync(() => client.destroy()))
        const prefix = freshPrefix()
        const store = yield* DynamoDBStore.make(config(prefix))
        yield* store.assoc("k", bytes(MiB))
        const progress = yield* sweepAll({ client, table, prefix }, { grace: 0 })
        expect(progress.scanned).toBe(4)
        // the borrowed client still works
        const again = yield* sweepAll({ client, table, prefix }, { grace: 0 })
        expect(again.scanned).toBe(4)
        const missing = yield* failureCode(Stream.runDrain(DynamoDBStore.sweep({ client, table: uniqueTable("none") })))
        expect(missing).toBe("StoreNotFound")
        const invalid = yield* failureCode(
          Stream.runDrain(DynamoDBStore.sweep({ client, table }, { grace: "soon" as Duration.DurationInput }))
        )
        expect(invalid).toBe("InvalidConfiguration")
        // a negative or NaN grace is no grace of zero (Duration reads them as zero): refused
        for (const bad of ["-1 hours", -1, Number.NaN, "NaN millis"]) {
          const refused = yield* failureCode(
            Stream.runDrain(DynamoDBStore.sweep({ client, table }, { grace: bad as Duration.DurationInput }))
          )
          expect(refused).toBe("InvalidConfiguration")
        }
      }),
    60_000
  )
})

describe("sweep's reading of item keys (no I/O)", () => {
  it("finds the content id, index and key in a chunk's pk, whatever the key and prefix hold", () => {
    for (const prefix of [undefined, "p", "p:x", "c16:", "::"]) {
      for (const key of ["k", "a:b:c", "c16:AAAAAAAAAAAAAAAA:0:k", ":", "ünï/#"]) {
        const l = layout(prefix)
        const cid = "Zz-_0123456789ab"
        expect(Sweep.parseChunkPk(l.prefix, l.chunkPk(key, cid, 7))).toEqual({ cid, index: 7, key })
        // a head's pk alone can look like a chunk's (a key "c16:…:0:k"): the sort key tells them apart
        if (!key.startsWith("c")) expect(Sweep.parseChunkPk(l.prefix, l.headPk(key))).toBeUndefined()
      }
    }
    expect(Sweep.parseChunkPk(":", ":c16:short:0:k")).toBeUndefined()
    expect(Sweep.parseChunkPk(":", ":c3:abc:x:k")).toBeUndefined()
    expect(Sweep.parseChunkPk(":", ":c3:abc:0:")).toBeUndefined()
  })

  it("finds the generation in a log element's sort key, and nothing in other sort keys", () => {
    expect(Sweep.generationOf(logSk("0a1b2c3d4e5f", 42))).toBe("0a1b2c3d4e5f")
    for (const sk of ["h", "c", "l#", "l#g#1", "l#g#0000000000001", "x#g#000000000001", "l$"]) {
      expect(Sweep.generationOf(sk)).toBeUndefined()
    }
  })

  it("takes a head for past its use only once its TTL attribute has passed (and, unless a tombstone, its expiry)", () => {
    const now = 1_000_000_000
    const ttl = (seconds: number) => ({ N: String(seconds) })
    expect(Sweep.isDead({ kind: { S: "tomb" }, ttl: ttl(now / 1000 - 1) }, now)).toBe(true)
    expect(Sweep.isDead({ kind: { S: "tomb" }, ttl: ttl(now / 1000 + 1) }, now)).toBe(false)
    expect(Sweep.isDead({ kind: { S: "tomb" } }, now)).toBe(false)
    expect(Sweep.isDead({ kind: { S: "value" }, exp: { N: String(now - 1) }, ttl: ttl(now / 1000 - 1) }, now)).toBe(
      true
    )
    expect(Sweep.isDead({ kind: { S: "value" }, exp: { N: String(now + 1) }, ttl: ttl(now / 1000 - 1) }, now)).toBe(
      false
    )
    expect(Sweep.isDead({ kind: { S: "value" }, ttl: ttl(now / 1000 - 1) }, now)).toBe(false)
  })
})
