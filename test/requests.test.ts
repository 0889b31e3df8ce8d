/**
 * The request builders and the key layout, without DynamoDB: every request's
 * expression placeholders match its names and values (DynamoDB rejects an
 * unused one), the requests are the ones the store has always sent, and the
 * key layout parses what it builds.
 */
import type { AttributeValue } from "@aws-sdk/client-dynamodb"
import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Item from "../src/internal/dynamodb/item.js"
import * as KeyLayout from "../src/internal/dynamodb/keyLayout.js"
import * as Requests from "../src/internal/dynamodb/requests/index.js"
import * as Version from "../src/internal/version.js"

const TABLE = "t"
const layout = KeyLayout.layout("p")
const version = Version.makeClock().next()

/**
 * The attribute names DynamoDB reserves among the table's: OWNER, SIZE and
 * TTL (of its list of reserved words, https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ReservedWords.html;
 * none of pk, sk, kind, ver, lw, exp, meta, val, cid, chunks, len, csize,
 * crc, gen, el, lchunked, idx, wt, bt, r1 to r7 is on it). DynamoDB Local
 * refuses `owner` and `ttl` but takes `size`: the list is the authority.
 */
const RESERVED = new Set(["owner", "size", "ttl"])

/** An expression as the store writes it: `#name` placeholders only for reserved names. */
const bare = (expression: string): string =>
  expression.replace(/#([a-z][a-z0-9]*)/g, (placeholder, name: string) => RESERVED.has(name) ? placeholder : name)

/** The names map of an expression written with `bare`: its reserved names, or none (no map is sent). */
const namesOf = (expression: string): Record<string, string> | undefined => {
  const used: Record<string, string> = {}
  for (const match of expression.matchAll(/#([a-z][a-z0-9]*)/g)) used[`#${match[1]}`] = match[1]
  return Object.keys(used).length === 0 ? undefined : used
}

const EXPRESSIONS = [
  "KeyConditionExpression",
  "FilterExpression",
  "ProjectionExpression",
  "ConditionExpression",
  "UpdateExpression"
] as const

type WithExpressions =
  & { readonly [E in (typeof EXPRESSIONS)[number]]?: string | undefined }
  & {
    readonly ExpressionAttributeNames?: Record<string, string> | undefined
    readonly ExpressionAttributeValues?: Record<string, AttributeValue> | undefined
  }

const expressionsOf = (request: WithExpressions): string =>
  EXPRESSIONS.map((name) => request[name]).filter((e): e is string => e !== undefined).join(" ")

/**
 * Every `#x` of the expressions is in the names and every name is used (as
 * `namesOf` would have made them); the same for the `:x` values.
 */
const expectConsistent = (request: WithExpressions) => {
  const expressions = expressionsOf(request)
  const names = request.ExpressionAttributeNames ?? {}
  expect(new Set(expressions.match(/#[A-Za-z0-9_]+/g) ?? [])).toEqual(new Set(Object.keys(names)))
  expect(names).toEqual(namesOf(expressions) ?? {})
  // a bare name is never a reserved word
  for (const word of expressions.match(/(?<![#:A-Za-z0-9_])[a-z][a-z0-9]*(?![A-Za-z0-9_(])/g) ?? []) {
    expect(RESERVED.has(word)).toBe(false)
  }
  expect(new Set(expressions.match(/:[A-Za-z0-9_]+/g) ?? [])).toEqual(
    new Set(Object.keys(request.ExpressionAttributeValues ?? {}))
  )
}

const HEAD_PROJECTION = bare(
  "#pk, #kind, #ver, #lw, #size, #exp, #meta, #cid, #chunks, #csize, #len, #crc, #gen, #lchunked"
)

/** Every request the builders make, by name (the head writes' own ones apart). */
const requests = (): Record<string, WithExpressions> => {
  const pk = layout.headPk("k")
  const keys = [KeyLayout.itemKey(pk, KeyLayout.SK_HEAD)]
  return {
    "getHead head": Requests.getHead(TABLE, pk, "head", true),
    "getHead value": Requests.getHead(TABLE, pk, "value", false),
    "getHead whole": Requests.getHead(TABLE, pk, "whole", true),
    "headsRead": Requests.batchGet(TABLE, Requests.headsRead("value", true), keys).RequestItems![TABLE],
    "chunksRead": Requests.batchGet(TABLE, Requests.chunksRead(false), keys).RequestItems![TABLE],
    "logQuery": Requests.logQuery(TABLE, pk, true),
    "generationContent": Requests.generationContent(TABLE, pk, "g"),
    "listScan": Requests.listScan(TABLE, layout.prefix, true, 0, 1),
    "listScan segment": Requests.listScan(TABLE, layout.prefix, false, 2, 4),
    "prefixScan": Requests.prefixScan(TABLE, layout.prefix, false),
    "prefixScan heads": Requests.prefixScan(TABLE, layout.prefix, true),
    "sweepScan": Requests.sweepScan(TABLE, layout.prefix, 1, 3),
    "ownerHeadsRead": Requests.batchGet(TABLE, Requests.ownerHeadsRead, keys).RequestItems![TABLE],
    "elementCids": Requests.elementCids(TABLE, pk, "g"),
    "deleteDeadHead": Requests.deleteDeadHead(TABLE, pk, version),
    "getCheckpoint": Requests.getCheckpoint(TABLE, pk),
    "saveCheckpoint first": Requests.saveCheckpoint(TABLE, pk, "{}", 0),
    "saveCheckpoint next": Requests.saveCheckpoint(TABLE, pk, "{}", 3)
  }
}

describe("request builders", () => {
  it("every placeholder of every request is in its names or values, and every name and value is used", () => {
    for (const [name, request] of Object.entries(requests())) {
      try {
        expectConsistent(request)
      } catch (error) {
        throw new Error(`${name}: ${String(error)}`)
      }
    }
  })

  it("the head writes' placeholders too, whatever the condition, guard and content", () => {
    const contents: ReadonlyArray<Requests.HeadContent> = [
      { _tag: "Inline", bytes: new Uint8Array([1]) },
      { _tag: "Chunked", manifest: { cid: "abc", chunks: 1, chunkSize: 1024, bytes: 3, crc: 1 } },
      { _tag: "Log", generation: "g", chunkedElements: 2 },
      { _tag: "None" }
    ]
    const conditions: ReadonlyArray<Requests.WriteCondition> = [
      { _tag: "None" },
      { _tag: "Absent" },
      { _tag: "Version", version },
      { _tag: "Live" }
    ]
    const guards: ReadonlyArray<Requests.Guard> = [
      { _tag: "NoContent" },
      { _tag: "Pinned", version: { B: version }, head: undefined },
      { _tag: "Pinned", version: undefined, head: undefined }
    ]
    for (const content of contents) {
      for (const condition of conditions) {
        for (const guard of guards) {
          const fields = { kind: "value", version, lastWrite: 1, size: 1, expiresAt: 5, sweepAt: 6, user: undefined }
          const write: Requests.HeadWrite = {
            key: "k",
            pk: layout.headPk("k"),
            operation: "assoc",
            fields: { ...fields, kind: "value", content, ...(condition._tag === "None" ? { batch: true } : {}) },
            condition,
            guard,
            now: 1000
          }
          expectConsistent(Requests.updateHead(TABLE, write))
          expectConsistent(Requests.transactUpdate(TABLE, write).Update!)
          expectConsistent(Requests.transactAppend(TABLE, write, content._tag === "Log").Update!)
        }
      }
    }
    expectConsistent(Requests.transactAbsent(TABLE, layout.headPk("k"), 1000).ConditionCheck!)
  })

  it("the reads send what they always sent", () => {
    expect(Requests.getHead(TABLE, ":k", "head", true)).toEqual({
      TableName: TABLE,
      Key: { pk: { S: ":k" }, sk: { S: "h" } },
      ProjectionExpression: HEAD_PROJECTION,
      ExpressionAttributeNames: namesOf(HEAD_PROJECTION),
      ConsistentRead: true
    })
    expect(Requests.getHead(TABLE, ":k", "value", false).ProjectionExpression).toBe(bare(`${HEAD_PROJECTION}, #val`))
    expect(Requests.getHead(TABLE, ":k", "whole", true)).toEqual({
      TableName: TABLE,
      Key: { pk: { S: ":k" }, sk: { S: "h" } },
      ConsistentRead: true
    })
    expect(Requests.logQuery(TABLE, ":k", false)).toEqual({
      TableName: TABLE,
      KeyConditionExpression: bare("#pk = :pk AND #sk BETWEEN :from AND :to"),
      ProjectionExpression: bare(`${HEAD_PROJECTION}, #sk, #el`),
      ExpressionAttributeNames: namesOf(HEAD_PROJECTION),
      ExpressionAttributeValues: { ":pk": { S: ":k" }, ":from": { S: "h" }, ":to": { S: "l$" } },
      ConsistentRead: false
    })
    expect(Requests.chunksRead(true)).toEqual({
      ConsistentRead: true,
      ProjectionExpression: bare("#idx, #val")
    })
    expect(Requests.generationContent(TABLE, ":k", "g")).toMatchObject({
      KeyConditionExpression: bare("#pk = :pk AND begins_with(#sk, :gen)"),
      ProjectionExpression: bare("#sk, #cid, #chunks, #csize, #len, #crc"),
      ExpressionAttributeValues: { ":pk": { S: ":k" }, ":gen": { S: "l#g#" } },
      ConsistentRead: true
    })
    expect(
      Requests.batchWrite(TABLE, [Requests.putRequest({ a: { S: "x" } }), Requests.deleteRequest({ b: { S: "y" } })])
    )
      .toEqual({
        RequestItems: {
          [TABLE]: [{ PutRequest: { Item: { a: { S: "x" } } } }, { DeleteRequest: { Key: { b: { S: "y" } } } }]
        }
      })
  })

  it("the scans send what they always sent; one segment is no segment", () => {
    const filter = bare("#sk = :h AND begins_with(#pk, :prefix) AND #kind <> :tomb")
    const listing = bare("#pk, #kind, #ver, #lw, #size, #exp, #meta")
    expect(Requests.listScan(TABLE, "1:p:", true, 0, 1)).toEqual({
      TableName: TABLE,
      FilterExpression: filter,
      ProjectionExpression: listing,
      ExpressionAttributeNames: namesOf(`${filter} ${listing}`),
      ExpressionAttributeValues: { ":h": { S: "h" }, ":prefix": { S: "1:p:" }, ":tomb": { S: "tomb" } },
      ConsistentRead: true
    })
    expect(Requests.listScan(TABLE, "1:p:", true, 2, 4)).toMatchObject({ Segment: 2, TotalSegments: 4 })
    expect(Requests.prefixScan(TABLE, ":", false)).toEqual({
      TableName: TABLE,
      FilterExpression: bare("begins_with(#pk, :prefix)"),
      ProjectionExpression: bare("#pk, #sk"),
      ExpressionAttributeValues: { ":prefix": { S: ":" } },
      ConsistentRead: true
    })
    expect(Requests.prefixScan(TABLE, ":", true).FilterExpression).toBe(filter)
    expect(Requests.sweepScan(TABLE, ":", 0, 1)).toEqual({
      TableName: TABLE,
      FilterExpression: bare("begins_with(#pk, :prefix)"),
      ProjectionExpression: bare("#pk, #sk, #kind, #ver, #exp, #ttl, #size, #cid, #owner, #wt, #gen, #el"),
      ExpressionAttributeNames: namesOf("#ttl #size #owner"),
      ExpressionAttributeValues: { ":prefix": { S: ":" } },
      ConsistentRead: false
    })
    expect(Requests.ownerHeadsRead.ProjectionExpression).toBe(
      bare("#pk, #kind, #ver, #cid, #gen, #lchunked, #exp, #ttl")
    )
    expect(Requests.deleteDeadHead(TABLE, ":k", version)).toEqual({
      TableName: TABLE,
      Key: { pk: { S: ":k" }, sk: { S: "h" } },
      ConditionExpression: bare("#ver = :ver"),
      ExpressionAttributeValues: { ":ver": { B: version } }
    })
  })

  it("a checkpoint's first save needs no item there; a later one the revision read", () => {
    expect(Requests.saveCheckpoint(TABLE, ":k", "{}", 0)).toEqual({
      TableName: TABLE,
      Key: { pk: { S: ":k" }, sk: { S: "f" } },
      UpdateExpression: "SET #pos = :pos, #rev = :next",
      ConditionExpression: "attribute_not_exists(#pk)",
      ExpressionAttributeNames: { "#pos": "pos", "#rev": "rev", "#pk": "pk" },
      ExpressionAttributeValues: { ":pos": { S: "{}" }, ":next": { N: "1" } }
    })
    expect(Requests.saveCheckpoint(TABLE, ":k", "{}", 3)).toMatchObject({
      ConditionExpression: "#rev = :rev",
      ExpressionAttributeValues: { ":pos": { S: "{}" }, ":next": { N: "4" }, ":rev": { N: "3" } }
    })
  })

  it("the table: key schema pk + sk, the billing mode, the TTL attribute", () => {
    expect(Requests.createTable(TABLE, { billingMode: "PAY_PER_REQUEST" })).toEqual({
      TableName: TABLE,
      AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }, { AttributeName: "sk", AttributeType: "S" }],
      KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }, { AttributeName: "sk", KeyType: "RANGE" }],
      BillingMode: "PAY_PER_REQUEST"
    })
    expect(Requests.createTable(TABLE, { billingMode: "PROVISIONED", readCapacity: 2, writeCapacity: 3 }))
      .toMatchObject({
        BillingMode: "PROVISIONED",
        ProvisionedThroughput: { ReadCapacityUnits: 2, WriteCapacityUnits: 3 }
      })
    expect(Requests.updateTimeToLive(TABLE)).toEqual({
      TableName: TABLE,
      TimeToLiveSpecification: { AttributeName: "ttl", Enabled: true }
    })
    expect(Requests.describeTable(TABLE)).toEqual({ TableName: TABLE })
    expect(Requests.deleteTable(TABLE)).toEqual({ TableName: TABLE })
  })

  it("expressions name attributes bare, but the reserved words owner, size and ttl", () => {
    for (const [field, name] of Object.entries(Item.A)) {
      expect(Requests.Names[field as keyof typeof Item.A]).toBe(RESERVED.has(name) ? `#${name}` : name)
    }
  })
})

const prefixes = FastCheck.option(FastCheck.string({ maxLength: 6 }), { nil: undefined })
const keys = FastCheck.string({ minLength: 1, maxLength: 12 })
const cids = FastCheck.stringMatching(/^[A-Za-z0-9_-]{1,24}$/)
const addresses: FastCheck.Arbitrary<KeyLayout.Address> = FastCheck.oneof(
  keys.map((key) => ({ _tag: "Head" as const, key })),
  FastCheck.record({ key: keys, cid: cids, index: FastCheck.nat(100_000) }).map((c) => ({
    _tag: "Chunk" as const,
    ...c
  })),
  FastCheck.record({ key: keys, generation: cids, seq: FastCheck.nat(10_000_000) }).map((e) => ({
    _tag: "Element" as const,
    ...e
  })),
  keys.map((name) => ({ _tag: "Checkpoint" as const, name }))
)

describe("the key layout", () => {
  it("parses what it builds", () => {
    FastCheck.assert(FastCheck.property(prefixes, addresses, (prefix, address) => {
      const l = KeyLayout.layout(prefix)
      const { pk, sk } = KeyLayout.build(l, address)
      expect(KeyLayout.parse(l, pk, sk)).toEqual(address)
      expect(KeyLayout.isHead(l, pk, sk)).toBe(address._tag === "Head")
    }))
  })

  it("another store's items are not this store's, also when one prefix extends the other", () => {
    FastCheck.assert(FastCheck.property(prefixes, prefixes, addresses, (mine, theirs, address) => {
      FastCheck.pre(mine !== theirs)
      const { pk, sk } = KeyLayout.build(KeyLayout.layout(theirs), address)
      expect(KeyLayout.parse(KeyLayout.layout(mine), pk, sk)).toBeUndefined()
    }))
  })

  it("a log element's sort key: its generation and sequence number; what a log read takes for its own", () => {
    expect(KeyLayout.logSk("g1", 42)).toBe("l#g1#000000000042")
    expect(KeyLayout.parseLogSk("l#g1#000000000042")).toEqual({ generation: "g1", seq: 42 })
    expect(KeyLayout.elementSeq("g1", "l#g1#000000000042")).toBe(42)
    expect(KeyLayout.elementSeq("g2", "l#g1#000000000042")).toBeUndefined()
    expect(KeyLayout.elementSeq("g1", "l#g1#42")).toBeUndefined()
    for (const sk of ["h", "c", "f", "l#g1#42", "l##000000000042", "l#g1#00000000004x"]) {
      expect(KeyLayout.parseLogSk(sk)).toBeUndefined()
    }
    expect(KeyLayout.parse(layout, layout.prefix, KeyLayout.logSk("g", 1))).toBeUndefined()
  })

  it("the keys of a content's chunks and a log's elements", () => {
    expect(KeyLayout.chunkKeys(layout, "k", "abc", 2)).toEqual([
      { pk: { S: "1:p:c3:abc:0:k" }, sk: { S: "c" } },
      { pk: { S: "1:p:c3:abc:1:k" }, sk: { S: "c" } }
    ])
    expect(KeyLayout.logKeys(layout, "k", "g", 1)).toEqual([{ pk: { S: "1:p:k" }, sk: { S: "l#g#000000000000" } }])
    expect(KeyLayout.encodePrefix(undefined)).toBe(":")
    expect(KeyLayout.encodePrefix("t/x")).toBe("3:t/x:")
  })
})

describe("decoders", () => {
  const manifest = { cid: "abc", chunks: 2, chunkSize: 380 * 1024, bytes: 380 * 1024 + 1, crc: 7 }

  it("a log element: its bytes, its manifest, or Malformed with the reason", () => {
    expect(Item.decodeElement("k", { el: { B: new Uint8Array([1]) } })).toEqual(
      Either.right({ _tag: "Inline", bytes: new Uint8Array([1]) })
    )
    expect(Item.decodeElement("k", Item.manifestAttributes(manifest))).toEqual(
      Either.right({ _tag: "Chunked", manifest })
    )
    expect(Item.decodeElement("k", {})).toEqual(
      Either.left(new Item.Malformed({ key: "k", reason: "an element with neither bytes nor chunks" }))
    )
    expect(Item.decodeElement("k", { ...Item.manifestAttributes(manifest), crc: { N: "-1" } })).toEqual(
      Either.left(new Item.Malformed({ key: "k", reason: "a CRC-32 of -1" }))
    )
  })

  it("a head: none, a tombstone, a head, or Malformed naming the key", () => {
    const head: Item.Item = {
      pk: { S: layout.headPk("k") },
      sk: { S: "h" },
      kind: { S: "value" },
      ver: { B: version },
      lw: { N: "1" },
      size: { N: "1" },
      val: { B: new Uint8Array([1]) }
    }
    expect(Item.decodeHead(layout, undefined)).toEqual(Either.right(undefined))
    expect(Item.decodeHead(layout, { ...head, kind: { S: "tomb" } })).toEqual(Either.right(undefined))
    expect(Either.getOrThrow(Item.decodeHead(layout, head))?.head.key).toBe("k")
    expect(Item.decodeHead(layout, { ...head, size: { N: "-1" } })).toEqual(
      Either.left(new Item.Malformed({ key: "k", reason: "the stored head is malformed: a size of -1" }))
    )
    expect(Item.decodeHead(layout, { ...head, cid: { S: "!" }, chunks: { N: "1" } })).toEqual(
      Either.left(
        new Item.Malformed({
          key: "k",
          reason: "the stored head is malformed: a chunk manifest without a valid content id"
        })
      )
    )
  })

  it("a chunk item, from its fields", () => {
    expect(Item.chunkItem({
      layout,
      key: "k",
      cid: "abc",
      index: 1,
      bytes: new Uint8Array([2]),
      sweepAt: 9,
      writtenAt: 5
    })).toEqual({
      pk: { S: "1:p:c3:abc:1:k" },
      sk: { S: "c" },
      owner: { S: "1:p:k" },
      cid: { S: "abc" },
      idx: { N: "1" },
      wt: { N: "5" },
      val: { B: new Uint8Array([2]) },
      ttl: { N: "9" }
    })
  })
})
