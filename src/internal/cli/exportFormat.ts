/**
 * The export format: a whole store as JSON Lines, one record a line, streamed
 * both ways (memory bounded by a few values at a time, never by the store:
 * docs/cli.md).
 *
 * ```
 * {"type":"header","format":"konserve-dynamodb-export","version":1,"exportedAt":"...","table":"t","prefix":"p"}
 * {"type":"value","key":"k","value":<tagged JSON>,"lastWrite":"...","expiresAt":"...","meta":<tagged JSON>}
 * {"type":"binary","key":"b","size":1048576,"lastWrite":"...","expiresAt":"...","meta":...}
 * {"type":"chunk","bytes":"<base64 of at most 64 KiB>"}            (as many as make `size` bytes)
 * {"type":"log","key":"l","count":2,"lastWrite":"..."}
 * {"type":"element","value":<tagged JSON>}                          (`count` of them, in append order)
 * {"type":"end","keys":3,"values":1,"binaries":1,"logs":1}
 * ```
 *
 * Values, log elements and user metas are tagged JSON (`render.ts`), exact
 * for every storable value. `expiresAt` is absolute: an import sets the
 * remaining time as the TTL, and leaves out what has expired since. `meta`
 * and `expiresAt` appear only when set. `lastWrite` is informational: a
 * store sets `lastWrite` and `version` itself on every write, so an import
 * cannot keep them. The `end` record tells a complete file from a truncated
 * one.
 *
 * This module writes the format (`exportLines`); `importFormat.ts` reads it.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type * as KonserveError from "../../KonserveError.js"
import * as KonserveStore from "../../KonserveStore.js"
import * as FailureCodes from "../failureCodes.js"
import * as Render from "./render.js"

/** The `format` of the header record. @internal */
export const FORMAT = "konserve-dynamodb-export"

/** The version this module writes and reads. @internal */
export const VERSION = 1

/** The most bytes of a binary in one `chunk` record (before base64). @internal */
export const CHUNK_BYTES = 64 * 1024

/** How many keys an export reads ahead of what it writes. @internal */
export const READ_AHEAD = 4

/** Counts of an export or an import, updated while it runs. @internal */
export interface Counts {
  keys: number
  values: number
  binaries: number
  logs: number
  /** Binary bytes and log elements are counted apart: binary bytes here. */
  binaryBytes: number
  /** Keys left out by an import because their `expiresAt` has passed. */
  expired: number
  /** Keys left out by an export because they were gone (removed, expired) by the time it read them. */
  vanished: number
}

/** @internal */
export const emptyCounts = (): Counts => ({
  keys: 0,
  values: 0,
  binaries: 0,
  logs: 0,
  binaryBytes: 0,
  expired: 0,
  vanished: 0
})

// -----------------------------------------------------------------------------
// writing
// -----------------------------------------------------------------------------

const line = (record: Render.Json): string => JSON.stringify(record) + "\n"

const dates = (meta: KonserveStore.Meta): { readonly [key: string]: Render.Json } => ({
  lastWrite: meta.lastWrite.toISOString(),
  ...(meta.expiresAt === undefined ? {} : { expiresAt: meta.expiresAt.toISOString() }),
  ...(meta.user === undefined ? {} : { meta: Render.encode(meta.user) })
})

/** Pieces of at most `CHUNK_BYTES` (none for no bytes: an empty binary has no chunk records). */
const pieces = (bytes: Uint8Array): ReadonlyArray<Uint8Array> => {
  if (bytes.byteLength === 0) return []
  if (bytes.byteLength <= CHUNK_BYTES) return [bytes]
  const out: Array<Uint8Array> = []
  for (let offset = 0; offset < bytes.byteLength; offset += CHUNK_BYTES) {
    out.push(bytes.subarray(offset, Math.min(offset + CHUNK_BYTES, bytes.byteLength)))
  }
  return out
}

/** How many times an export reads a key that keeps changing under it before it gives up. @internal */
export const READ_ATTEMPTS = 10

const valueRecords = (meta: KonserveStore.Meta, value: unknown, counts: Counts): Stream.Stream<string> => {
  counts.keys++
  counts.values++
  return Stream.succeed(line({ type: "value", key: meta.key, value: Render.encode(value), ...dates(meta) }))
}

const logRecords = (
  meta: KonserveStore.Meta,
  elements: ReadonlyArray<unknown>,
  counts: Counts
): Stream.Stream<string> => {
  counts.keys++
  counts.logs++
  return Stream.concat(
    Stream.succeed(line({ type: "log", key: meta.key, count: elements.length, ...dates(meta) })),
    Stream.map(Stream.fromIterable(elements), (element) => line({ type: "element", value: Render.encode(element) }))
  )
}

const binaryRecords = (
  binary: KonserveStore.Binary,
  counts: Counts
): Stream.Stream<string, KonserveError.KonserveError> => {
  counts.keys++
  counts.binaries++
  return Stream.concat(
    Stream.succeed(line({ type: "binary", key: binary.meta.key, size: binary.size, ...dates(binary.meta) })),
    binary.stream.pipe(
      Stream.mapConcat(pieces),
      Stream.map((piece) => {
        counts.binaryBytes += piece.byteLength
        return line({ type: "chunk", bytes: Render.toBase64(piece) })
      })
    )
  )
}

/** A key read: its records, streamed. */
type ReadRecords = Effect.Effect<
  Stream.Stream<string, KonserveError.KonserveError>,
  KonserveError.KonserveError,
  KonserveStore.KonserveStore
>

/**
 * The records of one key, read lazily. The listing only says which keys
 * there are: the kind, meta and expiry written come from the read, so that
 * they belong to the same write as the value.
 *
 * - A binary: `bget` reads its head (its `Meta`) with its content, and a
 *   rewrite while its bytes stream fails the stream.
 * - A value or a log: read as the kind the last `Meta` seen says, then
 *   `getMeta`; the read is of that `Meta`'s write when the version is still
 *   the same (a version changes on every write), else the key is read
 *   again, as the kind it now has, up to `READ_ATTEMPTS` times.
 * - A key that is gone (removed, expired) when it is read: no records,
 *   counted as `vanished`.
 */
const recordsOf = (
  listed: KonserveStore.Meta,
  counts: Counts
): ReadRecords => {
  const key = listed.key
  const vanished = Effect.sync(() => {
    counts.vanished++
    return Stream.empty
  })
  /** The key as it is now: its `Meta` read again, then another attempt. */
  const again = (left: number) =>
    Effect.flatMap(KonserveStore.getMeta(key), (now) => Option.isNone(now) ? vanished : attempt(now.value, left - 1))
  /** Records of `read`'s result if the key is still at `expected`'s write after it. */
  const settled = <A>(
    expected: KonserveStore.Meta,
    left: number,
    read: Effect.Effect<Option.Option<A>, KonserveError.KonserveError, KonserveStore.KonserveStore>,
    records: (meta: KonserveStore.Meta, value: A) => Stream.Stream<string>
  ) =>
    Effect.flatMap(read, (value) =>
      Effect.flatMap(KonserveStore.getMeta(key), (now) => {
        if (Option.isNone(now)) return vanished
        if (Option.isSome(value) && now.value.version === expected.version && now.value.type === expected.type) {
          return Effect.succeed(records(now.value, value.value))
        }
        return attempt(now.value, left - 1)
      }))
  const attempt = (
    expected: KonserveStore.Meta,
    left: number
  ): ReadRecords => {
    if (left === 0) {
      return Effect.fail(
        FailureCodes.concurrentModification(
          "export",
          `key ${JSON.stringify(key)} changed each of the ${READ_ATTEMPTS} times it was read: run the export again`
        )
      )
    }
    switch (expected.type) {
      case "binary":
        return Effect.flatMap(
          KonserveStore.bget(key),
          (binary) => Option.isSome(binary) ? Effect.succeed(binaryRecords(binary.value, counts)) : again(left)
        )
      case "value":
        return settled(expected, left, KonserveStore.get(key), (meta, value) => valueRecords(meta, value, counts))
      case "log":
        return settled(expected, left, KonserveStore.log(key), (meta, elements) => logRecords(meta, elements, counts))
    }
  }
  return attempt(listed, READ_ATTEMPTS)
}

/**
 * The whole store in context as lines of the export format (each with its
 * newline), read lazily: keys as the listing yields them, `READ_AHEAD` keys
 * read ahead, a binary's bytes streamed. Not a point-in-time snapshot: each
 * key is written as it is when it is read (its kind, value, meta and expiry
 * of one write, `recordsOf`); a key gone by then is left out (`vanished`).
 * `filter` picks keys (`--starts-with`).
 *
 * @internal
 */
export const exportLines = (
  source: { readonly table: string; readonly prefix: string | undefined },
  counts: Counts,
  options?: { readonly filter?: ((key: string) => boolean) | undefined; readonly now?: Date }
): Stream.Stream<string, KonserveError.KonserveError, KonserveStore.KonserveStore> => {
  const filter = options?.filter
  const header = line({
    type: "header",
    format: FORMAT,
    version: VERSION,
    exportedAt: (options?.now ?? new Date()).toISOString(),
    table: source.table,
    prefix: source.prefix ?? null
  })
  const body = KonserveStore.keys.pipe(
    Stream.filter((meta) => filter === undefined || filter(meta.key)),
    Stream.mapEffect((meta) => recordsOf(meta, counts), { concurrency: READ_AHEAD }),
    Stream.flatten()
  )
  const end = Stream.suspend(() =>
    Stream.succeed(line({
      type: "end",
      keys: counts.keys,
      values: counts.values,
      binaries: counts.binaries,
      logs: counts.logs
    }))
  )
  return Stream.concat(Stream.concat(Stream.succeed(header), body), end)
}
