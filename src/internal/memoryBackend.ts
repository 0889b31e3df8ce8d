/**
 * The in-memory backend: a `Map` of records owned by one store. Every
 * primitive commits in one synchronous step, so each is atomic exactly as
 * the DynamoDB requests they stand for; bytes are copied in and out, so
 * nothing a caller holds aliases what is stored.
 *
 * @internal
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { ConditionFailed } from "../KonserveError.js"
import type {
  AppendRequest,
  Backend,
  BinaryEntry,
  Condition,
  Entry,
  Head,
  ManyOptions,
  PutRequest,
  RemoveCondition,
  TransactCommitted,
  TransactSnapshot,
  WriteHeader,
  Written
} from "./backend.js"
import { concat, headOf, isAlive } from "./backend.js"
import { INLINE_BYTES } from "./limits.js"
import * as Retry from "./retry.js"
import type { Conflict } from "./retry.js"
import * as Version from "./version.js"

interface StoredRecord {
  readonly head: Head
  /** The encoded value or the binary's bytes, in the pieces they were written in. */
  readonly pieces: ReadonlyArray<Uint8Array>
  /** A log's encoded elements. */
  readonly elements: ReadonlyArray<Uint8Array>
}

/** The size of the pieces a binary is read back in. @internal */
export const READ_CHUNK_BYTES = 256 * 1024

const holds = (condition: Condition, current: StoredRecord | undefined, now: number): boolean => {
  const live = current !== undefined && isAlive(current.head, now)
  switch (condition._tag) {
    case "None":
      return true
    case "Absent":
      return !live
    case "Version":
      return live && current.head.version === condition.version
  }
}

/** @internal */
export const make = (): Backend => {
  const records = new Map<string, StoredRecord>()
  const clock = Version.makeClock()
  const newVersion = () => Version.format(clock.next())

  const entryOf = (record: StoredRecord): Entry =>
    record.head.kind === "log"
      ? { _tag: "Log", head: record.head, elements: record.elements.map((element) => element.slice()) }
      : { _tag: "Bytes", head: record.head, bytes: concat(record.pieces) }

  /** Whether DynamoDB would hold these pieces inline in the head (`INLINE_BYTES`, key and meta included). */
  const inline = (header: WriteHeader, pieces: ReadonlyArray<Uint8Array>): boolean =>
    pieces.reduce((n, piece) => n + piece.length, Buffer.byteLength(header.key, "utf8") + (header.user?.length ?? 0)) <=
      INLINE_BYTES

  /** Stores a key's pieces as one write of `version`; `size` is what `Meta.size` says. */
  const store = (header: WriteHeader, version: string, pieces: ReadonlyArray<Uint8Array>, size: number): Written => {
    const head = headOf(header, version, size)
    records.set(header.key, { head, pieces, elements: [] })
    return { head, inline: inline(header, pieces) }
  }

  /** Writes a key's pieces; `size` is what `Meta.size` says (a value's size before compression). */
  const commit = (header: WriteHeader, pieces: ReadonlyArray<Uint8Array>, size: number) =>
    Effect.suspend(() => {
      if (!holds(header.condition, records.get(header.key), header.now)) {
        return Effect.fail(new ConditionFailed({ key: header.key, operation: header.operation }))
      }
      return Effect.succeed(store(header, newVersion(), pieces, size))
    })

  /** Removes a key; the version of the removal when it removed a key alive at `now`. */
  const removeOne = (key: string, now: number, version: string): Option.Option<string> => {
    const record = records.get(key)
    records.delete(key)
    return record !== undefined && isAlive(record.head, now) ? Option.some(version) : Option.none()
  }

  const readBinary = (key: string) =>
    Effect.sync((): Option.Option<BinaryEntry> => {
      const record = records.get(key)
      if (record === undefined || record.head.kind !== "binary") return Option.none()
      const bytes = concat(record.pieces).slice()
      const stream = Stream.fromIterable(
        Array.from(
          { length: Math.ceil(bytes.length / READ_CHUNK_BYTES) },
          (_, i) => bytes.subarray(i * READ_CHUNK_BYTES, (i + 1) * READ_CHUNK_BYTES)
        )
      )
      return Option.some({ head: record.head, stream })
    })

  const putMany = (requests: ReadonlyArray<PutRequest>, { atomic }: ManyOptions) =>
    atomic
      ? Effect.suspend(() => {
        const failing = requests.find((request) => !holds(request.condition, records.get(request.key), request.now))
        if (failing !== undefined) {
          return Effect.fail(new ConditionFailed({ key: failing.key, operation: failing.operation }))
        }
        const version = newVersion()
        return Effect.succeed(requests.map((request) => store(request, version, [request.bytes.slice()], request.size)))
      })
      : Effect.forEach(requests, (request) => commit(request, [request.bytes.slice()], request.size))

  const append = (request: AppendRequest) =>
    Effect.suspend(() => {
      const current = records.get(request.key)
      const live = current !== undefined && isAlive(current.head, request.now) ? current : undefined
      if (live !== undefined && live.head.kind !== "log") {
        return Effect.fail(new ConditionFailed({ key: request.key, operation: "append" }))
      }
      const elements = [...(live?.elements ?? []), request.element.slice()]
      const head: Head = {
        key: request.key,
        kind: "log",
        version: newVersion(),
        lastWrite: request.now,
        size: elements.length,
        expiresAt: live?.head.expiresAt,
        user: live?.head.user
      }
      records.set(request.key, { head, pieces: [], elements })
      return Effect.succeed(head)
    })

  /** A transaction: the keys read at once; the commit compares every version read, then writes in one step. */
  const transact = (keys: ReadonlyArray<string>, now: number) =>
    Effect.sync((): TransactSnapshot => {
      const read = new Map<string, string | undefined>()
      const found = new Map<string, { readonly head: Head; readonly bytes: Uint8Array | undefined }>()
      for (const key of keys) {
        const record = records.get(key)
        const live = record !== undefined && isAlive(record.head, now) ? record : undefined
        read.set(key, live?.head.version)
        if (live !== undefined) {
          found.set(key, { head: live.head, bytes: live.head.kind === "value" ? concat(live.pieces) : undefined })
        }
      }
      const unchanged = () =>
        keys.every((key) => {
          const record = records.get(key)
          const version = record !== undefined && isAlive(record.head, now) ? record.head.version : undefined
          return version === read.get(key)
        })
      const commit = (puts: ReadonlyArray<PutRequest>, removes: ReadonlyArray<string>) =>
        Effect.suspend((): Effect.Effect<TransactCommitted, Conflict> => {
          if (!unchanged()) return Effect.fail(Retry.conflict)
          if (puts.length === 0 && removes.length === 0) {
            return Effect.succeed({ written: [], removed: [], version: undefined })
          }
          const version = newVersion()
          const removed = removes.filter((key) => Option.isSome(removeOne(key, now, version)))
          const written = puts.map((request) => store(request, version, [request.bytes.slice()], request.size))
          return Effect.succeed({ written, removed, version })
        })
      return { found, commit }
    })

  return {
    transact,
    readHead: (key) => Effect.sync(() => Option.map(Option.fromNullable(records.get(key)), (record) => record.head)),
    readEntry: (key, now) =>
      Effect.sync(() =>
        Option.map(Option.filter(Option.fromNullable(records.get(key)), (r) => isAlive(r.head, now)), entryOf)
      ),
    readBinary,
    readLog: (key) =>
      Effect.sync(() => {
        const record = records.get(key)
        return record === undefined || record.head.kind !== "log"
          ? Option.none()
          : Option.some({ head: record.head, elements: record.elements.map((element) => element.slice()) })
      }),
    readMany: (keys, now) =>
      Effect.sync(() => {
        const found = new Map<string, Entry>()
        for (const key of keys) {
          const record = records.get(key)
          if (record !== undefined && isAlive(record.head, now)) found.set(key, entryOf(record))
        }
        return found
      }),
    scan: Stream.suspend(() =>
      Stream.fromChunk(Chunk.fromIterable(Array.from(records.values(), (record) => record.head)))
    ),
    put: (request) => commit(request, [request.bytes.slice()], request.size),
    putStream: (header, bytes) =>
      // Collect first, commit once at the end: a failed or interrupted stream leaves the old value.
      Effect.flatMap(Stream.runCollect(bytes), (pieces) =>
        commit(
          header,
          Chunk.toReadonlyArray(Chunk.map(pieces, (piece) => piece.slice())),
          Chunk.reduce(pieces, 0, (n, piece) => n + piece.length)
        )),
    remove: (key, now, condition: RemoveCondition) =>
      Effect.suspend(() =>
        holds(condition, records.get(key), now)
          ? Effect.succeed(removeOne(key, now, newVersion()))
          : Effect.fail(new ConditionFailed({ key, operation: "dissoc" }))
      ),
    putMany,
    removeMany: (keys, { atomic, now }) =>
      Effect.sync(() => {
        // Atomic: one version for the whole removal, as DynamoDB's transaction has.
        const version = atomic ? newVersion() : undefined
        return new Map(keys.map((key) => [key, removeOne(key, now, version ?? newVersion())] as const))
      }),
    append
  }
}
