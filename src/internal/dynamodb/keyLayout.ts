/**
 * The key layout: the primary key (`pk`, `sk`) of every item the store
 * writes, built and parsed by the functions of this module only. See
 * `docs/data-model.md`.
 *
 * | item        | pk                                                 | sk                 |
 * |-------------|----------------------------------------------------|--------------------|
 * | head        | P + key                                            | `h`                |
 * | chunk       | P + `c` + len(cid) `:` cid `:` index `:` key       | `c`                |
 * | log element | P + key                                            | `l#` gen `#` seq   |
 * | checkpoint  | P + name                                           | `f`                |
 *
 * where P is the encoded prefix: `:` without a prefix, `<length>:<prefix>:`
 * with one. P is prefix-free (no P is a proper prefix of another P followed
 * by anything), so `begins_with(pk, P)` selects exactly one store's items,
 * also when one prefix extends another ("p" / "p2", "t" / "t/x").
 *
 * @internal
 */
import type { AttributeValue } from "@aws-sdk/client-dynamodb"

/** The key attributes (the table's key schema). @internal */
export const KEY = { pk: "pk", sk: "sk" } as const

/** Sort keys. @internal */
export const SK_HEAD = "h"
/** @internal */
export const SK_CHUNK = "c"
/**
 * A feed checkpoint's (`feed/checkpoint.ts`): no other item has it, and log
 * reads (`h` to `l$`) never reach it.
 *
 * @internal
 */
export const SK_CHECKPOINT = "f"
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

/** The primary key of an item. @internal */
export type PrimaryKey = Record<string, AttributeValue>

/** The primary key of an item. @internal */
export const itemKey = (pk: string, sk: string): PrimaryKey => ({ [KEY.pk]: { S: pk }, [KEY.sk]: { S: sk } })

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

/** What the sort keys of a log generation's elements start with. @internal */
export const generationSkPrefix = (generation: string): string => `${LOG_PREFIX}${generation}#`

/** A log element's sort key. @internal */
export const logSk = (generation: string, seq: number): string =>
  `${generationSkPrefix(generation)}${String(seq).padStart(SEQ_DIGITS, "0")}`

/** The primary keys of a content's chunks. @internal */
export const chunkKeys = (layout: Layout, key: string, cid: string, chunks: number): Array<PrimaryKey> =>
  Array.from({ length: chunks }, (_, index) => itemKey(layout.chunkPk(key, cid, index), SK_CHUNK))

/** The primary keys of a log's elements. @internal */
export const logKeys = (layout: Layout, key: string, generation: string, size: number): Array<PrimaryKey> =>
  Array.from({ length: size }, (_, seq) => itemKey(layout.headPk(key), logSk(generation, seq)))

/** A chunk's pk: P + `c<len(cid)>:<cid>:<index>:<key>`; undefined when it is not one. @internal */
export const parseChunkPk = (
  prefix: string,
  pk: string
): { readonly cid: string; readonly index: number; readonly key: string } | undefined => {
  if (!pk.startsWith(`${prefix}c`)) return undefined
  const rest = pk.slice(prefix.length + 1)
  const colon = rest.indexOf(":")
  const length = Number(rest.slice(0, colon))
  if (colon <= 0 || !Number.isInteger(length) || length <= 0) return undefined
  const cid = rest.slice(colon + 1, colon + 1 + length)
  if (cid.length !== length || rest[colon + 1 + length] !== ":") return undefined
  const tail = rest.slice(colon + 2 + length)
  const match = /^(\d+):/.exec(tail)
  if (match === null) return undefined
  const key = tail.slice(match[0].length)
  return key.length === 0 ? undefined : { cid, index: Number(match[1]), key }
}

const ELEMENT_SK = new RegExp(`^${LOG_PREFIX}([^#]+)#(\\d{${SEQ_DIGITS}})$`)

/** A log element's generation and sequence number, from its sort key; undefined when it is not one. @internal */
export const parseLogSk = (sk: string): { readonly generation: string; readonly seq: number } | undefined => {
  const match = ELEMENT_SK.exec(sk)
  return match === null ? undefined : { generation: match[1], seq: Number(match[2]) }
}

/** A log element's generation, from its sort key; undefined when it is not one. @internal */
export const generationOf = (sk: string): string | undefined => parseLogSk(sk)?.generation

/**
 * The sequence number of an element of generation `generation`, as a log
 * read takes it from the sort key (`NaN` when the digits are not a number);
 * undefined when the sort key is not of that generation.
 *
 * @internal
 */
export const elementSeq = (generation: string, sk: string): number | undefined => {
  const own = generationSkPrefix(generation)
  return sk.startsWith(own) && sk.length === own.length + SEQ_DIGITS ? Number(sk.slice(own.length)) : undefined
}

/** An item of a store, by what its primary key says. @internal */
export type Address =
  | { readonly _tag: "Head"; readonly key: string }
  | { readonly _tag: "Chunk"; readonly key: string; readonly cid: string; readonly index: number }
  | { readonly _tag: "Element"; readonly key: string; readonly generation: string; readonly seq: number }
  | { readonly _tag: "Checkpoint"; readonly name: string }

/** The primary key of an item, as strings. @internal */
export interface Keys {
  readonly pk: string
  readonly sk: string
}

/** The primary key of an item of this store. @internal */
export const build = (layout: Layout, address: Address): Keys => {
  switch (address._tag) {
    case "Head":
      return { pk: layout.headPk(address.key), sk: SK_HEAD }
    case "Chunk":
      return { pk: layout.chunkPk(address.key, address.cid, address.index), sk: SK_CHUNK }
    case "Element":
      return { pk: layout.headPk(address.key), sk: logSk(address.generation, address.seq) }
    case "Checkpoint":
      return { pk: layout.headPk(address.name), sk: SK_CHECKPOINT }
  }
}

/**
 * What an item of this store is, from its primary key: undefined when it is
 * not of this store's prefix, or not a key this layout builds (a chunk pk
 * that does not parse, a log element of an empty key, an unknown sort key).
 *
 * @internal
 */
export const parse = (layout: Layout, pk: string, sk: string): Address | undefined => {
  if (!pk.startsWith(layout.prefix)) return undefined
  switch (sk) {
    case SK_HEAD:
      return { _tag: "Head", key: layout.keyOf(pk) }
    case SK_CHUNK: {
      const chunk = parseChunkPk(layout.prefix, pk)
      return chunk === undefined ? undefined : { _tag: "Chunk", ...chunk }
    }
    case SK_CHECKPOINT:
      return { _tag: "Checkpoint", name: layout.keyOf(pk) }
    default: {
      const element = parseLogSk(sk)
      const key = layout.keyOf(pk)
      return element === undefined || key.length === 0 ? undefined : { _tag: "Element", key, ...element }
    }
  }
}

/** Whether an item is a head of this store (before anything is decoded). @internal */
export const isHead = (layout: Layout, pk: string | undefined, sk: string | undefined): boolean =>
  pk !== undefined && sk === SK_HEAD && pk.startsWith(layout.prefix)
