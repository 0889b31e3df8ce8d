/**
 * The items of the table and their attributes: partition keys built from the
 * store prefix and the key, and the encoding of heads, chunks and log
 * elements. See `docs/data-model.md`.
 *
 * The key layout (pk, sk of heads, chunks, log elements) is `keyLayout.ts`'s.
 *
 * A head also remembers the versions of the key's last `HISTORY` writes
 * (`ver`, then `r1`…`r7`, newest first; see `history.ts`), and a removed key
 * leaves a tombstone head (kind `tomb`) that keeps them for a while.
 *
 * @internal
 */
import type { AttributeValue } from "@aws-sdk/client-dynamodb"
import * as Data from "effect/Data"
import * as Either from "effect/Either"
import type { Head, Kind } from "../backend.js"
import * as Version from "../version.js"
import type { Layout } from "./keyLayout.js"
import { itemKey, KEY, SK_CHUNK } from "./keyLayout.js"

/** @internal */
export type Item = Record<string, AttributeValue>

/** Attribute names. @internal */
export const A = {
  pk: KEY.pk,
  sk: KEY.sk,
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
  /** Chunk manifest: chunk count, chunk size, stored bytes, CRC-32 of the whole content. */
  chunks: "chunks",
  length: "len",
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
  index: "idx",
  /**
   * A chunk's write time, epoch milliseconds on the writer's clock, never
   * before its write started: how `sweep` knows a chunk is older than its
   * grace (docs/consistency.md, "Sweeping").
   */
  writtenAt: "wt",
  /**
   * On a head (or tombstone) written by an atomic `multiAssoc` /
   * `multiDissoc` or `transact`: present (the number 1) until the key's next
   * write, which removes it; how the change feed tells a batch.
   */
  batch: "bt"
} as const

/** The kind of a tombstone head. @internal */
export const TOMBSTONE = "tomb"

/** The time-to-live attribute registered with `UpdateTimeToLive`. @internal */
export const TTL_ATTRIBUTE = A.ttl

/** Where a chunked content's bytes are. @internal */
export interface Manifest {
  readonly cid: string
  readonly chunks: number
  readonly chunkSize: number
  /** The stored bytes in all (a value's after compression). */
  readonly bytes: number
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

/** The most elements a log may have: past it a stored count is taken for garbage. @internal */
export const MAX_LOG_ELEMENTS = 10_000_000

/**
 * The most bytes a content may have whatever the store that wrote it: past
 * it (or past what a head's size allows) a stored count is garbage. A store's
 * own `maxValueBytes` is no bound on what it reads: another store with a
 * larger limit may have written it (reading it fails with `ItemTooLarge`,
 * see `reads.ts`; docs/limits.md, "Limits belong to the reader").
 *
 * @internal
 */
export const MAX_STORED_BYTES = Number.MAX_SAFE_INTEGER

/** The most bytes of one item (DynamoDB's 400 KB): inline bytes past it are garbage. */
const MAX_ITEM_BYTES = 400 * 1024

/** The largest chunk a manifest may name: one item. */
const MAX_CHUNK_BYTES = 400 * 1024

/** The smallest: this library writes 380 KiB chunks; a tiny chunk size would make a manifest name millions. */
const MIN_CHUNK_BYTES = 64 * 1024

/**
 * A stored item that is not what this library writes (of the key `key`):
 * read, it fails with `DecodeError`; what the decoders return on the left.
 *
 * @internal
 */
export class Malformed extends Data.TaggedClass("Malformed")<{ readonly key: string; readonly reason: string }> {}

const malformedOf = (key: string) => (reason: string) => Either.left(new Malformed({ key, reason }))

const isCount = (n: number | undefined, max: number): n is number =>
  n !== undefined && Number.isInteger(n) && n >= 0 && n <= max

const CID = /^[A-Za-z0-9_-]{1,64}$/

/**
 * A chunk manifest from an item's attributes (of the key `key`), none when it
 * has none; `Malformed` when it is not one this library could have written.
 *
 * @internal
 */
export const decodeManifest = (key: string, item: Item): Either.Either<Manifest | undefined, Malformed> => {
  const cid = str(item, A.cid)
  const chunks = num(item, A.chunks)
  if (cid === undefined && chunks === undefined) return Either.right(undefined)
  const malformed = malformedOf(key)
  const chunkSize = num(item, A.chunkSize)
  const bytes = num(item, A.length)
  const crc = num(item, A.crc)
  if (cid === undefined || !CID.test(cid)) return malformed("a chunk manifest without a valid content id")
  if (!isCount(chunkSize, MAX_CHUNK_BYTES) || chunkSize < MIN_CHUNK_BYTES) {
    return malformed(`a chunk size of ${chunkSize}`)
  }
  if (!isCount(bytes, MAX_STORED_BYTES)) return malformed(`${bytes} stored bytes`)
  if (!isCount(chunks, Number.MAX_SAFE_INTEGER) || chunks !== Math.ceil(bytes / chunkSize)) {
    return malformed(`${chunks} chunks for ${bytes} bytes of ${chunkSize}`)
  }
  if (!isCount(crc, 0xffffffff)) return malformed(`a CRC-32 of ${crc}`)
  return Either.right({ cid, chunks, chunkSize, bytes, crc })
}

/** The head of a decoded `keys` listing. @internal */
export interface Listed {
  readonly head: Head
  readonly version: Uint8Array
}

/**
 * Decodes what the public `Meta` of a head says (key, kind, version, last
 * write, size, expiry, user meta): undefined when there is no item or it is
 * a tombstone; `Malformed` when those attributes are not what this library
 * writes, every count within bounds (sizes within `MAX_STORED_BYTES`, not
 * this store's `maxValueBytes`: limits belong to the reader). What `keys`
 * reads (`Requests.listScan`).
 *
 * @internal
 */
export const decodeListed = (
  layout: Layout,
  item: Item | undefined
): Either.Either<Listed | undefined, Malformed> => {
  if (item === undefined) return Either.right(undefined)
  const pk = str(item, A.pk)
  const kind = str(item, A.kind)
  if (kind === TOMBSTONE) return Either.right(undefined)
  const key = pk === undefined ? "" : layout.keyOf(pk)
  const malformed = (reason: string) => malformedOf(key)(`the stored head is malformed: ${reason}`)
  const version = bin(item, A.version)
  if (pk === undefined) return malformed("no partition key")
  if (kind === undefined || !kinds.has(kind)) return malformed(`kind ${JSON.stringify(kind ?? null)}`)
  if (version === undefined || version.length !== Version.BYTES) return malformed("no version this library writes")
  const size = num(item, A.size)
  const lastWrite = num(item, A.lastWrite)
  const expiresAt = num(item, A.expiresAt)
  if (!isCount(size, kind === "log" ? MAX_LOG_ELEMENTS : MAX_STORED_BYTES)) return malformed(`a size of ${size}`)
  if (lastWrite === undefined || !Number.isFinite(lastWrite)) return malformed(`a last write of ${lastWrite}`)
  if (expiresAt !== undefined && !Number.isFinite(expiresAt)) return malformed(`an expiry of ${expiresAt}`)
  const user = bin(item, A.user)
  return Either.right({
    head: { key, kind: kind as Kind, version: Version.format(version), lastWrite, size, expiresAt, user },
    version
  })
}

/**
 * Decodes a head item: `decodeListed`, and where its content is (inline
 * bytes, a chunk manifest, a log generation), every count and size within
 * bounds, so that no read of a corrupted or hostile item allocates without
 * limit.
 *
 * @internal
 */
export const decodeHead = (
  layout: Layout,
  item: Item | undefined
): Either.Either<StoredHead | undefined, Malformed> => {
  if (item === undefined) return Either.right(undefined)
  const decoded = decodeListed(layout, item)
  if (Either.isLeft(decoded)) return Either.left(decoded.left)
  const listed = decoded.right
  if (listed === undefined) return Either.right(undefined)
  const { head } = listed
  const malformed = (reason: string) => malformedOf(head.key)(`the stored head is malformed: ${reason}`)
  const decodedManifest = decodeManifest(head.key, item)
  if (Either.isLeft(decodedManifest)) return malformed(decodedManifest.left.reason)
  const manifest = decodedManifest.right
  // A value's stored bytes are at most its size (compression is kept only when it shrinks), a binary's are its size.
  if (manifest !== undefined && head.kind !== "log" && manifest.bytes > head.size) {
    return malformed(`${manifest.bytes} stored bytes for a size of ${head.size}`)
  }
  const generation = str(item, A.generation)
  const chunkedElements = num(item, A.chunkedElements) ?? 0
  if (head.kind === "log" && (generation === undefined || !isCount(chunkedElements, head.size))) {
    return malformed("a log without a generation, or more chunked elements than elements")
  }
  const inline = bin(item, A.value)
  if (inline !== undefined && (inline.length > MAX_ITEM_BYTES || (head.kind !== "log" && inline.length > head.size))) {
    return malformed(`${inline.length} inline bytes for a size of ${head.size}`)
  }
  return Either.right({ head, version: listed.version, manifest, generation, chunkedElements, inline })
}

/**
 * A head item as a write's condition sees it: whatever is there, tombstones
 * and expired heads included.
 *
 * @internal
 */
export interface HeadState {
  /** Undefined when there is no item, or its `ver` is not binary (not written by this library). */
  readonly version: Uint8Array | undefined
  /** `ver` as stored, whatever its type. */
  readonly storedVersion: AttributeValue | undefined
  readonly tombstone: boolean
  readonly expiresAt: number | undefined
  /** Whether it has content attributes (a chunk manifest, a log generation), well-formed or not. */
  readonly content: boolean
  /** The head, when it is a well-formed one (not a tombstone). */
  readonly stored: StoredHead | undefined
}

/** @internal */
export const stateOf = (layout: Layout, item: Item | undefined): HeadState => {
  const decoded = decodeHead(layout, item)
  const expiresAt = item === undefined ? undefined : num(item, A.expiresAt)
  return {
    version: item === undefined ? undefined : bin(item, A.version),
    storedVersion: item?.[A.version],
    tombstone: item !== undefined && str(item, A.kind) === TOMBSTONE,
    // an expiry that is not a number is no expiry
    expiresAt: expiresAt !== undefined && Number.isFinite(expiresAt) ? expiresAt : undefined,
    content: item !== undefined && (item[A.cid] !== undefined || item[A.generation] !== undefined),
    stored: Either.getOrUndefined(decoded)
  }
}

/** Whether the key is there and alive at `now`. @internal */
export const isLive = (state: HeadState, now: number): boolean =>
  state.version !== undefined && !state.tombstone && (state.expiresAt === undefined || state.expiresAt > now)

/** What a chunk item holds. @internal */
export interface ChunkFields {
  readonly layout: Layout
  readonly key: string
  /** The content id of the content it is a chunk of. */
  readonly cid: string
  readonly index: number
  readonly bytes: Uint8Array
  /** The TTL sweeper's epoch seconds of the head it belongs to. */
  readonly sweepAt: number | undefined
  /** Epoch milliseconds, taken when the item is built (after its write started). */
  readonly writtenAt: number
}

/** A chunk item. @internal */
export const chunkItem = ({ bytes, cid, index, key, layout, sweepAt, writtenAt }: ChunkFields): Item => ({
  ...itemKey(layout.chunkPk(key, cid, index), SK_CHUNK),
  [A.owner]: { S: layout.headPk(key) },
  [A.cid]: { S: cid },
  [A.index]: { N: String(index) },
  [A.writtenAt]: { N: String(writtenAt) },
  [A.value]: { B: bytes },
  ...(sweepAt === undefined ? {} : { [A.ttl]: { N: String(sweepAt) } })
})

/** A log element: its bytes inline, or (too large for one item) the manifest of its chunks. @internal */
export type StoredElement =
  | { readonly _tag: "Inline"; readonly bytes: Uint8Array }
  | { readonly _tag: "Chunked"; readonly manifest: Manifest }

/** The attributes of a chunk manifest. @internal */
export const manifestAttributes = (manifest: Manifest): Item => ({
  [A.cid]: { S: manifest.cid },
  [A.chunks]: { N: String(manifest.chunks) },
  [A.chunkSize]: { N: String(manifest.chunkSize) },
  [A.length]: { N: String(manifest.bytes) },
  [A.crc]: { N: String(manifest.crc) }
})

/** A log element item. @internal */
export const elementItem = (pk: string, sk: string, element: StoredElement): Item =>
  element._tag === "Inline"
    ? { ...itemKey(pk, sk), [A.element]: { B: element.bytes } }
    : { ...itemKey(pk, sk), ...manifestAttributes(element.manifest) }

/**
 * Decodes a log element item of the key `key`; `Malformed` when it is not one
 * this library could have written.
 *
 * @internal
 */
export const decodeElement = (key: string, item: Item): Either.Either<StoredElement, Malformed> => {
  const bytes = bin(item, A.element)
  if (bytes !== undefined) {
    return bytes.length > MAX_ITEM_BYTES
      ? malformedOf(key)(`an element of ${bytes.length} bytes`)
      : Either.right({ _tag: "Inline", bytes })
  }
  return Either.flatMap(
    decodeManifest(key, item),
    (manifest): Either.Either<StoredElement, Malformed> =>
      manifest === undefined
        ? malformedOf(key)("an element with neither bytes nor chunks")
        : Either.right({ _tag: "Chunked", manifest })
  )
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
