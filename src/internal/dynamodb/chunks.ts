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
import { concat } from "../backend.js"
import * as Batch from "./batch.js"
import type { Client } from "./client.js"
import { ConcurrentModification, surface } from "./failure.js"
import type { Layout, Manifest } from "./item.js"
import { A, chunkItem, itemKey, SK_CHUNK } from "./item.js"
import { checksum } from "./plan.js"

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
        chunkItem(target.layout, target.key, target.cid, first + i, bytes, target.sweepAt, writtenAt)
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

/** Reads chunks by index, in index order; `ConcurrentModification` when one is missing. */
const readRange = (
  source: ChunkSource,
  indices: ReadonlyArray<number>,
  options: Batch.SliceOptions
): Effect.Effect<Array<Uint8Array>, KonserveError | ConcurrentModification> =>
  Effect.flatMap(
    Batch.batchGet(
      source.client,
      indices.map((index) => itemKey(source.layout.chunkPk(source.key, source.manifest.cid, index), SK_CHUNK)),
      {
        ConsistentRead: source.consistent,
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
        if (bytes === undefined) {
          return Effect.fail(
            new ConcurrentModification({
              key: source.key,
              what: `chunk ${index} of content ${source.manifest.cid} is gone`,
              version: source.version
            })
          )
        }
        out.push(bytes)
      }
      return Effect.succeed(out)
    }
  )

const integrityError = (key: string, what: string) =>
  new DecodeError({ key, message: `key ${JSON.stringify(key)}: the stored chunks fail the integrity check: ${what}` })

const verify = (source: ChunkSource, actualSize: number, actualCrc: number) =>
  actualSize !== source.manifest.bytes
    ? Effect.fail(integrityError(source.key, `${actualSize} bytes, expected ${source.manifest.bytes}`))
    : actualCrc !== source.manifest.crc
    ? Effect.fail(integrityError(source.key, `CRC-32 ${actualCrc}, expected ${source.manifest.crc}`))
    : Effect.void

/** Reads a chunked content whole and verifies its size and checksum. @internal */
export const readAll = (source: ChunkSource): Effect.Effect<Uint8Array, KonserveError | ConcurrentModification> =>
  Effect.flatMap(
    readRange(source, Array.from({ length: source.manifest.chunks }, (_, i) => i), {
      perRequest: CHUNKS_PER_REQUEST,
      concurrency: REQUESTS_IN_FLIGHT
    }),
    (pieces) => {
      const actualSize = pieces.reduce((sum, piece) => sum + piece.length, 0)
      return Effect.as(verify(source, actualSize, checksum(pieces)), concat(pieces))
    }
  )

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
    const groups = Batch.slices(Array.from({ length: source.manifest.chunks }, (_, i) => i), STREAM_CHUNKS_PER_REQUEST)
    const pieces = Stream.fromIterable(groups).pipe(
      Stream.mapEffect(
        (indices) =>
          Effect.catchTag(
            readRange(source, indices, { perRequest: STREAM_CHUNKS_PER_REQUEST, concurrency: 1 }),
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
