/**
 * Planning a write without I/O: whether bytes go inline in the head or to
 * chunks (and which chunks), which values of an atomic multi-key write move
 * to chunks so that its transaction fits, how a log element is laid out.
 *
 * @internal
 */
import { randomBytes } from "node:crypto"
import { crc32 } from "node:zlib"
import { TRANSACTION_BYTES } from "../limits.js"
import type { Manifest, StoredElement } from "./item.js"
import type { HeadContent } from "./requests/index.js"

/**
 * The bytes of one chunk: 380 KiB, which leaves room under DynamoDB's
 * 400 KiB item limit for the chunk's keys (a 1024-byte key and a 512-byte
 * prefix included) and attributes.
 *
 * @internal
 */
export const CHUNK_BYTES = 380 * 1024

/** A head (or log element) whose item, attributes included, is at most this size holds its bytes inline. @internal */
export const INLINE_ITEM_BYTES = 350 * 1024

/** A fresh content id: 96 random bits, 16 characters. @internal */
export const newCid = (): string => randomBytes(12).toString("base64url")

/** Splits bytes into chunks of `CHUNK_BYTES` (views, not copies). @internal */
export const split = (bytes: Uint8Array): Array<Uint8Array> => {
  const out: Array<Uint8Array> = []
  for (let offset = 0; offset < bytes.length; offset += CHUNK_BYTES) {
    out.push(bytes.subarray(offset, offset + CHUNK_BYTES))
  }
  return out
}

/** The CRC-32 of pieces of bytes (continuing from `crc`). @internal */
export const checksum = (pieces: Iterable<Uint8Array>, crc = 0): number => {
  for (const piece of pieces) crc = crc32(piece, crc)
  return crc
}

/** The manifest of pieces written under a content id. @internal */
export const manifestOf = (cid: string, pieces: ReadonlyArray<Uint8Array>): Manifest => ({
  cid,
  chunks: pieces.length,
  chunkSize: CHUNK_BYTES,
  bytes: pieces.reduce((total, piece) => total + piece.length, 0),
  crc: checksum(pieces)
})

/** A manifest as large as the one of `bytes` stored bytes will be, for sizing a head before planning it. @internal */
export const sizingManifest = (bytes: number): Manifest => ({
  cid: "c".repeat(16),
  chunks: Math.ceil(bytes / CHUNK_BYTES),
  chunkSize: CHUNK_BYTES,
  bytes,
  crc: 0xffffffff
})

/** Content planned for a head: inline bytes, or chunks to write first. @internal */
export interface ContentPlan {
  readonly content: HeadContent
  /** The chunks to write before the head (empty inline). */
  readonly pieces: ReadonlyArray<Uint8Array>
}

/**
 * Inline when the head, whose item weighs `overhead` bytes without the
 * content, stays within `INLINE_ITEM_BYTES`; else chunks under a fresh
 * content id.
 *
 * @internal
 */
export const content = (bytes: Uint8Array, overhead: number): ContentPlan => {
  if (overhead + bytes.length <= INLINE_ITEM_BYTES) return { content: { _tag: "Inline", bytes }, pieces: [] }
  return chunked(bytes)
}

/** Chunks under a fresh content id. @internal */
export const chunked = (bytes: Uint8Array): ContentPlan => {
  const pieces = split(bytes)
  return { content: { _tag: "Chunked", manifest: manifestOf(newCid(), pieces) }, pieces }
}

/**
 * Which values of an atomic write go to chunks: those that do not fit one
 * item, then the largest inline ones until the transaction fits under
 * `TRANSACTION_BYTES`. `inline[i]` is head i's size with its value inline,
 * `chunked[i]` with its value in chunks; the answer is the set of indices to
 * chunk. (The shared store refuses, before this, a transaction that cannot
 * fit with every value in chunks.)
 *
 * @internal
 */
export const transaction = (
  inline: ReadonlyArray<number>,
  chunked: ReadonlyArray<number>
): ReadonlySet<number> => {
  const out = new Set<number>()
  let total = 0
  inline.forEach((size, i) => {
    if (size > INLINE_ITEM_BYTES) {
      out.add(i)
      total += chunked[i]
    } else {
      total += size
    }
  })
  const largestFirst = inline.map((_, i) => i).filter((i) => !out.has(i))
    .sort((a, b) => (inline[b] - chunked[b]) - (inline[a] - chunked[a]))
  for (const i of largestFirst) {
    if (total <= TRANSACTION_BYTES) break
    out.add(i)
    total -= inline[i] - chunked[i]
  }
  return out
}

/** A log element planned: its item's content, and the chunks to write first. @internal */
export interface ElementPlan {
  readonly element: StoredElement
  readonly pieces: ReadonlyArray<Uint8Array>
}

/** An element inline when its item (`overhead` bytes besides it) fits, else chunked. @internal */
export const element = (bytes: Uint8Array, overhead: number): ElementPlan => {
  if (overhead + bytes.length <= INLINE_ITEM_BYTES) return { element: { _tag: "Inline", bytes }, pieces: [] }
  const pieces = split(bytes)
  return { element: { _tag: "Chunked", manifest: manifestOf(newCid(), pieces) }, pieces }
}
