/**
 * The items of the table and their attributes: partition keys built from
 * the store prefix and the key, and the encoding of heads, chunks and log
 * elements. See `docs/data-model.md`.
 *
 * | item        | pk                                   | sk                    |
 * |-------------|--------------------------------------|-----------------------|
 * | head        | P + key                              | `h`                   |
 * | chunk       | P + `c` + len(version) `:` version `:` index `:` key | `c` |
 * | log element | P + key                              | `l#` gen `#` seq      |
 *
 * where P is the encoded prefix: `:` without a prefix, `<length>:<prefix>:`
 * with one. P is prefix-free (no P is a proper prefix of another P followed
 * by anything), so `begins_with(pk, P)` selects exactly one store's items,
 * also when one prefix extends another ("p" / "p2", "t" / "t/x").
 *
 * @internal
 */
import type { AttributeValue } from "@aws-sdk/client-dynamodb"
import type { Head, Kind } from "../backend.js"

/** @internal */
export type Item = Record<string, AttributeValue>

/** Attribute names. @internal */
export const A = {
  pk: "pk",
  sk: "sk",
  kind: "kind",
  version: "ver",
  lastWrite: "lw",
  size: "size",
  /** Expiry, epoch milliseconds: what reads and conditions use. */
  expiresAt: "exp",
  /** Expiry, epoch seconds (rounded up): DynamoDB's TTL sweeper attribute. */
  ttl: "ttl",
  user: "meta",
  recent: "recent",
  /** Inline bytes (head) or a chunk's bytes. */
  value: "val",
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
  for (const match of expression.matchAll(/#([a-z]+)/g)) used[`#${match[1]}`] = match[1]
  return used
}

/** Every head attribute except the inline bytes. @internal */
export const HEAD_PROJECTION = [
  A.pk,
  A.kind,
  A.version,
  A.lastWrite,
  A.size,
  A.expiresAt,
  A.user,
  A.recent,
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
  readonly chunkPk: (key: string, version: string, index: number) => string
}

/** @internal */
export const layout = (prefix: string | undefined): Layout => {
  const p = encodePrefix(prefix)
  return {
    prefix: p,
    headPk: (key) => p + key,
    keyOf: (pk) => pk.slice(p.length),
    chunkPk: (key, version, index) => `${p}c${version.length}:${version}:${index}:${key}`
  }
}

/** The primary key of an item. @internal */
export const itemKey = (pk: string, sk: string): Item => ({ [A.pk]: { S: pk }, [A.sk]: { S: sk } })

/** A log element's sort key. @internal */
export const logSk = (generation: string, seq: number): string =>
  `${LOG_PREFIX}${generation}#${String(seq).padStart(SEQ_DIGITS, "0")}`

/** How a head's content is stored. @internal */
export type Content =
  | { readonly _tag: "Inline"; readonly bytes: Uint8Array }
  | { readonly _tag: "Chunked"; readonly manifest: Manifest }
  | { readonly _tag: "Log"; readonly generation: string }

/** Where a chunked value's bytes are. @internal */
export interface Manifest {
  readonly chunks: number
  readonly chunkSize: number
  readonly crc: number
}

/** A head as decoded from an item, with where its content is. @internal */
export interface StoredHead {
  readonly head: Head
  readonly manifest: Manifest | undefined
  readonly generation: string | undefined
  /** A log's chunked elements. */
  readonly chunkedElements: number
  /** Present when the item was read with its inline bytes. */
  readonly inline: Uint8Array | undefined
}

const n = (value: number): AttributeValue => ({ N: String(value) })

const num = (item: Item, name: string): number | undefined => {
  const value = item[name]?.N
  return value === undefined ? undefined : Number(value)
}

const str = (item: Item, name: string): string | undefined => item[name]?.S

/** Epoch seconds for the TTL sweeper: never before the millisecond expiry. @internal */
export const ttlSeconds = (expiresAt: number): number => Math.ceil(expiresAt / 1000)

/** The expiry attributes of an item. @internal */
export const expiryAttributes = (expiresAt: number | undefined): Item =>
  expiresAt === undefined ? {} : { [A.expiresAt]: n(expiresAt), [A.ttl]: n(ttlSeconds(expiresAt)) }

/** The head item of a write. @internal */
export const headItem = (
  pk: string,
  head: {
    readonly kind: Kind
    readonly version: string
    readonly lastWrite: number
    readonly size: number
    readonly expiresAt: number | undefined
    readonly user: Uint8Array | undefined
    readonly recent: ReadonlyArray<string>
  },
  content: Content
): Item => {
  const item: Item = {
    ...itemKey(pk, SK_HEAD),
    [A.kind]: { S: head.kind },
    [A.version]: { S: head.version },
    [A.lastWrite]: n(head.lastWrite),
    [A.size]: n(head.size),
    [A.recent]: { L: head.recent.map((version) => ({ S: version })) },
    ...expiryAttributes(head.expiresAt)
  }
  if (head.user !== undefined) item[A.user] = { B: head.user }
  switch (content._tag) {
    case "Inline":
      item[A.value] = { B: content.bytes }
      break
    case "Chunked":
      item[A.chunks] = n(content.manifest.chunks)
      item[A.chunkSize] = n(content.manifest.chunkSize)
      item[A.crc] = n(content.manifest.crc)
      break
    case "Log":
      item[A.generation] = { S: content.generation }
      break
  }
  return item
}

const kinds: ReadonlySet<string> = new Set(["value", "binary", "log"])

/** Decodes a head item; undefined when the item is not a well-formed head. @internal */
export const decodeHead = (layout: Layout, item: Item | undefined): StoredHead | undefined => {
  if (item === undefined) return undefined
  const pk = str(item, A.pk)
  const kind = str(item, A.kind)
  const version = str(item, A.version)
  if (pk === undefined || kind === undefined || !kinds.has(kind) || version === undefined) return undefined
  const chunks = num(item, A.chunks)
  return {
    head: {
      key: layout.keyOf(pk),
      kind: kind as Kind,
      version,
      lastWrite: num(item, A.lastWrite) ?? 0,
      size: num(item, A.size) ?? 0,
      expiresAt: num(item, A.expiresAt),
      user: item[A.user]?.B,
      recent: (item[A.recent]?.L ?? []).flatMap((value) => value.S === undefined ? [] : [value.S])
    },
    manifest: chunks === undefined
      ? undefined
      : { chunks, chunkSize: num(item, A.chunkSize) ?? 0, crc: num(item, A.crc) ?? 0 },
    generation: str(item, A.generation),
    chunkedElements: num(item, A.chunkedElements) ?? 0,
    inline: item[A.value]?.B
  }
}

/** A chunk item. @internal */
export const chunkItem = (
  layout: Layout,
  key: string,
  version: string,
  index: number,
  bytes: Uint8Array,
  expiresAt: number | undefined
): Item => ({
  ...itemKey(layout.chunkPk(key, version, index), SK_CHUNK),
  [A.owner]: { S: layout.headPk(key) },
  [A.version]: { S: version },
  [A.index]: n(index),
  [A.value]: { B: bytes },
  ...(expiresAt === undefined ? {} : { [A.ttl]: n(ttlSeconds(expiresAt)) })
})

/** The primary keys of a chunked value's chunks. @internal */
export const chunkKeys = (layout: Layout, key: string, version: string, chunks: number): Array<Item> =>
  Array.from({ length: chunks }, (_, index) => itemKey(layout.chunkPk(key, version, index), SK_CHUNK))

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
    ? chunkKeys(layout, stored.head.key, stored.head.version, stored.manifest.chunks)
    : stored.head.kind === "log" && stored.generation !== undefined
    ? logKeys(layout, stored.head.key, stored.generation, stored.head.size)
    : []

/**
 * A log element item: its bytes inline, or (too large for one item) the
 * manifest of chunks written under the element's own version.
 *
 * @internal
 */
export const elementItem = (
  pk: string,
  sk: string,
  content: { readonly _tag: "Inline"; readonly bytes: Uint8Array } | {
    readonly _tag: "Chunked"
    readonly version: string
    readonly size: number
    readonly manifest: Manifest
  }
): Item =>
  content._tag === "Inline"
    ? { ...itemKey(pk, sk), [A.element]: { B: content.bytes } }
    : {
      ...itemKey(pk, sk),
      [A.version]: { S: content.version },
      [A.size]: n(content.size),
      [A.chunks]: n(content.manifest.chunks),
      [A.chunkSize]: n(content.manifest.chunkSize),
      [A.crc]: n(content.manifest.crc)
    }

/** A log element as read back. @internal */
export type StoredElement =
  | { readonly _tag: "Inline"; readonly bytes: Uint8Array }
  | { readonly _tag: "Chunked"; readonly version: string; readonly size: number; readonly manifest: Manifest }

/** Decodes a log element item; undefined when malformed. @internal */
export const decodeElement = (item: Item): StoredElement | undefined => {
  const bytes = item[A.element]?.B
  if (bytes !== undefined) return { _tag: "Inline", bytes }
  const version = str(item, A.version)
  const chunks = num(item, A.chunks)
  if (version === undefined || chunks === undefined) return undefined
  return {
    _tag: "Chunked",
    version,
    size: num(item, A.size) ?? 0,
    manifest: { chunks, chunkSize: num(item, A.chunkSize) ?? 0, crc: num(item, A.crc) ?? 0 }
  }
}

/** The estimated stored size of an item, in bytes (names + values, as DynamoDB counts). @internal */
export const itemSize = (item: Item): number => {
  let total = 0
  for (const [name, value] of Object.entries(item)) total += name.length + valueSize(value)
  return total
}

const valueSize = (value: AttributeValue): number => {
  if (value.S !== undefined) return Buffer.byteLength(value.S, "utf8")
  if (value.B !== undefined) return value.B.length
  if (value.N !== undefined) return value.N.length
  if (value.L !== undefined) return 3 + value.L.reduce((sum, v) => sum + 1 + valueSize(v), 0)
  return 1
}
