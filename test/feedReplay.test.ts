/**
 * The feed as a replica's source: three writer stores (separate clients)
 * write a random workload through the fault proxy (lost answers, resets,
 * throttles); a consumer of `DynamoDBStore.changes`, replaying each change
 * onto a `MemoryStore` (values via `get` when the change has none), ends
 * equal to the table, and saw each key's final version; every version it
 * saw of a key is one the table's history can have (increasing per key).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { randomBytes } from "node:crypto"
import * as DynamoDBStore from "../src/DynamoDBStore.js"
import * as Version from "../src/internal/version.js"
import type { Change, KonserveStore } from "../src/KonserveStore.js"
import * as MemoryStore from "../src/MemoryStore.js"
import { endpoint, storeConfig, uniqueTable } from "./utils/dynamodb.js"
import * as Proxy from "./utils/proxy.js"

const KEYS = Array.from({ length: 8 }, (_, i) => `k${i}`)
const END = "end"

/** One random operation of a writer. */
const operation = (store: KonserveStore, next: () => number, writer: number, i: number) => {
  const key = KEYS[Math.floor(next() * KEYS.length)]
  const r = next()
  const write = r < 0.35
    ? store.assoc(key, { writer, i })
    : r < 0.5
    ? store.update(key, (v) => ({ n: ((Option.getOrUndefined(v) as { n?: number } | undefined)?.n ?? 0) + 1 }))
    : r < 0.65
    ? store.dissoc(key)
    : r < 0.8
    ? store.multiAssoc({ [key]: writer, [KEYS[(KEYS.indexOf(key) + 1) % KEYS.length]]: i })
    : r < 0.9
    ? store.multiDissoc([key])
    : store.assoc(key, randomBytes(300_000).toString("base64"))
  // a write whose outcome stayed unknown, or that lost a race, is part of the workload
  return Effect.ignore(write)
}

/** Replays one change onto the replica. */
const replay = (replica: KonserveStore, source: KonserveStore, change: Change) =>
  change.op === "write"
    ? Option.match(change.value, {
      onSome: (value) => replica.assoc(change.key, value),
      onNone: () =>
        Effect.flatMap(source.get(change.key), (current) =>
          Option.match(current, {
            onSome: (value) => replica.assoc(change.key, value),
            onNone: () => Effect.asVoid(replica.dissoc(change.key))
          }))
    })
    : replica.dissoc(change.key)

describe("a replica from the feed", { timeout: 120_000 }, () => {
  it.scopedLive("ends equal to the table after a random workload with faults from three writers", () =>
    Effect.gen(function*() {
      const table = uniqueTable("replay")
      const direct = storeConfig(endpoint(), table, { prefix: "r", stream: true })
      const source = yield* DynamoDBStore.make(direct)
      const proxy = yield* Proxy.make(endpoint())
      const next = Proxy.random(1234)
      proxy.setRule(Proxy.planned({
        commands: ["UpdateItem", "TransactWriteItems", "BatchWriteItem", "GetItem"],
        lose: 0.08,
        reset: 0.04,
        throttle: 0.08
      }, next))
      const writers = yield* Effect.all(
        [0, 1, 2].map(() => DynamoDBStore.make(storeConfig(proxy.endpoint, table, { prefix: "r" }))),
        { concurrency: 3 }
      )
      const replica = yield* MemoryStore.make()
      const seen: Array<Change> = []
      const consumer = yield* DynamoDBStore.changes(direct, { from: "oldest", pollInterval: "20 millis" }).pipe(
        Stream.tap((change) => Effect.sync(() => seen.push(change))),
        Stream.takeUntil((change) => change.key === END),
        Stream.runForEach((change) => change.key === END ? Effect.void : replay(replica, source, change)),
        Effect.fork
      )
      yield* Effect.all(
        writers.map((store, writer) =>
          Effect.forEach(Array.from({ length: 20 }, (_, i) => i), (i) => operation(store, next, writer, i))
        ),
        { concurrency: 3 }
      )
      proxy.setRule(undefined)
      yield* source.assoc(END, true)
      yield* consumer.await
      // the replica holds what the table holds
      const listed = Chunk.toReadonlyArray(yield* Stream.runCollect(source.keys)).filter((m) => m.key !== END)
      const replicated = Chunk.toReadonlyArray(yield* Stream.runCollect(replica.keys))
      expect(replicated.map((m) => m.key).sort()).toEqual(listed.map((m) => m.key).sort())
      for (const meta of listed) {
        expect(yield* replica.get(meta.key)).toEqual(yield* source.get(meta.key))
        // the key's last write reached the feed
        expect(seen.some((c) => c.key === meta.key && c.version === meta.version)).toBe(true)
      }
      // per key, the versions seen only increase
      const last = new Map<string, Uint8Array>()
      for (const change of seen) {
        const version = Version.parse(change.version)!
        const before = last.get(change.key)
        if (before !== undefined) expect(Version.compare(before, version)).toBeLessThanOrEqual(0)
        last.set(change.key, version)
      }
      const stats = proxy.stats()
      expect(stats.Lose + stats.Reset + stats.Throttle).toBeGreaterThan(0)
    }))
})
