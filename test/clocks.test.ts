/**
 * Writers whose clocks are minutes off (issue 14, items 1 and 2): store `a`
 * runs ahead or behind (`Version.testSkewMillis`, read when a store is
 * built) through the fault proxy, store `b` on time straight to the engine.
 * Whatever the skew, a write applies at most once, a removed key never comes
 * back, versions never decrease, and a writer behind is not sent to
 * `UnknownOutcome` more often than one on time: versions are anchored to
 * DynamoDB's clock (docs/consistency.md, "Clocks").
 */
import { DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as DynamoDBStore from "../src/DynamoDBStore.js"
import { HISTORY, SLOTS } from "../src/internal/dynamodb/history.js"
import { itemKey, layout, SK_HEAD } from "../src/internal/dynamodb/keyLayout.js"
import * as Version from "../src/internal/version.js"
import type { KonserveError } from "../src/KonserveError.js"
import { clientConfig, endpoint, storeConfig, uniqueTable } from "./utils/dynamodb.js"
import * as Proxy from "./utils/proxy.js"

const table = uniqueTable("clocks")
let prefixes = 0

const MINUTE = 60_000

/** `a` with its clock `skew` ms off, through the proxy; `b` on time, straight to the engine; one fresh prefix. */
const stores = (skew: number) =>
  Effect.gen(function*() {
    const proxy = yield* Proxy.make(endpoint())
    const prefix = `c${prefixes++}`
    const config = (url: string) => storeConfig(url, table, { prefix, retry: { baseDelay: "2 millis" } })
    const b = yield* DynamoDBStore.make(config(endpoint()))
    const a = yield* Effect.locally(DynamoDBStore.make(config(proxy.endpoint)), Version.testSkewMillis, skew)
    return { a, b, proxy, prefix }
  })

/** Runs another store's operation from inside the proxy (between "applied" and "answer lost"). */
const meanwhile = <A>(self: Effect.Effect<A, KonserveError>) => () => Effect.runPromise(self)

/** The versions a key's head remembers, newest first, read raw. */
const history = (prefix: string, key: string) =>
  Effect.acquireUseRelease(
    Effect.sync(() => new DynamoDBClient({ ...clientConfig(), maxAttempts: 1 })),
    (client) =>
      Effect.promise(async () => {
        const out = await client.send(
          new GetItemCommand({
            TableName: table,
            Key: itemKey(layout(prefix).headPk(key), SK_HEAD),
            ConsistentRead: true
          })
        )
        return SLOTS.map((slot) => out.Item?.[slot]?.B).filter((v): v is Uint8Array => v !== undefined && v.length > 0)
      }),
    (client) => Effect.sync(() => client.destroy())
  )

/** Each version once, newest first: no write applied twice, versions never decreasing. */
const strictlyDecreasing = (versions: ReadonlyArray<Uint8Array>) => {
  expect(versions.length).toBeLessThanOrEqual(HISTORY)
  for (let i = 1; i < versions.length; i++) expect(Version.compare(versions[i - 1], versions[i])).toBeGreaterThan(0)
}

const versionOf = (meta: Option.Option<{ readonly version: string }>): Uint8Array =>
  Version.parse(Option.getOrThrow(meta).version)!

const skews: ReadonlyArray<readonly [string, number]> = [
  ["15 minutes ahead", 15 * MINUTE],
  ["15 minutes behind", -15 * MINUTE],
  ["2 minutes ahead", 2 * MINUTE],
  ["2 minutes behind", -2 * MINUTE]
]

for (const [label, skew] of skews) {
  describe(`a writer ${label}`, () => {
    it.scopedLive("its assoc whose answer was lost, resent after another writer's dissoc: applied once, stays removed", () =>
      Effect.gen(function*() {
        const { a, b, prefix, proxy } = yield* stores(skew)
        let removed = false
        proxy.setRule(Proxy.loseFirst(
          "UpdateItem",
          1,
          meanwhile(Effect.map(b.dissoc("k"), (r) => {
            removed = r
          }))
        ))
        yield* a.assoc("k", "from-a")
        expect(proxy.stats().Lose).toBe(1)
        expect(removed).toBe(true)
        expect(yield* b.get("k")).toEqual(Option.none())
        const versions = yield* history(prefix, "k")
        expect(versions.length).toBe(2)
        strictlyDecreasing(versions)
      }))

    it.scopedLive("its ifAbsent lock whose answer was lost, released by another writer: not taken again", () =>
      Effect.gen(function*() {
        const { a, b, prefix, proxy } = yield* stores(skew)
        let released = false
        proxy.setRule(Proxy.loseFirst(
          "UpdateItem",
          1,
          meanwhile(Effect.map(b.dissoc("lock"), (r) => {
            released = r
          }))
        ))
        yield* a.assoc("lock", "A", { ifAbsent: true })
        expect(released).toBe(true)
        expect(yield* b.get("lock")).toEqual(Option.none())
        // b can take it now
        yield* b.assoc("lock", "B", { ifAbsent: true })
        expect(yield* b.get("lock")).toEqual(Option.some("B"))
        strictlyDecreasing(yield* history(prefix, "lock"))
      }))

    it.scopedLive("its dissoc whose answer was lost, resent after another writer re-created the key: the new value survives", () =>
      Effect.gen(function*() {
        const { a, b, prefix, proxy } = yield* stores(skew)
        // written by a, so that a's removal's version is past it whatever the clocks: its first attempt applies
        yield* a.assoc("k", "old")
        proxy.setRule(Proxy.loseFirst("UpdateItem", 1, meanwhile(b.assoc("k", "new"))))
        expect(yield* a.dissoc("k")).toBe(true)
        expect(yield* b.get("k")).toEqual(Option.some("new"))
        const versions = yield* history(prefix, "k")
        expect(versions.length).toBe(3)
        strictlyDecreasing(versions)
      }))

    it.scopedLive("another writer's blind assoc over its version: succeeds, and the key's version goes up", () =>
      Effect.gen(function*() {
        const { a, b, prefix } = yield* stores(skew)
        yield* a.assoc("k", "from-a")
        const before = versionOf(yield* b.getMeta("k"))
        yield* b.assoc("k", "from-b")
        const after = versionOf(yield* b.getMeta("k"))
        expect(Version.compare(after, before)).toBeGreaterThan(0)
        expect(yield* a.get("k")).toEqual(Option.some("from-b"))
        // and a's next write goes past b's
        yield* a.assoc("k", "from-a again")
        expect(Version.compare(versionOf(yield* b.getMeta("k")), after)).toBeGreaterThan(0)
        strictlyDecreasing(yield* history(prefix, "k"))
      }))
  })
}

describe("a writer behind is not sent to UnknownOutcome more often than one on time", () => {
  it.scopedLive("2 minutes behind, after 8 writes by a correct clock: its blind assoc whose answer was lost succeeds", () =>
    Effect.gen(function*() {
      const { a, b, proxy } = yield* stores(-2 * MINUTE)
      for (let i = 0; i < 8; i++) yield* b.assoc("k", i)
      proxy.setRule(Proxy.loseFirst("UpdateItem", 1))
      yield* a.assoc("k", "slow")
      expect(proxy.stats().Lose).toBe(1)
      expect(yield* b.get("k")).toEqual(Option.some("slow"))
    }))
})

describe("a clock that cannot be anchored: ClockSkew, nothing written", () => {
  it.scopedLive("a writer 30 minutes ahead fails its writes with ClockSkew naming the offset, and sends none", () =>
    Effect.gen(function*() {
      const { a, b, proxy } = yield* stores(30 * MINUTE)
      let updates = 0
      proxy.setRule((request) => {
        if (request.command === "UpdateItem" || request.command === "TransactWriteItems") updates++
        return { _tag: "Pass" }
      })
      for (
        const write of [
          a.assoc("k", 1),
          a.dissoc("k"),
          a.append("log", 1),
          a.multiAssoc({ x: 1, y: 2 }),
          a.multiDissoc(["x"])
        ] as ReadonlyArray<Effect.Effect<unknown, KonserveError>>
      ) {
        const error = yield* Effect.flip(write)
        expect(error._tag).toBe("DynamoDBError")
        if (error._tag === "DynamoDBError") {
          expect(error.code).toBe("ClockSkew")
          expect(error.message).toMatch(/of key "(k|log|x)"/)
          expect(error.message).toMatch(/clock is 1[78]\d\d s ahead of DynamoDB's/)
        }
      }
      expect(updates).toBe(0)
      expect(yield* b.get("k")).toEqual(Option.none())
      // reads go on working
      expect(yield* a.get("k")).toEqual(Option.none())
    }))

  it("an anchor that has seen no Date cannot mint; one answer bounds the offset within its round trip and a second", () => {
    const anchor = Version.makeAnchor(15 * MINUTE)
    expect(anchor.problem()).toMatch(/no answer from DynamoDB has told its time/)
    const sent = anchor.local()
    const date = Math.floor(Date.now() / 1000) * 1000
    anchor.observe(date, sent, anchor.local())
    expect(anchor.problem()).toBeUndefined()
    expect(Math.abs(anchor.offset()! + 15 * MINUTE)).toBeLessThan(1500)
    // a clock that agrees with the answers is not corrected
    const onTime = Version.makeAnchor()
    onTime.observe(date, Date.now(), Date.now())
    expect(onTime.offset()).toBe(0)
    // a clock anchored so mints versions on DynamoDB's time, not 15 minutes ahead
    const version = Version.makeClock(anchor).next()
    expect(Math.abs(Version.timeOf(version) / 1000 - Date.now())).toBeLessThan(1500)
  })
})
