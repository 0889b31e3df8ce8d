/**
 * Chunked content: writing a content's chunks under its content id,
 * re-chunking streams into fixed-size pieces, and reading chunks back whole
 * or as a lazy, memory-bounded stream with an integrity check.
 *
 * @internal
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { crc32 } from "node:zlib"
import { DecodeError, type KonserveError } from "../../KonserveError.js"
import * as Batch from "./batch.js"
import type { Client } from "./client.js"
import { ConcurrentModification, surface } from "./failure.js"
import type { Manifest } from "./item.js"
import { A, chunkItem } from "./item.js"
import type { Layout } from "./keyLayout.js"
import { itemKey, SK_CHUNK } from "./keyLayout.js"
import * as Requests from "./requests/index.js"

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

/** Where one content's chunks go. @internal */
export interface ChunkTarget {
  readonly client: Client
  readonly layout: Layout
  readonly key: string
  readonly cid: string
  /** The TTL sweeper's epoch seconds of the head they belong to (chunks never go before it may). */
  readonly sweepAt: number | undefined
}

/**
 * Writes chunks `[first, first + pieces.length)` of a content. The items are
 * built when the effect runs, so their write time (`wt`, the machine's
 * clock) is never before the start of the write they belong to: what the
 * sweep's grace is measured from (docs/consistency.md, "Sweeping").
 *
 * @internal
 */
export const write = (
  target: ChunkTarget,
  first: number,
  pieces: ReadonlyArray<Uint8Array>,
  options: Batch.SliceOptions = { perRequest: CHUNKS_PER_REQUEST, concurrency: REQUESTS_IN_FLIGHT }
): Effect.Effect<void, KonserveError> =>
  Effect.suspend(() => {
    const writtenAt = Date.now()
    return Batch.putItems(
      target.client,
      pieces.map((bytes, i) =>
        chunkItem({
          layout: target.layout,
          key: target.key,
          cid: target.cid,
          index: first + i,
          bytes,
          sweepAt: target.sweepAt,
          writtenAt
        })
      ),
      options
    )
  })

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

/** A stored content to read: its key, the version of the head that points at it, and its manifest. @internal */
export interface ChunkSource {
  readonly client: Client
  readonly layout: Layout
  readonly key: string
  readonly version: string
  readonly manifest: Manifest
  readonly consistent: boolean
}

/** The chunks among `indices` that one `BatchGetItem` round finds, by index. */
const fetchChunks = (
  source: ChunkSource,
  indices: ReadonlyArray<number>,
  consistent: boolean,
  options: Batch.SliceOptions
): Effect.Effect<Map<number, Uint8Array>, KonserveError> =>
  Effect.map(
    Batch.batchGet(
      source.client,
      indices.map((index) => itemKey(source.layout.chunkPk(source.key, source.manifest.cid, index), SK_CHUNK)),
      Requests.chunksRead(consistent),
      options
    ),
    (items) => {
      const byIndex = new Map<number, Uint8Array>()
      for (const item of items) {
        const bytes = item[A.value]?.B
        if (bytes !== undefined) byIndex.set(Number(item[A.index]?.N), bytes)
      }
      return byIndex
    }
  )

/**
 * Reads chunks by index, in index order. Each chunk is checked against the
 * manifest as it arrives: no chunk longer than the manifest's chunk size, and
 * the last exactly what is left (`DecodeError` at once: the read never holds
 * more than the manifest says). A chunk an eventually consistent read does
 * not see yet (a lagging replica) is read again strongly; one missing from a
 * strong read fails with `ConcurrentModification`.
 */
const readRange = (
  source: ChunkSource,
  indices: ReadonlyArray<number>,
  options: Batch.SliceOptions
): Effect.Effect<Array<Uint8Array>, KonserveError | ConcurrentModification> =>
  Effect.flatMap(fetchChunks(source, indices, source.consistent, options), (byIndex) => {
    const missing = indices.filter((index) => !byIndex.has(index))
    const found = missing.length === 0 || source.consistent
      ? Effect.succeed(byIndex)
      : Effect.map(fetchChunks(source, missing, true, options), (strong) => {
        for (const [index, bytes] of strong) byIndex.set(index, bytes)
        return byIndex
      })
    return Effect.flatMap(found, (byIndex): Effect.Effect<Array<Uint8Array>, DecodeError | ConcurrentModification> => {
      const out: Array<Uint8Array> = []
      for (const index of indices) {
        const bytes = byIndex.get(index)
        if (bytes === undefined) {
          return Effect.fail(
            new ConcurrentModification({
              key: source.key,
              what: `chunk ${index} of content ${source.manifest.cid} is gone`,
              version: source.version
            })
          )
        }
        const expected = expectedLength(source.manifest, index)
        if (bytes.length !== expected) {
          return Effect.fail(
            integrityError(source.key, `chunk ${index} is ${bytes.length} bytes, expected ${expected}`)
          )
        }
        out.push(bytes)
      }
      return Effect.succeed(out)
    })
  })

/** The length of chunk `index` of a manifest: its chunk size, the last one what is left. */
const expectedLength = (manifest: Manifest, index: number): number =>
  index < manifest.chunks - 1 ? manifest.chunkSize : manifest.bytes - manifest.chunkSize * (manifest.chunks - 1)

const integrityError = (key: string, what: string) =>
  new DecodeError({ key, message: `key ${JSON.stringify(key)}: the stored chunks fail the integrity check: ${what}` })

const verify = (source: ChunkSource, actualSize: number, actualCrc: number) =>
  actualSize !== source.manifest.bytes
    ? Effect.fail(integrityError(source.key, `${actualSize} bytes, expected ${source.manifest.bytes}`))
    : actualCrc !== source.manifest.crc
    ? Effect.fail(integrityError(source.key, `CRC-32 ${actualCrc}, expected ${source.manifest.crc}`))
    : Effect.void

/** The most bytes one chunk item can hold (DynamoDB's item limit). */
const MAX_CHUNK_ITEM_BYTES = 400 * 1024

/**
 * What a read may hold beyond what its manifest says: a few items. A chunk
 * item can hold up to 400 KB whatever its manifest's chunk size; the chunks
 * in flight are as many as keep their possible excess under this.
 */
const EXCESS_BYTES = 4 * MAX_CHUNK_ITEM_BYTES

/**
 * How many chunks of this chunk size a read keeps in flight: `max`, fewer
 * when the manifest's chunks are so much smaller than an item can be that a
 * hostile item (one larger than its manifest says) would make the read hold
 * more than `EXCESS_BYTES` beyond the content. This library writes 380 KiB
 * chunks: for them the window is `max`.
 *
 * @internal
 */
export const window = (chunkSize: number, max: number): number =>
  Math.max(1, Math.min(max, Math.floor(EXCESS_BYTES / Math.max(1, MAX_CHUNK_ITEM_BYTES - chunkSize))))

/**
 * Reads a chunked content whole into one buffer of the manifest's size: each
 * chunk is checked against the manifest as it arrives and copied to its
 * place, so that the read holds the content and the chunks in flight, never
 * the content twice nor more than the manifest says (docs/limits.md); the
 * checksum is verified over the buffer before it is handed out.
 *
 * @internal
 */
export const readAll = (source: ChunkSource): Effect.Effect<Uint8Array, KonserveError | ConcurrentModification> =>
  Effect.suspend(() => {
    const { manifest } = source
    const out = new Uint8Array(manifest.bytes)
    const inFlight = window(manifest.chunkSize, CHUNKS_PER_REQUEST * REQUESTS_IN_FLIGHT)
    const perRequest = Math.min(CHUNKS_PER_REQUEST, inFlight)
    const groups = Batch.slices(Array.from({ length: manifest.chunks }, (_, i) => i), perRequest)
    return Effect.forEach(
      groups,
      (indices) =>
        Effect.map(readRange(source, indices, { perRequest, concurrency: 1 }), (pieces) => {
          for (let i = 0; i < pieces.length; i++) out.set(pieces[i], indices[i] * manifest.chunkSize)
        }),
      { concurrency: Math.max(1, Math.floor(inFlight / perRequest)), discard: true }
    ).pipe(
      // every chunk had its exact length: the size is the manifest's
      Effect.zipRight(Effect.suspend(() => verify(source, manifest.bytes, crc32(out)))),
      Effect.as(out)
    )
  })

/**
 * A chunked content as a lazy stream: a bounded window of chunk requests in
 * flight, the size and checksum verified when the last chunk has passed (a
 * mismatch fails the stream with `DecodeError` instead of ending it). A chunk
 * gone because the key was rewritten meanwhile fails it with `DynamoDBError`
 * code "ConcurrentModification": never truncated or mixed data.
 *
 * @internal
 */
export const stream = (source: ChunkSource): Stream.Stream<Uint8Array, KonserveError> =>
  Stream.suspend(() => {
    let crc = 0
    let seen = 0
    const inFlight = window(source.manifest.chunkSize, STREAM_CHUNKS_PER_REQUEST * STREAM_REQUESTS_IN_FLIGHT)
    const perRequest = Math.max(1, Math.floor(inFlight / STREAM_REQUESTS_IN_FLIGHT))
    const groups = Batch.slices(Array.from({ length: source.manifest.chunks }, (_, i) => i), perRequest)
    const pieces = Stream.fromIterable(groups).pipe(
      Stream.mapEffect(
        (indices) =>
          Effect.catchTag(
            readRange(source, indices, { perRequest, concurrency: 1 }),
            "ConcurrentModification",
            (error) => Effect.fail(surface(error))
          ),
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
    return Stream.concat(pieces, Stream.drain(Stream.fromEffect(Effect.suspend(() => verify(source, seen, crc)))))
  })
