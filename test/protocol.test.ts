/**
 * The write protocol's pure parts, without DynamoDB: versions, the head's
 * write history, the decisions after a failed condition, the request
 * builders and the planning of writes (docs/consistency.md).
 */
import type { AttributeValue } from "@aws-sdk/client-dynamodb"
import { describe, expect, it } from "@effect/vitest"
import * as FastCheck from "effect/FastCheck"
import * as HeadWrites from "../src/internal/dynamodb/headWrites.js"
import * as History from "../src/internal/dynamodb/history.js"
import type { Item, StoredHead } from "../src/internal/dynamodb/item.js"
import { stateOf } from "../src/internal/dynamodb/item.js"
import { layout as makeLayout } from "../src/internal/dynamodb/keyLayout.js"
import * as Plan from "../src/internal/dynamodb/plan.js"
import type { HeadWrite } from "../src/internal/dynamodb/requests/index.js"
import * as Requests from "../src/internal/dynamodb/requests/index.js"
import * as Resolve from "../src/internal/dynamodb/resolve.js"
import { TRANSACTION_BYTES } from "../src/internal/limits.js"
import * as Version from "../src/internal/version.js"

const layout = makeLayout("p")
const read = (item: Item | undefined) => stateOf(layout, item)
const clock = Version.makeClock()

/** Versions in increasing order. */
const versions = (n: number): Array<Uint8Array> => Array.from({ length: n }, () => clock.next())

/** A head item whose history is `history` (newest first) and whose other attributes are `extra`. */
const headItem = (history: ReadonlyArray<Uint8Array>, extra: Item = {}): Item => {
  const item: Item = { pk: { S: layout.headPk("k") }, sk: { S: "h" }, kind: { S: "value" }, lw: { N: "1" }, ...extra }
  History.SLOTS.forEach((slot, i) => {
    item[slot] = { B: history[i] ?? History.EMPTY }
  })
  return item
}

const write = (version: Uint8Array, overrides: Partial<HeadWrite> = {}): HeadWrite => ({
  key: "k",
  pk: layout.headPk("k"),
  operation: "assoc",
  fields: {
    kind: "value",
    version,
    lastWrite: 1,
    size: 1,
    expiresAt: undefined,
    sweepAt: undefined,
    user: undefined,
    content: { _tag: "Inline", bytes: new Uint8Array([1]) }
  },
  condition: { _tag: "None" },
  guard: { _tag: "NoContent" },
  now: 1000,
  ...overrides
})

describe("versions", () => {
  it("a clock's versions strictly increase, also past a version it is asked to follow", () => {
    const minted = versions(1000)
    for (let i = 1; i < minted.length; i++) expect(Version.compare(minted[i - 1], minted[i])).toBeLessThan(0)
    const ahead = Version.makeClock().next()
    // a version from a clock an hour ahead
    const future = new Uint8Array(ahead)
    future[3] = (future[3] + 1) % 256
    future[2] = future[2] + (future[3] === 0 ? 1 : 0)
    const after = clock.next(future)
    expect(Version.compare(after, future)).toBeGreaterThan(0)
    expect(Version.compare(clock.next(), after)).toBeGreaterThan(0)
  })

  it("a version far ahead of this machine's clock (made up, or from a broken clock) is not followed", () => {
    const own = Version.makeClock()
    for (const madeUp of ["zzzzzzzzzzzzzzzz", "________________", "_____________8A_"]) {
      const before = Date.now() * 1000
      const next = own.next(Version.parse(madeUp))
      expect(Version.timeOf(next)).toBeGreaterThanOrEqual(before)
      expect(Version.timeOf(next)).toBeLessThan(Date.now() * 1000 + Version.MAX_AHEAD_MICROS)
      // and the clock goes on from the machine's time
      expect(Version.timeOf(own.next()) - Version.timeOf(next)).toBeLessThan(1_000_000)
    }
  })

  it("format and parse are inverse; other strings are no version", () => {
    FastCheck.assert(FastCheck.property(FastCheck.uint8Array({ minLength: 12, maxLength: 12 }), (bytes) => {
      expect(Version.parse(Version.format(bytes))).toEqual(bytes)
    }))
    for (const text of ["", "nope", "x".repeat(15), "x".repeat(17), "!".repeat(16)]) {
      expect(Version.parse(text)).toBeUndefined()
    }
  })
})

describe("the write history", () => {
  it("remembers its versions; covers a version when it is complete or reaches back past it", () => {
    const [a, b, c] = versions(3)
    const short = History.traceOf(headItem([c, a]))
    expect(short.complete).toBe(true)
    expect(History.remembers(short, a)).toBe(true)
    expect(History.remembers(short, b)).toBe(false)
    expect(History.verdict(short, b, true)).toBe("NotApplied")
    const all = versions(History.HISTORY + 2)
    // the newest HISTORY versions, newest first: the two oldest pushed out
    const full = History.traceOf(headItem(all.slice(2).reverse()))
    expect(full.complete).toBe(false)
    expect(History.verdict(full, all[0], true)).toBe("Unknown")
    expect(History.verdict(full, all[0], false)).toBe("NotApplied")
    expect(History.verdict(full, all[5], true)).toBe("Applied")
    // a version between the oldest remembered and the newest that is not there: never applied
    const older = versions(History.HISTORY / 2)
    const gap = versions(1)[0]
    const later = History.traceOf(headItem([...older, ...versions(History.HISTORY / 2)].reverse()))
    expect(History.covers(later, gap)).toBe(true)
    expect(History.verdict(later, gap, true)).toBe("NotApplied")
    expect(History.verdict(History.traceOf(undefined), gap, true)).toBe("NotApplied")
  })
})

describe("what a failed condition means", () => {
  const next = (after?: Uint8Array) => clock.next(after)

  it("the head remembers the write: applied", () => {
    const [base, mine, theirs] = versions(3)
    const step = Resolve.headWrite({
      read,
      item: headItem([theirs, mine, base]),
      write: write(mine),
      ambiguous: true,
      next
    })
    expect(step._tag).toBe("Applied")
  })

  it("an ambiguous write that HISTORY newer writes pushed out: unknown; the same without ambiguity: re-sent", () => {
    const [mine, ...newer] = versions(History.HISTORY + 1)
    const item = headItem([...newer].reverse())
    expect(Resolve.headWrite({ read, item, write: write(mine), ambiguous: true, next })._tag).toBe("Unknown")
    const step = Resolve.headWrite({ read, item, write: write(mine), ambiguous: false, next })
    expect(step._tag).toBe("Replan")
    if (step._tag === "Replan") {
      // a fresh version past the head's: the old one can never apply
      expect(Version.compare(step.write.fields.version, newer[newer.length - 1])).toBeGreaterThan(0)
      expect([step.ambiguous, step.contended]).toEqual([false, true])
    }
  })

  it("the user's condition does not hold: refused", () => {
    const [current, mine, other] = versions(3)
    const item = headItem([current])
    expect(
      Resolve.headWrite({ read, item, write: write(mine, { condition: { _tag: "Absent" } }), ambiguous: true, next })
        ._tag
    )
      .toBe("Refused")
    expect(
      Resolve.headWrite({
        read,
        item,
        write: write(mine, { condition: { _tag: "Version", version: other } }),
        ambiguous: false,
        next
      })
        ._tag
    ).toBe("Refused")
    // a tombstone and an expired head are absent: not refused, and a removal of them is
    const tombstone = headItem([current], { kind: { S: "tomb" } })
    expect(
      Resolve.headWrite({
        read,
        item: tombstone,
        write: write(mine, { condition: { _tag: "Live" } }),
        ambiguous: true,
        next
      })._tag
    )
      .toBe("Refused")
    const expired = headItem([current], { exp: { N: "999" } })
    expect(
      Resolve.headWrite({
        read,
        item: expired,
        write: write(mine, { condition: { _tag: "Absent" } }),
        ambiguous: true,
        next
      })._tag
    )
      .toBe("Replan")
  })

  it("a failed condition without the head it failed on: unknown after an ambiguous attempt, unless it needs one", () => {
    const [base, mine] = versions(2)
    // a blind write cannot fail on no item: the answer lacks the head
    expect(Resolve.headWrite({ read, item: undefined, write: write(mine), ambiguous: true, next })._tag).toBe("Unknown")
    expect(
      Resolve.headWrite({
        read,
        item: undefined,
        write: write(mine, { condition: { _tag: "Absent" } }),
        ambiguous: true,
        next
      })._tag
    )
      .toBe("Unknown")
    // an ifVersion (or a removal) fails on no item: refused, decided
    const versioned = write(mine, { condition: { _tag: "Version", version: base } })
    expect(Resolve.headWrite({ read, item: undefined, write: versioned, ambiguous: true, next })._tag).toBe("Refused")
    expect(
      Resolve.headWrite({
        read,
        item: undefined,
        write: write(mine, { condition: { _tag: "Live" } }),
        ambiguous: true,
        next
      })._tag
    )
      .toBe("Refused")
  })

  it("a removal on a version (dissoc ifVersion): applied when the tombstone remembers it, else refused", () => {
    const [base, mine, other] = versions(3)
    const removal = HeadWrites.removal({
      key: "k",
      pk: layout.headPk("k"),
      version: mine,
      now: 1000,
      condition: { _tag: "Version", version: base }
    })
    // its answer lost, then resent: the tombstone it left (or a write on top of it) remembers it
    expect(
      Resolve.headWrite({
        read,
        item: headItem([mine, base], { kind: { S: "tomb" } }),
        write: removal,
        ambiguous: true,
        next
      })._tag
    )
      .toBe("Applied")
    expect(Resolve.headWrite({ read, item: headItem([other, mine, base]), write: removal, ambiguous: true, next })._tag)
      .toBe("Applied")
    // rewritten or removed by another writer before it: refused, decided (the head covers its version)
    expect(Resolve.headWrite({ read, item: headItem([other, base]), write: removal, ambiguous: true, next })._tag).toBe(
      "Refused"
    )
    expect(
      Resolve.headWrite({
        read,
        item: headItem([other, base], { kind: { S: "tomb" } }),
        write: removal,
        ambiguous: true,
        next
      })._tag
    )
      .toBe("Refused")
    // gone altogether
    expect(Resolve.headWrite({ read, item: undefined, write: removal, ambiguous: true, next })._tag).toBe("Refused")
  })

  it("re-planned on a fresh version without a newer head in the way: the old attempts' ambiguity is kept", () => {
    const [older, mine] = versions(2)
    // an expired head without content: the Absent write's condition holds as far as the store can tell
    const expired = headItem([older], { exp: { N: "999" } })
    const step = Resolve.headWrite({
      read,
      item: expired,
      write: write(mine, { condition: { _tag: "Absent" } }),
      ambiguous: true,
      next
    })
    expect(step._tag).toBe("Replan")
    if (step._tag === "Replan") expect(step.ambiguous).toBe(true)
  })

  it("a head with chunks in the way of a blind write: pinned to it, same version, ambiguity kept", () => {
    const [current, mine] = versions(2)
    const chunked: Record<string, AttributeValue> = {
      cid: { S: "c".repeat(16) },
      chunks: { N: "3" },
      csize: { N: String(Plan.CHUNK_BYTES) },
      len: { N: "800000" },
      crc: { N: "7" },
      size: { N: "800000" }
    }
    const step = Resolve.headWrite({
      read,
      item: headItem([current], chunked),
      write: write(mine),
      ambiguous: true,
      next
    })
    expect(step._tag).toBe("Replan")
    if (step._tag === "Replan") {
      expect(step.write.guard._tag).toBe("Pinned")
      expect((step.write.guard as { readonly head: StoredHead }).head.manifest?.chunks).toBe(3)
      expect(step.write.fields.version).toEqual(mine)
      expect([step.ambiguous, step.contended]).toEqual([true, false])
    }
  })

  it("a transaction: one head that remembers decides applied, one that covers decides not applied", () => {
    const [base, mine, other] = versions(3)
    const writes = [write(mine), write(mine, { key: "j" })]
    const failed = (item: Item) => ({ Code: "ConditionalCheckFailed", Item: item })
    expect(
      Resolve.transactionVerdict({
        reasons: [failed(headItem([mine, base])), failed(headItem([other]))],
        writes,
        ambiguous: true
      }).verdict
    )
      .toBe("Applied")
    expect(
      Resolve.transactionVerdict({
        reasons: [failed(headItem([other, base])), { Code: "None" }],
        writes,
        ambiguous: true
      }).verdict
    )
      .toBe("NotApplied")
    const pushedOut = headItem([...versions(History.HISTORY)].reverse())
    expect(
      Resolve.transactionVerdict({ reasons: [failed(pushedOut), failed(pushedOut)], writes, ambiguous: true }).verdict
    ).toBe("Unknown")
    // a head gone under an ifVersion: never applied there
    const versioned = [write(mine, { condition: { _tag: "Version", version: base } })]
    expect(
      Resolve.transactionVerdict({ reasons: [{ Code: "ConditionalCheckFailed" }], writes: versioned, ambiguous: true })
        .verdict
    ).toBe("NotApplied")
    expect(
      Resolve.transactionVerdict({
        reasons: [{ Code: "ConditionalCheckFailed" }],
        writes: [write(mine)],
        ambiguous: true
      }).verdict
    ).toBe(
      "Unknown"
    )
  })
})

describe("request builders", () => {
  it("a head write sets the whole head, shifts the history, and removes what it does not set", () => {
    const [version] = versions(1)
    const input = Requests.updateHead("t", write(version))
    const expression = input.UpdateExpression!
    expect(expression).toContain("r7 = if_not_exists(r6, :nil)")
    expect(expression).toContain("r1 = if_not_exists(ver, :nil)")
    expect(expression).toContain("ver = :ver")
    expect(expression).toMatch(/REMOVE .*cid.*gen/)
    expect(input.ConditionExpression).toContain("ver < :ver")
    expect(input.ConditionExpression).toContain("attribute_not_exists(cid) AND attribute_not_exists(gen)")
    expect(input.ReturnValuesOnConditionCheckFailure).toBe("ALL_OLD")
    // every placeholder used is declared, and every one declared is used (DynamoDB rejects both)
    const text = `${expression} ${input.ConditionExpression}`
    for (const name of Object.keys(input.ExpressionAttributeNames ?? {})) expect(text).toContain(name)
    for (const value of Object.keys(input.ExpressionAttributeValues!)) expect(text).toContain(value)
    for (const used of text.match(/[#:][a-z][a-z0-9]*/g)!) {
      expect({ ...input.ExpressionAttributeNames, ...input.ExpressionAttributeValues }).toHaveProperty(used)
    }
  })

  it("a removal on a version is a tombstone conditioned on that version and a live head", () => {
    const [base, mine] = versions(2)
    const input = Requests.updateHead(
      "t",
      HeadWrites.removal({
        key: "k",
        pk: layout.headPk("k"),
        version: mine,
        now: 1000,
        condition: { _tag: "Version", version: base }
      })
    )
    expect(input.ExpressionAttributeValues![":kind"]).toEqual({ S: "tomb" })
    expect(input.ConditionExpression).toContain("ver < :ver")
    expect(input.ConditionExpression).toContain("ver = :base")
    expect(input.ConditionExpression).toContain("kind <> :tomb")
    expect(input.ExpressionAttributeValues![":base"]).toEqual({ B: base })
    expect(input.ExpressionAttributeValues![":ver"]).toEqual({ B: mine })
  })

  it("the size of a head counts its history", () => {
    const [version] = versions(1)
    const fields = write(version).fields
    expect(Requests.headSize("k", fields)).toBeGreaterThan(History.HISTORY * Version.BYTES)
  })
})

describe("planning", () => {
  it("inline up to the item limit, then chunks under a fresh content id", () => {
    expect(Plan.content(new Uint8Array(1000), 200).content._tag).toBe("Inline")
    const big = Plan.content(new Uint8Array(Plan.INLINE_ITEM_BYTES), 200)
    expect(big.content._tag).toBe("Chunked")
    expect(big.pieces.length).toBe(1)
    const huge = Plan.content(new Uint8Array(3 * Plan.CHUNK_BYTES + 1), 200)
    expect(huge.pieces.map((piece) => piece.length)).toEqual([
      Plan.CHUNK_BYTES,
      Plan.CHUNK_BYTES,
      Plan.CHUNK_BYTES,
      1
    ])
  })

  it("a transaction over its size moves the largest inline values to chunks, only as many as needed", () => {
    // 11 × 300 kB, one of 350 kB, two small: 3.65 MB, over the 3.5 MB aimed at
    const sizes = [300_000, 100, 300_000, 1_000, 350_000, ...Array.from({ length: 9 }, () => 300_000)]
    const chunkedSizes = sizes.map(() => 1_200)
    const chunked = Plan.transaction(sizes, chunkedSizes)
    const left = sizes.reduce((sum, size, i) => sum + (chunked.has(i) ? chunkedSizes[i] : size), 0)
    expect(left).toBeLessThanOrEqual(TRANSACTION_BYTES)
    // the largest went, and nothing else was needed
    expect(chunked).toEqual(new Set([4]))
    expect(Plan.transaction([1000, 2000], [1200, 1200]).size).toBe(0)
    expect(Plan.transaction([Plan.INLINE_ITEM_BYTES + 1], [1200])).toEqual(new Set([0]))
    // what moving a value saves counts, not its size alone: a big meta stays with its head
    const withMetas = [...Array.from({ length: 12 }, () => 300_000), 250_000]
    const withMetasChunked = [...Array.from({ length: 12 }, () => 201_000), 2_000]
    const moved = Plan.transaction(withMetas, withMetasChunked)
    expect(moved.size).toBe(3)
    expect(moved.has(12)).toBe(true)
  })
})

describe("settling after a failed request (issue 14, clocks)", () => {
  /** A version `micros` after `base`, with its random part. */
  const shifted = (base: Uint8Array, micros: number): Uint8Array => {
    const time = Version.timeOf(base) + micros
    const out = new Uint8Array(base)
    let rest = time
    for (let i = 6; i >= 0; i--) {
      out[i] = rest % 256
      rest = Math.floor(rest / 256)
    }
    return out
  }
  const HOUR = 3600 * 1_000_000

  it("a head past the write's version that reaches back to it decides 'never applied', against the version's horizon", () => {
    const [older, mine] = versions(2)
    // 23 hours past the write: within the horizon every attempt of it carried, so its condition fails for good
    expect(Resolve.settled(headItem([shifted(mine, 23 * HOUR), older]), mine)).toBe("NotApplied")
    // more than a day past it: garbage to a held attempt of it, which could still overwrite it: undecided
    expect(Resolve.settled(headItem([shifted(mine, 25 * HOUR), older]), mine)).toBe("Unknown")
    expect(Resolve.settled(headItem([shifted(mine, 1), mine, older]), mine)).toBe("Applied")
    expect(Resolve.settled(undefined, mine)).toBe("Unknown")
  })

  it("the horizon a write's requests carry depends on its version alone, a day past it", () => {
    const [mine] = versions(1)
    expect(Version.equals(Version.horizonOf(mine), Version.horizonOf(new Uint8Array(mine)))).toBe(true)
    expect(Version.timeOf(Version.horizonOf(mine)) - Version.timeOf(mine)).toBe(Version.HORIZON_MICROS)
    const input = Requests.updateHead("t", write(mine))
    expect(input.ExpressionAttributeValues?.[":horizon"]).toEqual({ B: Version.horizonOf(mine) })
  })
})

describe("transaction requests", () => {
  it("a version check: a live head of that version, every placeholder declared and used", () => {
    const [version] = versions(1)
    const { ConditionCheck } = Requests.transactVersion("t", layout.headPk("k"), version, 1000)
    expect(ConditionCheck?.ExpressionAttributeValues).toEqual({
      ":ver": { B: version },
      ":tomb": { S: "tomb" },
      ":now": { N: "1000" }
    })
    const text = ConditionCheck!.ConditionExpression!
    for (const used of text.match(/[#:][a-z]+/g)!) {
      expect({ ...ConditionCheck!.ExpressionAttributeNames, ...ConditionCheck!.ExpressionAttributeValues })
        .toHaveProperty(used)
    }
  })

  it("a transaction carries its token when it has one, and no token field else", () => {
    const items = [Requests.transactAbsent("t", layout.headPk("k"), 1000)]
    expect(Requests.transactWrite(items, "token")).toEqual({ TransactItems: items, ClientRequestToken: "token" })
    expect(Requests.transactWrite(items)).not.toHaveProperty("ClientRequestToken")
  })
})
