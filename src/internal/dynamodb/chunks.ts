/**
 * Batched item I/O and chunked content: `BatchGetItem`/`BatchWriteItem` in
 * parallel slices that re-send what DynamoDB left unprocessed, splitting
 * bytes and streams into fixed-size chunks, and reading chunks back whole or
 * as a lazy, memory-bounded stream with an integrity check.
 *
 * @internal
 */
import type { KeysAndAttributes, WriteRequest } from "@aws-sdk/client-dynamodb"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { crc32 } from "node:zlib"
import { DecodeError, DynamoDBError, type KonserveError, Throttled } from "../../KonserveError.js"
import { concat } from "../backend.js"
import type { Client } from "./client.js"
import type { Item, Layout, Manifest } from "./item.js"
import { A, chunkItem, itemKey, SK_CHUNK } from "./item.js"

/**
 * The bytes of one chunk: 380 KiB, which leaves room under DynamoDB's
 * 400 KiB item limit for the chunk's keys (a 1024-byte key and a 512-byte
 * prefix included) and attributes.
 *
 * @internal
 */
export const CHUNK_BYTES = 380 * 1024

/** A head whose item (attributes included) is at most this size holds its bytes inline. @internal */
export const INLINE_ITEM_BYTES = 350 * 1024

/** DynamoDB's limits per batch request. @internal */
export const BATCH_GET_KEYS = 100
/** @internal */
export const BATCH_WRITE_ITEMS = 25

/** Chunks per request and requests in flight when reading or writing bytes held in memory. @internal */
export const CHUNKS_PER_REQUEST = 8
/** @internal */
export const REQUESTS_IN_FLIGHT = 8

/**
 * Chunks per request and requests in flight for streams: memory stays at a
 * few chunks (about (in flight + 1) × per request × 380 KiB).
 *
 * @internal
 */
export const STREAM_CHUNKS_PER_REQUEST = 4
/** @internal */
export const STREAM_REQUESTS_IN_FLIGHT = 2

/** Independent batch requests in flight (heads, deletions). @internal */
export const BATCH_CONCURRENCY = 16

/** @internal */
export const slices = <A>(items: ReadonlyArray<A>, size: number): Array<ReadonlyArray<A>> => {
  const out: Array<ReadonlyArray<A>> = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

/**
 * One `BatchWriteItem` of at most 25 requests, re-sending its unprocessed
 * items with backoff; `Throttled` when they are still unprocessed after the
 * retry policy's attempts.
 */
const batchWriteSlice = (client: Client, requests: ReadonlyArray<WriteRequest>): Effect.Effect<void, KonserveError> => {
  const loop = (pending: ReadonlyArray<WriteRequest>, attempt: number): Effect.Effect<void, KonserveError> =>
    Effect.flatMap(
      client.send("BatchWriteItem", { RequestItems: { [client.table]: pending as Array<WriteRequest> } }),
      (out) => {
        const unprocessed = out.UnprocessedItems?.[client.table] ?? []
        if (unprocessed.length === 0) return Effect.void
        if (attempt >= client.retry.maxAttempts) {
          return Effect.fail(new Throttled({ operation: "BatchWriteItem", attempts: attempt }))
        }
        return Effect.zipRight(client.backoff(attempt), loop(unprocessed, attempt + 1))
      }
    )
  return loop(requests, 1)
}

/** Writes requests in parallel slices. @internal */
export const batchWrite = (
  client: Client,
  requests: ReadonlyArray<WriteRequest>,
  options: { readonly perRequest?: number; readonly concurrency?: number } = {}
): Effect.Effect<void, KonserveError> =>
  Effect.forEach(
    slices(requests, Math.min(options.perRequest ?? BATCH_WRITE_ITEMS, BATCH_WRITE_ITEMS)),
    (slice) => batchWriteSlice(client, slice),
    { concurrency: options.concurrency ?? BATCH_CONCURRENCY, discard: true }
  )

/** Puts items in parallel slices. @internal */
export const putItems = (
  client: Client,
  items: ReadonlyArray<Item>,
  options?: { readonly perRequest?: number; readonly concurrency?: number }
): Effect.Effect<void, KonserveError> => batchWrite(client, items.map((Item) => ({ PutRequest: { Item } })), options)

/** Deletes items by primary key in parallel slices. @internal */
export const deleteItems = (client: Client, keys: ReadonlyArray<Item>): Effect.Effect<void, KonserveError> =>
  batchWrite(client, keys.map((Key) => ({ DeleteRequest: { Key } })))

/**
 * Deletes items, best effort: what a failure leaves behind is unreferenced
 * (no head points at it) and only logged.
 *
 * @internal
 */
export const deleteItemsBestEffort = (client: Client, keys: ReadonlyArray<Item>): Effect.Effect<void> =>
  keys.length === 0 ? Effect.void : deleteItems(client, keys).pipe(
    Effect.catchAll((error) =>
      Effect.logWarning(`konserve-dynamodb: ${keys.length} unreferenced items left for a sweep`, error.message)
    )
  )

/** One `BatchGetItem` of at most 100 keys, re-requesting unprocessed keys with backoff. */
const batchGetSlice = (
  client: Client,
  keys: ReadonlyArray<Item>,
  request: Omit<KeysAndAttributes, "Keys">
): Effect.Effect<Array<Item>, KonserveError> => {
  const found: Array<Item> = []
  const loop = (pending: ReadonlyArray<Item>, attempt: number): Effect.Effect<Array<Item>, KonserveError> =>
    Effect.flatMap(
      client.send("BatchGetItem", {
        RequestItems: { [client.table]: { ...request, Keys: pending as Array<Item> } }
      }),
      (out) => {
        found.push(...(out.Responses?.[client.table] ?? []))
        const unprocessed = out.UnprocessedKeys?.[client.table]?.Keys ?? []
        if (unprocessed.length === 0) return Effect.succeed(found)
        if (attempt >= client.retry.maxAttempts) {
          return Effect.fail(new Throttled({ operation: "BatchGetItem", attempts: attempt }))
        }
        return Effect.zipRight(client.backoff(attempt), loop(unprocessed, attempt + 1))
      }
    )
  return Effect.suspend(() => loop(keys, 1))
}

/** Reads items by primary key in parallel slices; the items found, in no particular order. @internal */
export const batchGet = (
  client: Client,
  keys: ReadonlyArray<Item>,
  request: Omit<KeysAndAttributes, "Keys">,
  options: { readonly perRequest?: number; readonly concurrency?: number } = {}
): Effect.Effect<Array<Item>, KonserveError> =>
  Effect.map(
    Effect.forEach(
      slices(keys, Math.min(options.perRequest ?? BATCH_GET_KEYS, BATCH_GET_KEYS)),
      (slice) => batchGetSlice(client, slice, request),
      { concurrency: options.concurrency ?? BATCH_CONCURRENCY }
    ),
    (pages) => pages.flat()
  )

/** Splits bytes into chunks of `CHUNK_BYTES` (views, not copies). @internal */
export const split = (bytes: Uint8Array): Array<Uint8Array> => {
  const out: Array<Uint8Array> = []
  for (let offset = 0; offset < bytes.length; offset += CHUNK_BYTES) {
    out.push(bytes.subarray(offset, offset + CHUNK_BYTES))
  }
  return out
}

/**
 * Re-chunks a byte stream into pieces of exactly `size` bytes (the last one
 * shorter), holding at most one piece besides the input.
 *
 * @internal
 */
export const rechunk =
  (size: number) => <E, R>(stream: Stream.Stream<Uint8Array, E, R>): Stream.Stream<Uint8Array, E, R> =>
    Stream.suspend(() => {
      let buffer = new Uint8Array(size)
      let filled = 0
      const pieces = Stream.mapConcat(stream, (input): Array<Uint8Array> => {
        const out: Array<Uint8Array> = []
        let offset = 0
        while (offset < input.length) {
          if (filled === 0 && input.length - offset >= size) {
            out.push(input.subarray(offset, offset + size))
            offset += size
            continue
          }
          const n = Math.min(size - filled, input.length - offset)
          buffer.set(input.subarray(offset, offset + n), filled)
          filled += n
          offset += n
          if (filled === size) {
            out.push(buffer)
            buffer = new Uint8Array(size)
            filled = 0
          }
        }
        return out
      })
      return Stream.concat(
        pieces,
        Stream.suspend(() => filled > 0 ? Stream.succeed(buffer.subarray(0, filled)) : Stream.empty)
      )
    })

/** The CRC-32 of pieces of bytes. @internal */
export const checksum = (pieces: Iterable<Uint8Array>): number => {
  let crc = 0
  for (const piece of pieces) crc = crc32(piece, crc)
  return crc
}

/** Writes chunks `[first, first + chunks.length)` of a value. @internal */
export const writeChunks = (
  client: Client,
  layout: Layout,
  key: string,
  version: string,
  first: number,
  chunks: ReadonlyArray<Uint8Array>,
  expiresAt: number | undefined,
  options: { readonly perRequest: number; readonly concurrency: number }
): Effect.Effect<void, KonserveError> =>
  putItems(client, chunks.map((bytes, i) => chunkItem(layout, key, version, first + i, bytes, expiresAt)), options)

/**
 * A chunk of the head's version is missing: a concurrent rewrite or removal
 * deleted it after the head was read. Retryable: a new read sees the new head.
 *
 * @internal
 */
export const concurrentModification = (key: string, version: string): DynamoDBError =>
  new DynamoDBError({
    operation: "BatchGetItem",
    name: "ConcurrentModification",
    message: `key ${JSON.stringify(key)}: a chunk of version ${version} is gone: ` +
      "the key was rewritten or removed while it was read; read it again",
    retryable: true
  })

/** Reads chunks by index, in index order; fails with `ConcurrentModification` when one is missing. */
const readChunkRange = (
  client: Client,
  layout: Layout,
  key: string,
  version: string,
  indices: ReadonlyArray<number>,
  consistent: boolean,
  options: { readonly perRequest: number; readonly concurrency: number }
): Effect.Effect<Array<Uint8Array>, KonserveError> =>
  Effect.flatMap(
    batchGet(
      client,
      indices.map((index) => itemKey(layout.chunkPk(key, version, index), SK_CHUNK)),
      {
        ConsistentRead: consistent,
        ProjectionExpression: "#idx, #val",
        ExpressionAttributeNames: { "#idx": A.index, "#val": A.value }
      },
      options
    ),
    (items) => {
      const byIndex = new Map<number, Uint8Array>()
      for (const item of items) {
        const bytes = item[A.value]?.B
        if (bytes !== undefined) byIndex.set(Number(item[A.index]?.N), bytes)
      }
      const out: Array<Uint8Array> = []
      for (const index of indices) {
        const bytes = byIndex.get(index)
        if (bytes === undefined) return Effect.fail(concurrentModification(key, version))
        out.push(bytes)
      }
      return Effect.succeed(out)
    }
  )

const integrityError = (key: string, what: string) =>
  new DecodeError({ key, message: `key ${JSON.stringify(key)}: the stored chunks fail the integrity check: ${what}` })

const verify = (key: string, size: number, manifest: Manifest, actualSize: number, actualCrc: number) =>
  actualSize !== size
    ? Effect.fail(integrityError(key, `${actualSize} bytes, expected ${size}`))
    : actualCrc !== manifest.crc
    ? Effect.fail(integrityError(key, `CRC-32 ${actualCrc}, expected ${manifest.crc}`))
    : Effect.void

/** Reads a chunked value whole and verifies its size and checksum. @internal */
export const readChunks = (
  client: Client,
  layout: Layout,
  key: string,
  version: string,
  size: number,
  manifest: Manifest,
  consistent: boolean
): Effect.Effect<Uint8Array, KonserveError> =>
  Effect.flatMap(
    readChunkRange(
      client,
      layout,
      key,
      version,
      Array.from({ length: manifest.chunks }, (_, i) => i),
      consistent,
      { perRequest: CHUNKS_PER_REQUEST, concurrency: REQUESTS_IN_FLIGHT }
    ),
    (pieces) => {
      const actualSize = pieces.reduce((sum, piece) => sum + piece.length, 0)
      return Effect.as(verify(key, size, manifest, actualSize, checksum(pieces)), concat(pieces))
    }
  )

/**
 * A chunked value as a lazy stream: a bounded window of chunk requests in
 * flight, the size and checksum verified when the last chunk has passed (a
 * mismatch fails the stream with `DecodeError` instead of ending it).
 *
 * @internal
 */
export const chunkStream = (
  client: Client,
  layout: Layout,
  key: string,
  version: string,
  size: number,
  manifest: Manifest,
  consistent: boolean
): Stream.Stream<Uint8Array, KonserveError> =>
  Stream.suspend(() => {
    let crc = 0
    let seen = 0
    const groups = slices(Array.from({ length: manifest.chunks }, (_, i) => i), STREAM_CHUNKS_PER_REQUEST)
    const pieces = Stream.fromIterable(groups).pipe(
      Stream.mapEffect(
        (indices) =>
          readChunkRange(client, layout, key, version, indices, consistent, {
            perRequest: STREAM_CHUNKS_PER_REQUEST,
            concurrency: 1
          }),
        { concurrency: STREAM_REQUESTS_IN_FLIGHT }
      ),
      Stream.mapConcatChunk((group) => {
        for (const piece of group) {
          crc = crc32(piece, crc)
          seen += piece.length
        }
        return Chunk.unsafeFromArray(group)
      })
    )
    return Stream.concat(
      pieces,
      Stream.drain(Stream.fromEffect(Effect.suspend(() => verify(key, size, manifest, seen, crc))))
    )
  })
