/**
 * Shard lineage (DynamoDB Local does not split shards): `DescribeStream`,
 * `GetShardIterator` and `GetRecords` answered by the fault proxy from a
 * canned stream with a closed parent, its children and a grandchild, listed
 * out of order over two pages, with an expired iterator, trimmed data and
 * throttling on the way. The table itself (`DescribeTable`) is DynamoDB
 * Local's.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as DynamoDBStore from "../src/DynamoDBStore.js"
import * as Shards from "../src/internal/dynamodb/feed/shards.js"
import * as Version from "../src/internal/version.js"
import type { Change } from "../src/KonserveStore.js"
import { endpoint, storeConfig, uniqueTable } from "./utils/dynamodb.js"
import * as Proxy from "./utils/proxy.js"

interface CannedShard {
  readonly id: string
  readonly parent?: string
  readonly closed: boolean
  /** Keys written, in order. */
  readonly keys: ReadonlyArray<string>
}

const clock = Version.makeClock()

/** P (closed) → C1 (closed) → C3 (open); P → C2 (open). */
const lineage: ReadonlyArray<CannedShard> = [
  { id: "C1", parent: "P", closed: true, keys: ["a", "b", "c"] },
  { id: "C2", parent: "P", closed: false, keys: ["d", "e"] },
  { id: "P", closed: true, keys: ["a", "b", "d", "f", "g"] },
  { id: "C3", parent: "C1", closed: false, keys: ["a", "c"] }
]

/** Versions minted in lineage order, so each key's versions increase from parent to child. */
const versions = new Map<string, Array<string>>()
const order = ["P", "C1", "C2", "C3"]
for (const id of order) {
  const shard = lineage.find((s) => s.id === id)!
  versions.set(id, shard.keys.map(() => Buffer.from(clock.next()).toString("base64")))
}

const recordOf = (shard: CannedShard, index: number) => ({
  eventName: "MODIFY",
  dynamodb: {
    SequenceNumber: `${order.indexOf(shard.id)}${String(index).padStart(5, "0")}`,
    NewImage: {
      pk: { S: `1:p:${shard.keys[index]}` },
      sk: { S: "h" },
      kind: { S: "value" },
      ver: { B: versions.get(shard.id)![index] },
      lw: { N: "1" },
      size: { N: "1" }
    }
  }
})

const PAGE = 2
const error = (type: string) => ({
  _tag: "Answer" as const,
  status: 400,
  body: { __type: `com.amazonaws.dynamodb.v20120810#${type}`, message: "canned" }
})

/** The canned streams API; faults on the way: one expired iterator, one trimmed read, two throttles. */
const streamsRule = (): Proxy.Rule => {
  let expired = false
  let trimmed = false
  let throttled = 0
  return (request) => {
    const body = request.body as Record<string, string | undefined>
    switch (request.command) {
      case "DescribeStream": {
        const first = body.ExclusiveStartShardId === undefined
        const shards = (first ? lineage.slice(0, 2) : lineage.slice(2)).map((s) => ({
          ShardId: s.id,
          ...(s.parent === undefined ? {} : { ParentShardId: s.parent }),
          SequenceNumberRange: {
            StartingSequenceNumber: "0",
            ...(s.closed ? { EndingSequenceNumber: "999999" } : {})
          }
        }))
        return {
          _tag: "Answer",
          status: 200,
          body: {
            StreamDescription: {
              StreamStatus: "ENABLED",
              Shards: shards,
              ...(first ? { LastEvaluatedShardId: lineage[1].id } : {})
            }
          }
        }
      }
      case "GetShardIterator": {
        const shard = lineage.find((s) => s.id === body.ShardId)!
        const offset = body.ShardIteratorType === "AFTER_SEQUENCE_NUMBER"
          ? Number(body.SequenceNumber!.slice(1)) + 1
          : 0
        return { _tag: "Answer", status: 200, body: { ShardIterator: `${shard.id}:${offset}` } }
      }
      case "GetRecords": {
        if (throttled < 2) {
          throttled++
          return error("LimitExceededException")
        }
        const [id, at] = body.ShardIterator!.split(":")
        const shard = lineage.find((s) => s.id === id)!
        const offset = Number(at)
        if (id === "C1" && !expired) {
          expired = true
          return error("ExpiredIteratorException")
        }
        if (id === "P" && offset === PAGE && !trimmed) {
          trimmed = true
          return error("TrimmedDataAccessException")
        }
        const records = shard.keys.slice(offset, offset + PAGE).map((_, i) => recordOf(shard, offset + i))
        const next = offset + records.length
        const end = shard.closed && next >= shard.keys.length
        return {
          _tag: "Answer",
          status: 200,
          body: { Records: records, ...(end ? {} : { NextShardIterator: `${id}:${next}` }) }
        }
      }
      default:
        return { _tag: "Pass" }
    }
  }
}

describe("shard lineage through proxy-served answers", { timeout: 60_000 }, () => {
  it.scopedLive("parents before children, closed shards drained, expiry, trim and throttling recovered", () =>
    Effect.gen(function*() {
      const table = uniqueTable("lineage")
      yield* DynamoDBStore.make(storeConfig(endpoint(), table, { stream: true }))
      const proxy = yield* Proxy.make(endpoint())
      proxy.setRule(streamsRule())
      const total = lineage.reduce((n, s) => n + s.keys.length, 0)
      const changes: ReadonlyArray<Change> = Chunk.toReadonlyArray(
        yield* DynamoDBStore.changes(storeConfig(proxy.endpoint, table, { prefix: "p" }), {
          from: "oldest",
          pollInterval: "10 millis"
        }).pipe(Stream.take(total), Stream.runCollect)
      )
      const shardOf = (change: Change) =>
        order.find((id) => versions.get(id)!.includes(Buffer.from(Version.parse(change.version)!).toString("base64")))!
      const shards = changes.map(shardOf)
      // every record once
      expect(new Set(changes.map((c) => c.version)).size).toBe(total)
      const last = (id: string) => shards.lastIndexOf(id)
      const first = (id: string) => shards.indexOf(id)
      // the parent drained before its children start; C1 before its child C3
      expect(last("P")).toBeLessThan(first("C1"))
      expect(last("P")).toBeLessThan(first("C2"))
      expect(last("C1")).toBeLessThan(first("C3"))
      // within a shard, in order
      for (const id of order) {
        const keys = changes.filter((_, i) => shards[i] === id).map((c) => c.key)
        expect(keys).toEqual(lineage.find((s) => s.id === id)!.keys)
      }
      // per key, version order
      const byKey = new Map<string, Array<Uint8Array>>()
      for (const c of changes) byKey.set(c.key, [...(byKey.get(c.key) ?? []), Version.parse(c.version)!])
      for (const vs of byKey.values()) {
        for (let i = 1; i < vs.length; i++) expect(Version.compare(vs[i - 1], vs[i])).toBeLessThan(0)
      }
      expect(proxy.stats().Answer).toBeGreaterThan(total / PAGE)
    }))
})

describe("one page read ahead", () => {
  it.live("the next run starts while the consumer handles a result; runs never overlap; results in order", () =>
    Effect.gen(function*() {
      const started = yield* Effect.forEach(Array.from({ length: 7 }), () => Deferred.make<void>())
      let runs = 0
      let running = 0
      let overlapped = false
      const step = Effect.gen(function*() {
        const n = runs++
        running++
        if (running > 1) overlapped = true
        yield* Deferred.succeed(started[n], undefined)
        yield* Effect.sleep("5 millis")
        running--
        return n
      })
      // the consumer handles result n only once run n + 1 has started: without the read ahead, it waits forever
      const taken = yield* Shards.aheadByOne(step).pipe(
        Stream.take(5),
        Stream.tap((n) => Deferred.await(started[n + 1])),
        Stream.runCollect,
        Effect.timeout("5 seconds")
      )
      expect(Chunk.toReadonlyArray(taken)).toEqual([0, 1, 2, 3, 4])
      expect(overlapped).toBe(false)
      // one run ahead at most
      expect(runs).toBeLessThanOrEqual(6)
    }))
})
