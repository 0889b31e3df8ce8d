/**
 * The feed's pure parts: stream records as changes (`records.ts`), the
 * reader's duplicate filter and its start (`feed.ts`), checkpoint decoding.
 */
import type { _Record } from "@aws-sdk/client-dynamodb-streams"
import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Codec from "../src/internal/codec.js"
import * as Checkpoint from "../src/internal/dynamodb/feed/checkpoint.js"
import * as Feed from "../src/internal/dynamodb/feed/feed.js"
import * as Records from "../src/internal/dynamodb/feed/records.js"
import type { Item } from "../src/internal/dynamodb/item.js"
import { layout } from "../src/internal/dynamodb/keyLayout.js"
import * as Version from "../src/internal/version.js"

const settings: Records.Settings = { layout: layout("p"), maxValueBytes: 1024 * 1024 }
const clock = Version.makeClock()

const head = (key: string, version: Uint8Array, extra: Item = {}): Item => ({
  pk: { S: `1:p:${key}` },
  sk: { S: "h" },
  kind: { S: "value" },
  ver: { B: version },
  lw: { N: "1000" },
  size: { N: "3" },
  ...extra
})

const tombstone = (key: string, version: Uint8Array): Item => ({
  pk: { S: `1:p:${key}` },
  sk: { S: "h" },
  kind: { S: "tomb" },
  ver: { B: version },
  lw: { N: "2000" },
  ttl: { N: "99" }
})

const record = (eventName: string, images: { readonly old?: Item; readonly new?: Item }, service = false): _Record =>
  ({
    eventName,
    ...(service ? { userIdentity: { Type: "Service", PrincipalId: "dynamodb.amazonaws.com" } } : {}),
    dynamodb: {
      SequenceNumber: "1",
      ...(images.old === undefined ? {} : { OldImage: images.old }),
      ...(images.new === undefined ? {} : { NewImage: images.new })
    }
  }) as _Record

const map = (r: _Record, now = 0) => Either.getOrThrow(Records.toChange(settings, r, now))
const op = (r: _Record, now = 0) => Option.map(map(r, now), (m) => m.change.op)

describe("records as changes", () => {
  it("a head write is a write with its meta and its inline value", () => {
    const v = clock.next()
    const bytes = Either.getOrThrow(Codec.encode({ a: 1 }))
    const size = { N: String(bytes.length) }
    const change = Option.getOrThrow(map(record("INSERT", { new: head("k", v, { size, val: { B: bytes } }) }))).change
    expect(change.op).toBe("write")
    expect(change.key).toBe("k")
    expect(change.version).toBe(Version.format(v))
    expect(change.value).toEqual(Option.some({ a: 1 }))
    expect(Option.map(change.meta, (m) => [m.type, m.size, m.version])).toEqual(
      Option.some(["value", bytes.length, Version.format(v)])
    )
  })

  it("a chunked value, a binary and a log have no value", () => {
    const v = clock.next()
    const chunked = head("k", v, {
      cid: { S: "abc" },
      chunks: { N: "1" },
      csize: { N: String(380 * 1024) },
      len: { N: "3" },
      crc: { N: "1" }
    })
    expect(Option.getOrThrow(map(record("INSERT", { new: chunked }))).change.value).toEqual(Option.none())
    const binary = head("b", v, { kind: { S: "binary" }, val: { B: new Uint8Array([1]) } })
    expect(Option.getOrThrow(map(record("INSERT", { new: binary }))).change.value).toEqual(Option.none())
  })

  it("chunks, log elements, checkpoints and other prefixes are no change", () => {
    const v = clock.next()
    expect(map(record("INSERT", { new: { pk: { S: "1:p:c3:abc:0:k" }, sk: { S: "c" }, val: { B: v } } }))).toEqual(
      Option.none()
    )
    expect(map(record("INSERT", { new: { pk: { S: "1:p:k" }, sk: { S: "l#g#000000000000" } } }))).toEqual(
      Option.none()
    )
    expect(map(record("MODIFY", { new: { pk: { S: "1:p:r" }, sk: { S: Checkpoint.SK_CHECKPOINT } } }))).toEqual(
      Option.none()
    )
    expect(map(record("INSERT", { new: { ...head("k", v), pk: { S: "2:p2:k" } } }))).toEqual(Option.none())
    expect(map(record("INSERT", { new: { ...head("k", v), pk: { S: ":k" } } }))).toEqual(Option.none())
  })

  it("a tombstone over a live head is a remove with the tombstone's version; over nothing or a tombstone, nothing", () => {
    const v1 = clock.next()
    const v2 = clock.next()
    const removed = Option.getOrThrow(map(record("MODIFY", { old: head("k", v1), new: tombstone("k", v2) })))
    expect(removed.change.op).toBe("remove")
    expect(removed.change.version).toBe(Version.format(v2))
    expect(map(record("INSERT", { new: tombstone("k", v2) }))).toEqual(Option.none())
    expect(map(record("MODIFY", { old: tombstone("k", v1), new: tombstone("k", v2) }))).toEqual(Option.none())
  })

  it("a head or tombstone with the batch marker has batch = its version; without it, none", () => {
    const v = clock.next()
    const w = clock.next()
    const batch = (r: _Record) => Option.getOrThrow(map(r)).change.batch
    expect(batch(record("INSERT", { new: head("k", v, { bt: { N: "1" } }) }))).toEqual(Option.some(Version.format(v)))
    expect(batch(record("MODIFY", { old: head("k", v, { bt: { N: "1" } }), new: head("k", w) }))).toEqual(Option.none())
    const marked = { ...tombstone("k", w), bt: { N: "1" } }
    expect(batch(record("MODIFY", { old: head("k", v), new: marked }))).toEqual(Option.some(Version.format(w)))
    expect(batch(record("MODIFY", { old: head("k", v), new: tombstone("k", w) }))).toEqual(Option.none())
    // an expiry is no batch's, whatever the head it removes says
    expect(batch(record("REMOVE", { old: head("k", v, { bt: { N: "1" } }) }, true))).toEqual(Option.none())
  })

  it("a head touched without a new version is no change", () => {
    const v = clock.next()
    expect(map(record("MODIFY", { old: head("k", v), new: head("k", v, { ttl: { N: "5" } }) }))).toEqual(
      Option.none()
    )
  })

  it("a TTL deletion is expire with the old version; of a tombstone, bookkeeping", () => {
    const v = clock.next()
    const expiring = head("k", v, { exp: { N: "500" } })
    // DynamoDB Local 3.3.0: an event name the SDK does not know
    const local = Option.getOrThrow(map(record("UNKNOWN_TO_SDK_VERSION", { old: expiring })))
    expect(local.change.op).toBe("expire")
    expect(local.change.version).toBe(Version.format(v))
    expect(op(record("REMOVE", { old: expiring }, true))).toEqual(Option.some("expire"))
    // sweep deleting an expired head
    expect(op(record("REMOVE", { old: expiring }), 1000)).toEqual(Option.some("expire"))
    // a plain deletion of a live head (deleteStore of the prefix)
    expect(op(record("REMOVE", { old: head("k", v) }), 1000)).toEqual(Option.some("remove"))
    expect(map(record("REMOVE", { old: tombstone("k", v) }, true))).toEqual(Option.none())
    expect(map(record("UNKNOWN_TO_SDK_VERSION", { old: tombstone("k", v) }))).toEqual(Option.none())
  })

  it("a head of the store this library could not have written is a DecodeError", () => {
    const v = clock.next()
    const bad = Records.toChange(settings, record("INSERT", { new: head("k", v, { kind: { S: "weird" } }) }), 0)
    expect(Either.isLeft(bad) && bad.left._tag).toBe("DecodeError")
    const noVersion = Records.toChange(settings, record("INSERT", { new: { ...head("k", v), ver: { S: "x" } } }), 0)
    expect(Either.isLeft(noVersion)).toBe(true)
    const badValue = Records.toChange(
      settings,
      record("INSERT", { new: head("k", v, { val: { B: new Uint8Array([9, 9, 9, 9, 9]) } }) }),
      0
    )
    expect(Either.isLeft(badValue)).toBe(true)
  })
})

describe("the reader", () => {
  it("drops duplicates and older versions of a key, keeps expire after its write", () => {
    const keep = Feed.makeDedupe()
    const v1 = clock.next()
    const v2 = clock.next()
    const w1 = Option.getOrThrow(map(record("INSERT", { new: head("k", v1) })))
    const w2 = Option.getOrThrow(map(record("MODIFY", { old: head("k", v1), new: head("k", v2) })))
    const e2 = Option.getOrThrow(map(record("REMOVE", { old: head("k", v2) }, true)))
    expect([keep(w1), keep(w1), keep(w2), keep(w1), keep(e2), keep(e2), keep(w2)]).toEqual([
      true,
      false,
      true,
      false,
      true,
      false,
      false
    ])
    // bounded: the oldest key is forgotten
    const small = Feed.makeDedupe(1)
    const other = Option.getOrThrow(map(record("INSERT", { new: head("o", v1) })))
    expect([small(w1), small(other), small(w1)]).toEqual([true, true, true])
  })

  it("skips what is older than its start less the margin", () => {
    const keep = Feed.makeDedupe()
    const now = Date.now()
    const at = (ms: number) => {
      const v = Version.makeClock().next()
      const micros = ms * 1000
      let rest = micros
      for (let i = 6; i >= 0; i--) {
        v[i] = rest % 256
        rest = Math.floor(rest / 256)
      }
      return v
    }
    const old = record("INSERT", { new: head("a", at(now - 60_000)) })
    const recent = record("INSERT", { new: head("b", at(now - 1_000)) })
    const removal = { ...record("REMOVE", { old: head("c", at(now - 90_000)) }, true) }
    const rounded = {
      ...removal,
      dynamodb: { ...removal.dynamodb, ApproximateCreationDateTime: new Date(now - 30_000) }
    }
    const out = Feed.changesOf(
      settings,
      { shardId: "s", records: [old, recent, rounded], position: "1" },
      now - 5_000,
      keep
    )
    expect(Either.getOrThrow(out).pipe((c) => Array.from(c, (x) => x.key))).toEqual(["b", "c"])
  })
})

describe("checkpoint items", () => {
  const item = (pos: string, rev = "1"): Item => ({ pos: { S: pos }, rev: { N: rev } })
  it("decodes what it saved", () => {
    const saved = Checkpoint.decode("r", item(JSON.stringify({ start: 5, shards: { s1: "12", s0: "done" } })))
    expect(saved).toEqual(Either.right({ revision: 1, position: { start: 5, shards: { s1: "12", s0: "done" } } }))
  })
  it("a tampered item is a DecodeError naming the checkpoint", () => {
    for (const bad of [item("{"), item("{\"start\":\"x\",\"shards\":{}}"), item("{\"start\":1,\"shards\":{}}", "0")]) {
      const decoded = Checkpoint.decode("r", bad)
      expect(Either.isLeft(decoded) && decoded.left._tag).toBe("DecodeError")
      expect(Either.isLeft(decoded) && decoded.left.message).toContain("checkpoint \"r\"")
    }
    expect(Either.isLeft(Checkpoint.decode("r", { rev: { N: "1" } }))).toBe(true)
  })
})
