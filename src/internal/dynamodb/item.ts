/**
 * The items of the table and their attributes: partition keys built from the
 * store prefix and the key, and the encoding of heads, chunks and log
 * elements. See `docs/data-model.md`.
 *
 * | item        | pk                                                 | sk                 |
 * |-------------|----------------------------------------------------|--------------------|
 * | head        | P + key                                            | `h`                |
 * | chunk       | P + `c` + len(cid) `:` cid `:` index `:` key       | `c`                |
 * | log element | P + key                                            | `l#` gen `#` seq   |
 *
 * where P is the encoded prefix: `:` without a prefix, `<length>:<prefix>:`
 * with one. P is prefix-free (no P is a proper prefix of another P followed
 * by anything), so `begins_with(pk, P)` selects exactly one store's items,
 * also when one prefix extends another ("p" / "p2", "t" / "t/x").
 *
 * A head also remembers the versions of the key's last `HISTORY` writes
 * (`ver`, then `r1`…`r7`, newest first; see `history.ts`), and a removed key
 * leaves a tombstone head (kind `tomb`) that keeps them for a while.
 *
 * @internal
 */
import type { AttributeValue } from "@aws-sdk/client-dynamodb"
import type { Head, Kind } from "../backend.js"
import * as Version from "../version.js"

/** @internal */
export type Item = Record<string, AttributeValue>

/** Attribute names. @internal */
export const A = {
  pk: "pk",
  sk: "sk",
  /** "value", "binary", "log", or "tomb" for a removed key. */
  kind: "kind",
  /** The version of the key's last write (12 bytes, see `internal/version.ts`). */
  version: "ver",
  lastWrite: "lw",
  size: "size",
  /** Expiry, epoch milliseconds: what reads and conditions use. */
  expiresAt: "exp",
  /** Epoch seconds: DynamoDB's TTL sweeper attribute (expired values, tombstones, chunks). */
  ttl: "ttl",
  user: "meta",
  /** Inline bytes (head) or a chunk's bytes. */
  value: "val",
  /** Content id: the chunks of one write's content (a value, a binary, a log element). */
  cid: "cid",
  /** Chunk manifest: chunk count, chunk size, CRC-32 of the whole content. */
  chunks: "chunks",
  chunkSize: "csize",
  crc: "crc",
  /** A log's generation: its element sort keys start with it. */
  generation: "gen",
  /** A log element's bytes (an element too large for one item has a chunk manifest instead). */
  element: "el",
  /** A log head: how many of its elements are chunked (their chunks are found by reading the elements). */
  chunkedElements: "lchunked",
  /** A chunk's owner (the head's pk) and index. */
  owner: "owner",
  index: "idx"
} as const

/** The kind of a tombstone head. @internal */
export const TOMBSTONE = "tomb"

/** The time-to-live attribute registered with `UpdateTimeToLive`. @internal */
export const TTL_ATTRIBUTE = A.ttl

/** Sort keys. @internal */
export const SK_HEAD = "h"
/** @internal */
export const SK_CHUNK = "c"
/** @internal */
export const LOG_PREFIX = "l#"
/** Past every log element sort key (`$` follows `#`). @internal */
export const LOG_END = "l$"

/** Digits of a log element's sequence number. @internal */
export const SEQ_DIGITS = 12

/** The longest prefix, in UTF-8 bytes (the partition key holds 2048; the key takes up to 1024). @internal */
export const MAX_PREFIX_BYTES = 512

/** Why a prefix is unusable, or undefined. @internal */
export const invalidPrefix = (prefix: string): string | undefined => {
  if (!prefix.isWellFormed()) return "contains a lone surrogate"
  const bytes = Buffer.byteLength(prefix, "utf8")
  return bytes > MAX_PREFIX_BYTES ? `is ${bytes} UTF-8 bytes, limit ${MAX_PREFIX_BYTES}` : undefined
}

/** The encoded prefix P. @internal */
export const encodePrefix = (prefix: string | undefined): string =>
  prefix === undefined ? ":" : `${prefix.length}:${prefix}:`

/**
 * The expression attribute names an expression uses, for `#name` placeholders
 * (several attribute names are reserved words; DynamoDB rejects unused ones).
 *
 * @internal
 */
export const namesOf = (expression: string): Record<string, string> => {
  const used: Record<string, string> = {}
  for (const match of expression.matchAll(/#([a-z][a-z0-9]*)/g)) used[`#${match[1]}`] = match[1]
  return used
}

/** What reads of a head need: every attribute but the inline bytes and the write history. @internal */
export const HEAD_PROJECTION = [
  A.pk,
  A.kind,
  A.version,
  A.lastWrite,
  A.size,
  A.expiresAt,
  A.user,
  A.cid,
  A.chunks,
  A.chunkSize,
  A.crc,
  A.generation,
  A.chunkedElements
].map((name) => `#${name}`).join(", ")

/** The key layout of one store. @internal */
export interface Layout {
  readonly prefix: string
  readonly headPk: (key: string) => string
  readonly keyOf: (pk: string) => string
  readonly chunkPk: (key: string, cid: string, index: number) => string
}

/** @internal */
export const layout = (prefix: string | undefined): Layout => {
  const p = encodePrefix(prefix)
  return {
    prefix: p,
    headPk: (key) => p + key,
    keyOf: (pk) => pk.slice(p.length),
    chunkPk: (key, cid, index) => `${p}c${cid.length}:${cid}:${index}:${key}`
  }
}

/** The primary key of an item. @internal */
export const itemKey = (pk: string, sk: string): Item => ({ [A.pk]: { S: pk }, [A.sk]: { S: sk } })

/** A log element's sort key. @internal */
export const logSk = (generation: string, seq: number): string =>
  `${LOG_PREFIX}${generation}#${String(seq).padStart(SEQ_DIGITS, "0")}`

/** Where a chunked value's bytes are. @internal */
export interface Manifest {
  readonly cid: string
  readonly chunks: number
  readonly chunkSize: number
  readonly crc: number
}

/** A live head as decoded from an item, with where its content is. @internal */
export interface StoredHead {
  readonly head: Head
  /** The version as stored. */
  readonly version: Uint8Array
  readonly manifest: Manifest | undefined
  readonly generation: string | undefined
  /** A log's chunked elements. */
  readonly chunkedElements: number
  /** Present when the item was read with its inline bytes. */
  readonly inline: Uint8Array | undefined
}

const num = (item: Item, name: string): number | undefined => {
  const value = item[name]?.N
  return value === undefined ? undefined : Number(value)
}

const str = (item: Item, name: string): string | undefined => item[name]?.S

const bin = (item: Item, name: string): Uint8Array | undefined => item[name]?.B

/** Epoch seconds for the TTL sweeper: never before the millisecond expiry. @internal */
export const ttlSeconds = (expiresAt: number): number => Math.ceil(expiresAt / 1000)

const kinds: ReadonlySet<string> = new Set(["value", "binary", "log"])

/** Whether a head item holds content outside itself (chunks, log elements) that a replacing write must drop. @internal */
export const hasContent = (stored: StoredHead): boolean =>
  stored.manifest !== undefined || (stored.head.kind === "log" && stored.generation !== undefined)

/**
 * Decodes a head item; undefined when there is none, when it is a tombstone,
 * or when it is not a well-formed head.
 *
 * @internal
 */
export const decodeHead = (layout: Layout, item: Item | undefined): StoredHead | undefined => {
  if (item === undefined) return undefined
  const pk = str(item, A.pk)
  const kind = str(item, A.kind)
  const version = bin(item, A.version)
  if (pk === undefined || kind === undefined || !kinds.has(kind) || version === undefined) return undefined
  const chunks = num(item, A.chunks)
  const cid = str(item, A.cid)
  return {
    head: {
      key: layout.keyOf(pk),
      kind: kind as Kind,
      version: Version.format(version),
      lastWrite: num(item, A.lastWrite) ?? 0,
      size: num(item, A.size) ?? 0,
      expiresAt: num(item, A.expiresAt),
      user: bin(item, A.user)
    },
    version,
    manifest: chunks === undefined || cid === undefined
      ? undefined
      : { cid, chunks, chunkSize: num(item, A.chunkSize) ?? 0, crc: num(item, A.crc) ?? 0 },
    generation: str(item, A.generation),
    chunkedElements: num(item, A.chunkedElements) ?? 0,
    inline: bin(item, A.value)
  }
}

/**
 * A head item as a write's condition sees it: whatever is there, tombstones
 * and expired heads included.
 *
 * @internal
 */
export interface HeadState {
  /** Undefined when there is no item. */
  readonly version: Uint8Array | undefined
  readonly tombstone: boolean
  readonly expiresAt: number | undefined
  /** The head, when it is one (not a tombstone). */
  readonly stored: StoredHead | undefined
}

/** @internal */
export const stateOf = (layout: Layout, item: Item | undefined): HeadState => ({
  version: item === undefined ? undefined : bin(item, A.version),
  tombstone: item !== undefined && str(item, A.kind) === TOMBSTONE,
  expiresAt: item === undefined ? undefined : num(item, A.expiresAt),
  stored: decodeHead(layout, item)
})

/** Whether the key is there and alive at `now`. @internal */
export const isLive = (state: HeadState, now: number): boolean =>
  state.version !== undefined && !state.tombstone && (state.expiresAt === undefined || state.expiresAt > now)

/** A chunk item. @internal */
export const chunkItem = (
  layout: Layout,
  key: string,
  cid: string,
  index: number,
  bytes: Uint8Array,
  sweepAt: number | undefined
): Item => ({
  ...itemKey(layout.chunkPk(key, cid, index), SK_CHUNK),
  [A.owner]: { S: layout.headPk(key) },
  [A.cid]: { S: cid },
  [A.index]: { N: String(index) },
  [A.value]: { B: bytes },
  ...(sweepAt === undefined ? {} : { [A.ttl]: { N: String(sweepAt) } })
})

/** The primary keys of a content's chunks. @internal */
export const chunkKeys = (layout: Layout, key: string, cid: string, chunks: number): Array<Item> =>
  Array.from({ length: chunks }, (_, index) => itemKey(layout.chunkPk(key, cid, index), SK_CHUNK))

/** The primary keys of a log's elements. @internal */
export const logKeys = (layout: Layout, key: string, generation: string, size: number): Array<Item> =>
  Array.from({ length: size }, (_, seq) => itemKey(layout.headPk(key), logSk(generation, seq)))

/**
 * The primary keys of everything a head's content occupies besides the head
 * itself, except the chunks of chunked log elements (see `chunkedElements`).
 *
 * @internal
 */
export const contentKeys = (layout: Layout, stored: StoredHead): Array<Item> =>
  stored.manifest !== undefined
    ? chunkKeys(layout, stored.head.key, stored.manifest.cid, stored.manifest.chunks)
    : stored.head.kind === "log" && stored.generation !== undefined
    ? logKeys(layout, stored.head.key, stored.generation, stored.head.size)
    : []

/** A log element: its bytes inline, or (too large for one item) the manifest of its chunks. @internal */
export type StoredElement =
  | { readonly _tag: "Inline"; readonly bytes: Uint8Array }
  | { readonly _tag: "Chunked"; readonly size: number; readonly manifest: Manifest }

/** A log element item. @internal */
export const elementItem = (pk: string, sk: string, element: StoredElement): Item =>
  element._tag === "Inline"
    ? { ...itemKey(pk, sk), [A.element]: { B: element.bytes } }
    : {
      ...itemKey(pk, sk),
      [A.size]: { N: String(element.size) },
      [A.cid]: { S: element.manifest.cid },
      [A.chunks]: { N: String(element.manifest.chunks) },
      [A.chunkSize]: { N: String(element.manifest.chunkSize) },
      [A.crc]: { N: String(element.manifest.crc) }
    }

/** Decodes a log element item; undefined when malformed. @internal */
export const decodeElement = (item: Item): StoredElement | undefined => {
  const bytes = bin(item, A.element)
  if (bytes !== undefined) return { _tag: "Inline", bytes }
  const cid = str(item, A.cid)
  const chunks = num(item, A.chunks)
  if (cid === undefined || chunks === undefined) return undefined
  return {
    _tag: "Chunked",
    size: num(item, A.size) ?? 0,
    manifest: { cid, chunks, chunkSize: num(item, A.chunkSize) ?? 0, crc: num(item, A.crc) ?? 0 }
  }
}

/** The stored size of an attribute value, in bytes, as DynamoDB counts it. @internal */
export const valueSize = (value: AttributeValue): number => {
  if (value.S !== undefined) return Buffer.byteLength(value.S, "utf8")
  if (value.B !== undefined) return value.B.length
  if (value.N !== undefined) return value.N.length
  if (value.L !== undefined) return 3 + value.L.reduce((sum, v) => sum + 1 + valueSize(v), 0)
  return 1
}

/** The estimated stored size of an item, in bytes (names + values, as DynamoDB counts). @internal */
export const itemSize = (item: Item): number => {
  let total = 0
  for (const [name, value] of Object.entries(item)) total += name.length + valueSize(value)
  return total
}
