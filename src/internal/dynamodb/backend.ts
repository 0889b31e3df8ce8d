/**
 * The DynamoDB backend: every `Backend` primitive as a small, counted number
 * of DynamoDB requests. See `docs/data-model.md` for the items and the
 * request budget of each operation.
 *
 * @internal
 */
import type { TransactWriteItem } from "@aws-sdk/client-dynamodb"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { randomBytes, randomUUID } from "node:crypto"
import { crc32 } from "node:zlib"
import { ConditionFailed, DynamoDBError, type KonserveError } from "../../KonserveError.js"
import type {
  AppendRequest,
  Backend,
  BinaryEntry,
  Condition,
  Entry,
  Head,
  PutRequest,
  WriteHeader
} from "../backend.js"
import { headOf, isAlive, RECENT_WRITES } from "../backend.js"
import * as Chunks from "./chunks.js"
import { type Ambiguity, ambiguity as newAmbiguity, cancellationReasons, type Client, conditionItem } from "./client.js"
import type { Content, Item, Layout, Manifest, StoredElement, StoredHead } from "./item.js"
import {
  A,
  chunkKeys,
  contentKeys,
  decodeElement,
  decodeHead,
  elementItem,
  HEAD_PROJECTION,
  headItem,
  itemKey,
  itemSize,
  LOG_END,
  LOG_PREFIX,
  logSk,
  namesOf,
  SEQ_DIGITS,
  SK_HEAD
} from "./item.js"

/** @internal */
export interface BackendOptions {
  readonly consistentRead: boolean
  /** How many times `append` and atomic `removeMany` re-run after a concurrent change. */
  readonly conflictRetries: number
}

/**
 * The aggregate size of the items of one transaction that the store aims
 * under (DynamoDB's limit is 4 MB): above it the largest inline values of an
 * atomic `putMany` move to chunks.
 *
 * @internal
 */
export const TRANSACTION_BYTES = 3_500_000

/** How often a whole read restarts after a concurrent rewrite deleted the chunks it was reading. @internal */
export const READ_RESTARTS = 3

/** Concurrent single-key operations of a non-atomic multi-key operation. @internal */
export const KEY_CONCURRENCY = 16

const isConditionalCheckFailed = (error: KonserveError): error is DynamoDBError =>
  error._tag === "DynamoDBError" && error.name === "ConditionalCheckFailedException"

const isConditionalCancel = (error: KonserveError): error is DynamoDBError =>
  error._tag === "DynamoDBError" && error.name === "TransactionCanceledException" &&
  cancellationReasons(error.cause).some((reason) => reason.Code === "ConditionalCheckFailed")

const isConcurrentModification = (error: KonserveError): boolean =>
  error._tag === "DynamoDBError" && error.name === "ConcurrentModification"

const unknownOutcome = (operation: string, key: string) =>
  new DynamoDBError({
    operation,
    name: "UnknownOutcome",
    message: `${operation} of key ${JSON.stringify(key)}: a retry after a lost response found the key changed ` +
      "by another writer; whether this write was applied is unknown",
    retryable: false
  })

/** Whether a stored head is, or remembers, the write of `version`. */
const wrote = (stored: StoredHead | undefined, version: string): boolean =>
  stored !== undefined && (stored.head.version === version || stored.head.recent.includes(version))

const conditionOf = (condition: Condition, now: number): {
  readonly ConditionExpression?: string
  readonly ExpressionAttributeNames?: Record<string, string>
  readonly ExpressionAttributeValues?: Item
} => {
  switch (condition._tag) {
    case "None":
      return {}
    case "Absent": {
      const expression = "attribute_not_exists(#pk) OR #exp <= :now"
      return {
        ConditionExpression: expression,
        ExpressionAttributeNames: namesOf(expression),
        ExpressionAttributeValues: { ":now": { N: String(now) } }
      }
    }
    case "Version": {
      const expression = "#ver = :ver AND (attribute_not_exists(#exp) OR #exp > :now)"
      return {
        ConditionExpression: expression,
        ExpressionAttributeNames: namesOf(expression),
        ExpressionAttributeValues: { ":ver": { S: condition.version }, ":now": { N: String(now) } }
      }
    }
  }
}

const newGeneration = (): string => randomBytes(6).toString("hex")

/**
 * Builds the backend on a table.
 *
 * @internal
 */
export const make = (client: Client, layout: Layout, options: BackendOptions): Backend => {
  const table = client.table
  const consistent = options.consistentRead

  // ---------------------------------------------------------------------------------------------
  // heads

  const getHead = (key: string, withBytes: boolean): Effect.Effect<StoredHead | undefined, KonserveError> =>
    Effect.map(
      client.send("GetItem", {
        TableName: table,
        Key: itemKey(layout.headPk(key), SK_HEAD),
        ConsistentRead: consistent,
        ...(withBytes
          ? {}
          : { ProjectionExpression: HEAD_PROJECTION, ExpressionAttributeNames: namesOf(HEAD_PROJECTION) })
      }),
      (out) => decodeHead(layout, out.Item)
    )

  const getHeads = (keys: ReadonlyArray<string>, withBytes: boolean) =>
    Effect.map(
      Chunks.batchGet(
        client,
        keys.map((key) => itemKey(layout.headPk(key), SK_HEAD)),
        withBytes
          ? { ConsistentRead: consistent }
          : {
            ConsistentRead: consistent,
            ProjectionExpression: HEAD_PROJECTION,
            ExpressionAttributeNames: namesOf(HEAD_PROJECTION)
          }
      ),
      (items) => {
        const heads = new Map<string, StoredHead>()
        for (const item of items) {
          const stored = decodeHead(layout, item)
          if (stored !== undefined) heads.set(stored.head.key, stored)
        }
        return heads
      }
    )

  /**
   * The keys of what a head's content occupies: computed from the head, but
   * a log with chunked elements is read (one `Query` of its elements without
   * their bytes) to find their chunks.
   */
  const contentKeysOf = (stored: StoredHead): Effect.Effect<Array<Item>, KonserveError> => {
    const keys = contentKeys(layout, stored)
    if (stored.head.kind !== "log" || stored.chunkedElements === 0 || stored.generation === undefined) {
      return Effect.succeed(keys)
    }
    const { generation, head } = stored
    const expression = "#pk = :pk AND begins_with(#sk, :gen)"
    const page = (cursor: Item | undefined): Effect.Effect<Array<Item>, KonserveError> =>
      Effect.flatMap(
        client.send("Query", {
          TableName: table,
          KeyConditionExpression: expression,
          ProjectionExpression: "#sk, #ver, #chunks",
          ExpressionAttributeNames: namesOf(`${expression} #ver #chunks`),
          ExpressionAttributeValues: {
            ":pk": { S: layout.headPk(head.key) },
            ":gen": { S: `${LOG_PREFIX}${generation}#` }
          },
          ConsistentRead: true,
          ...(cursor === undefined ? {} : { ExclusiveStartKey: cursor })
        }),
        (out) => {
          const chunks = (out.Items ?? []).flatMap((item) => {
            const version = item[A.version]?.S
            const count = Number(item[A.chunks]?.N ?? 0)
            return version === undefined || count === 0 ? [] : chunkKeys(layout, head.key, version, count)
          })
          return out.LastEvaluatedKey === undefined
            ? Effect.succeed(chunks)
            : Effect.map(page(out.LastEvaluatedKey), (more) => [...chunks, ...more])
        }
      )
    return Effect.map(page(undefined), (chunks) => [...keys, ...chunks])
  }

  /** Deletes what replaced or removed heads' content occupied, best effort. */
  const dropContents = (stored: Iterable<StoredHead>): Effect.Effect<void> =>
    Effect.forEach(Array.from(stored).filter(hasContent), contentKeysOf, { concurrency: Chunks.BATCH_CONCURRENCY })
      .pipe(
        Effect.flatMap((keys) => Chunks.deleteItemsBestEffort(client, keys.flat())),
        Effect.catchAll((error) =>
          Effect.logWarning("konserve-dynamodb: unreferenced items left for a sweep", error.message)
        )
      )

  /** Whether a head's content lives outside it (chunks, log elements): an inline value has nothing to drop. */
  const hasContent = (stored: StoredHead): boolean =>
    stored.manifest !== undefined || (stored.head.kind === "log" && stored.generation !== undefined)

  const dropContent = (stored: StoredHead | undefined): Effect.Effect<void> =>
    stored === undefined || !hasContent(stored) ? Effect.void : dropContents([stored])

  // ---------------------------------------------------------------------------------------------
  // reads

  const contentOf = (stored: StoredHead): Effect.Effect<Uint8Array, KonserveError> =>
    stored.manifest !== undefined
      ? Chunks.readChunks(
        client,
        layout,
        stored.head.key,
        stored.head.version,
        stored.head.size,
        stored.manifest,
        consistent
      )
      : Effect.succeed(stored.inline ?? new Uint8Array(0))

  const readEntryOnce = (key: string): Effect.Effect<Option.Option<Entry>, KonserveError> =>
    Effect.flatMap(getHead(key, true), (stored) =>
      stored === undefined
        ? Effect.succeed(Option.none())
        : Effect.map(contentOf(stored), (bytes) => Option.some({ head: stored.head, bytes })))

  /** Restarts a whole read when a concurrent rewrite deleted the chunks it was reading: it then sees the new value. */
  const restarting = <A>(read: Effect.Effect<A, KonserveError>): Effect.Effect<A, KonserveError> => {
    const loop = (attempt: number): Effect.Effect<A, KonserveError> =>
      Effect.catchIf(
        read,
        (error) => attempt < READ_RESTARTS && isConcurrentModification(error),
        () => Effect.zipRight(client.backoff(attempt), loop(attempt + 1))
      )
    return loop(1)
  }

  const readHead = (key: string): Effect.Effect<Option.Option<Head>, KonserveError> =>
    Effect.map(getHead(key, false), (stored) => Option.fromNullable(stored?.head))

  const readEntry = (key: string): Effect.Effect<Option.Option<Entry>, KonserveError> => restarting(readEntryOnce(key))

  const readBinary = (key: string): Effect.Effect<Option.Option<BinaryEntry>, KonserveError> =>
    Effect.map(getHead(key, true), (stored): Option.Option<BinaryEntry> => {
      if (stored === undefined || stored.head.kind !== "binary") return Option.none()
      const { head, inline, manifest } = stored
      return Option.some({
        head,
        stream: manifest === undefined
          ? Stream.succeed(inline ?? new Uint8Array(0))
          : Chunks.chunkStream(client, layout, head.key, head.version, head.size, manifest, consistent)
      })
    })

  /**
   * One `Query` over the key's partition from the head (`h`) to the last log
   * element (`l#...`): the head first, then the elements in order. Elements
   * of an older generation of the log (being cleaned up) are skipped.
   */
  const readLogOnce = (key: string) =>
    Effect.gen(function*() {
      const pk = layout.headPk(key)
      const projection = `${HEAD_PROJECTION}, #sk, #el`
      let stored: StoredHead | undefined
      let cursor: Item | undefined
      const elements: Array<StoredElement> = []
      do {
        const out = yield* client.send("Query", {
          TableName: table,
          KeyConditionExpression: "#pk = :pk AND #sk BETWEEN :from AND :to",
          ProjectionExpression: projection,
          ExpressionAttributeNames: namesOf(`#pk #sk ${projection}`),
          ExpressionAttributeValues: { ":pk": { S: pk }, ":from": { S: SK_HEAD }, ":to": { S: LOG_END } },
          ConsistentRead: consistent,
          ...(cursor === undefined ? {} : { ExclusiveStartKey: cursor })
        })
        for (const item of out.Items ?? []) {
          const sk = item[A.sk]?.S
          if (sk === SK_HEAD) {
            stored = decodeHead(layout, item)
            if (stored?.head.kind !== "log" || stored.generation === undefined) return Option.none()
          } else if (stored !== undefined && sk !== undefined) {
            const own = `${LOG_PREFIX}${stored.generation}#`
            const element = decodeElement(item)
            if (sk.startsWith(own) && sk.length === own.length + SEQ_DIGITS && element !== undefined) {
              if (Number(sk.slice(own.length)) < stored.head.size) elements.push(element)
            }
          }
        }
        if (stored === undefined) return Option.none()
        cursor = out.LastEvaluatedKey
      } while (cursor !== undefined)
      if (elements.length !== stored.head.size) {
        return yield* Chunks.concurrentModification(key, stored.head.version)
      }
      const bytes = yield* Effect.forEach(
        elements,
        (element) =>
          element._tag === "Inline"
            ? Effect.succeed(element.bytes)
            : Chunks.readChunks(client, layout, key, element.version, element.size, element.manifest, consistent),
        { concurrency: Chunks.REQUESTS_IN_FLIGHT }
      )
      return Option.some({ head: stored.head, elements: bytes })
    })

  const readLog = (key: string) => restarting(readLogOnce(key))

  const readMany = (keys: ReadonlyArray<string>): Effect.Effect<ReadonlyMap<string, Entry>, KonserveError> =>
    Effect.flatMap(getHeads(keys, true), (heads) => {
      const out = new Map<string, Entry>()
      const chunked: Array<StoredHead> = []
      // Inline entries need nothing more (and no fiber each); chunked ones read their chunks, a few at a time.
      for (const stored of heads.values()) {
        if (stored.manifest === undefined) {
          out.set(stored.head.key, { head: stored.head, bytes: stored.inline ?? new Uint8Array(0) })
        } else {
          chunked.push(stored)
        }
      }
      if (chunked.length === 0) return Effect.succeed(out)
      return Effect.as(
        Effect.forEach(
          chunked,
          (stored) =>
            Effect.map(contentOf(stored), (bytes) => Option.some<Entry>({ head: stored.head, bytes })).pipe(
              // Rewritten meanwhile: read it again on its own.
              Effect.catchIf(isConcurrentModification, () => readEntry(stored.head.key)),
              Effect.map(Option.map((entry) => out.set(entry.head.key, entry)))
            ),
          { concurrency: Chunks.REQUESTS_IN_FLIGHT, discard: true }
        ),
        out
      )
    })

  const scanExpression = "#sk = :h AND begins_with(#pk, :prefix)"
  const scan: Stream.Stream<Head, KonserveError> = Stream.paginateChunkEffect(
    undefined as Item | undefined,
    (cursor) =>
      Effect.map(
        client.send("Scan", {
          TableName: table,
          FilterExpression: scanExpression,
          ProjectionExpression: HEAD_PROJECTION,
          ExpressionAttributeNames: namesOf(`${scanExpression} ${HEAD_PROJECTION}`),
          ExpressionAttributeValues: { ":h": { S: SK_HEAD }, ":prefix": { S: layout.prefix } },
          ConsistentRead: consistent,
          ...(cursor === undefined ? {} : { ExclusiveStartKey: cursor })
        }),
        (out) =>
          [
            Chunk.unsafeFromArray((out.Items ?? []).flatMap((item) => {
              const stored = decodeHead(layout, item)
              return stored === undefined ? [] : [stored.head]
            })),
            Option.fromNullable(out.LastEvaluatedKey)
          ] as const
      )
  )

  // ---------------------------------------------------------------------------------------------
  // writes

  /** Whether `size` bytes fit inline in the head of this write. */
  const fitsInline = (header: WriteHeader, size: number): boolean => {
    const empty = headItem(layout.headPk(header.key), headOf(header, size), {
      _tag: "Inline",
      bytes: new Uint8Array(0)
    })
    return itemSize(empty) + size <= Chunks.INLINE_ITEM_BYTES
  }

  const manifestOf = (pieces: ReadonlyArray<Uint8Array>): Manifest => ({
    chunks: pieces.length,
    chunkSize: Chunks.CHUNK_BYTES,
    crc: Chunks.checksum(pieces)
  })

  /**
   * Puts the head of a write with its condition. A condition that fails
   * because an earlier attempt of this very write was applied (its answer
   * lost) is success: the current head is, or remembers, this version. The
   * replaced head's chunks or log elements are deleted after.
   */
  const putHead = (
    header: WriteHeader,
    content: Content,
    size: number,
    ambiguity: Ambiguity
  ): Effect.Effect<void, KonserveError> => {
    const conditional = header.condition._tag !== "None"
    return client.send("PutItem", {
      TableName: table,
      Item: headItem(layout.headPk(header.key), headOf(header, size), content),
      ReturnValues: "ALL_OLD",
      ...conditionOf(header.condition, header.now),
      ...(conditional ? { ReturnValuesOnConditionCheckFailure: "ALL_OLD" as const } : {})
    }, { ambiguity, unknownOutcome: conditional }).pipe(
      Effect.flatMap((out) => {
        const old = decodeHead(layout, out.Attributes)
        // A resent blind put returns its own first attempt as the old head: keep its chunks.
        return old === undefined || old.head.version === header.version ? Effect.void : dropContent(old)
      }),
      Effect.catchIf(isConditionalCheckFailed, (error): Effect.Effect<void, KonserveError> => {
        const current = decodeHead(layout, conditionItem(error.cause))
        if (wrote(current, header.version)) return Effect.void
        if (ambiguity.ambiguous) return Effect.fail(unknownOutcome(header.operation, header.key))
        return Effect.fail(new ConditionFailed({ key: header.key, operation: header.operation }))
      })
    )
  }

  /**
   * Runs a write whose new chunks precede its head; when it fails, deletes
   * the new chunks unless the head request may have been applied (an
   * ambiguous failure or an interruption after it was sent).
   */
  const withChunkCleanup = <A, E, R>(
    newChunks: () => ReadonlyArray<Item>,
    write: (state: { headSent: boolean; readonly ambiguity: Ambiguity }) => Effect.Effect<A, E, R>
  ): Effect.Effect<A, E, R> =>
    Effect.suspend(() => {
      const state = { headSent: false, ambiguity: newAmbiguity() }
      return Effect.onExit(write(state), (exit) =>
        Exit.isSuccess(exit) || (state.headSent && (state.ambiguity.ambiguous || Cause.isInterrupted(exit.cause)))
          ? Effect.void
          : Chunks.deleteItemsBestEffort(client, newChunks()))
    })

  const put = (request: PutRequest): Effect.Effect<void, KonserveError> => {
    if (fitsInline(request, request.bytes.length)) {
      return putHead(request, { _tag: "Inline", bytes: request.bytes }, request.bytes.length, newAmbiguity())
    }
    const pieces = Chunks.split(request.bytes)
    const manifest = manifestOf(pieces)
    return withChunkCleanup(
      () => chunkKeys(layout, request.key, request.version, pieces.length),
      (state) =>
        Chunks.writeChunks(client, layout, request.key, request.version, 0, pieces, request.expiresAt, {
          perRequest: Chunks.CHUNKS_PER_REQUEST,
          concurrency: Chunks.REQUESTS_IN_FLIGHT
        }).pipe(
          Effect.zipRight(Effect.suspend(() => {
            state.headSent = true
            return putHead(request, { _tag: "Chunked", manifest }, request.bytes.length, state.ambiguity)
          }))
        )
    )
  }

  const putStream = <E, R>(
    header: WriteHeader,
    bytes: Stream.Stream<Uint8Array, E, R>
  ): Effect.Effect<void, KonserveError | E, R> =>
    Effect.suspend(() => {
      let pieces = 0
      let dispatched = 0
      let size = 0
      let crc = 0
      let inline: Uint8Array | undefined
      const writeAll = bytes.pipe(
        Chunks.rechunk(Chunks.CHUNK_BYTES),
        Stream.map((piece) => {
          const index = pieces++
          size += piece.length
          crc = crc32(piece, crc)
          return [index, piece] as const
        }),
        Stream.grouped(Chunks.STREAM_CHUNKS_PER_REQUEST),
        Stream.mapEffect((group) => {
          const batch = Chunk.toReadonlyArray(group)
          const [first, piece] = batch[0]
          // A lone first piece shorter than a chunk: the stream ended, and the value may fit inline.
          if (
            batch.length === 1 && first === 0 && piece.length < Chunks.CHUNK_BYTES && fitsInline(header, piece.length)
          ) {
            inline = piece
            return Effect.void
          }
          dispatched = Math.max(dispatched, first + batch.length)
          return Chunks.writeChunks(
            client,
            layout,
            header.key,
            header.version,
            first,
            batch.map(([, p]) => p),
            header.expiresAt,
            {
              perRequest: Chunks.STREAM_CHUNKS_PER_REQUEST,
              concurrency: 1
            }
          )
        }, { concurrency: Chunks.STREAM_REQUESTS_IN_FLIGHT }),
        Stream.runDrain
      )
      return withChunkCleanup(
        () => chunkKeys(layout, header.key, header.version, dispatched),
        (state) =>
          Effect.zipRight(
            writeAll,
            Effect.suspend(() => {
              state.headSent = true
              const content: Content = pieces === 0 || inline !== undefined
                ? { _tag: "Inline", bytes: inline ?? new Uint8Array(0) }
                : { _tag: "Chunked", manifest: { chunks: pieces, chunkSize: Chunks.CHUNK_BYTES, crc } }
              return putHead(header, content, size, state.ambiguity)
            })
          )
      )
    })

  const remove = (key: string): Effect.Effect<Option.Option<Head>, KonserveError> =>
    client.send("DeleteItem", {
      TableName: table,
      Key: itemKey(layout.headPk(key), SK_HEAD),
      ReturnValues: "ALL_OLD"
    }).pipe(
      Effect.flatMap((out) => {
        const old = decodeHead(layout, out.Attributes)
        return Effect.as(dropContent(old), Option.fromNullable(old?.head))
      })
    )

  // ---------------------------------------------------------------------------------------------
  // multi-key writes

  /** Not atomic: blind inline writes in `BatchWriteItem`s, everything else one `put` each. */
  const putManyBatched = (requests: ReadonlyArray<PutRequest>): Effect.Effect<void, KonserveError> => {
    const batched = requests.filter((r) => r.condition._tag === "None" && fitsInline(r, r.bytes.length))
    const inBatch = new Set(batched)
    const single = requests.filter((r) => !inBatch.has(r))
    const batch = batched.length === 0 ? Effect.void : Effect.gen(function*() {
      // The old heads say which replaced values had chunks or log elements to delete.
      const old = yield* getHeads(batched.map((r) => r.key), false)
      yield* Chunks.putItems(
        client,
        batched.map((r) =>
          headItem(layout.headPk(r.key), headOf(r, r.bytes.length), { _tag: "Inline", bytes: r.bytes })
        )
      )
      yield* dropContents(old.values())
    })
    return Effect.asVoid(
      Effect.all([batch, Effect.forEach(single, put, { concurrency: KEY_CONCURRENCY, discard: true })], {
        concurrency: 2
      })
    )
  }

  /** Atomic: chunk what does not fit, then one `TransactWriteItems` of every head. */
  const putManyAtomic = (requests: ReadonlyArray<PutRequest>): Effect.Effect<void, KonserveError> => {
    // Values that do not fit inline go to chunks; then the largest inline ones, until the transaction fits.
    const chunked = new Set(requests.filter((r) => !fitsInline(r, r.bytes.length)))
    const inlineSize = (r: PutRequest) =>
      itemSize(headItem(layout.headPk(r.key), headOf(r, r.bytes.length), { _tag: "Inline", bytes: r.bytes }))
    let total = requests.reduce((sum, r) => sum + (chunked.has(r) ? 1024 + r.key.length * 2 : inlineSize(r)), 0)
    for (const r of [...requests].filter((r) => !chunked.has(r)).sort((a, b) => b.bytes.length - a.bytes.length)) {
      if (total <= TRANSACTION_BYTES) break
      chunked.add(r)
      total -= inlineSize(r) - 1024
    }
    const pieces = new Map(Array.from(chunked, (r) => [r, Chunks.split(r.bytes)] as const))
    const newChunks = () => Array.from(pieces, ([r, p]) => chunkKeys(layout, r.key, r.version, p.length)).flat()
    // Only a write that may replace an existing value needs its old head (to delete replaced chunks or
    // log elements after); `Absent` replaces at most an expired value, whose chunks DynamoDB's TTL sweeps.
    const replacing = requests.filter((r) => r.condition._tag !== "Absent").map((r) => r.key)

    return withChunkCleanup(newChunks, (state) =>
      Effect.gen(function*() {
        const [old] = yield* Effect.all([
          replacing.length > 0 ? getHeads(replacing, false) : Effect.succeed(new Map<string, StoredHead>()),
          Effect.forEach(pieces, ([r, p]) =>
            Chunks.writeChunks(client, layout, r.key, r.version, 0, p, r.expiresAt, {
              perRequest: Chunks.CHUNKS_PER_REQUEST,
              concurrency: Chunks.REQUESTS_IN_FLIGHT
            }), { concurrency: Chunks.REQUESTS_IN_FLIGHT, discard: true })
        ], { concurrency: 2 })
        const items: Array<TransactWriteItem> = requests.map((r) => {
          const p = pieces.get(r)
          const content: Content = p === undefined
            ? { _tag: "Inline", bytes: r.bytes }
            : { _tag: "Chunked", manifest: manifestOf(p) }
          return {
            Put: {
              TableName: table,
              Item: headItem(layout.headPk(r.key), headOf(r, r.bytes.length), content),
              ...conditionOf(r.condition, r.now),
              ...(r.condition._tag === "None" ? {} : { ReturnValuesOnConditionCheckFailure: "ALL_OLD" as const })
            }
          }
        })
        state.headSent = true
        yield* client.send(
          "TransactWriteItems",
          { TransactItems: items, ClientRequestToken: randomUUID() },
          { ambiguity: state.ambiguity, unknownOutcome: true }
        ).pipe(
          Effect.catchIf(isConditionalCancel, (error): Effect.Effect<void, KonserveError> => {
            const reasons = cancellationReasons(error.cause)
            // An earlier attempt of this transaction was applied (all of it: it is atomic).
            if (reasons.some((reason, i) => wrote(decodeHead(layout, reason.Item), requests[i].version))) {
              return Effect.void
            }
            // Not applied, even after an ambiguous attempt: a resend with the same token of an applied
            // transaction succeeds instead of being cancelled.
            const failed = requests[reasons.findIndex((reason) => reason.Code === "ConditionalCheckFailed")]
            return Effect.fail(new ConditionFailed({ key: failed.key, operation: failed.operation }))
          })
        )
        const versions = new Map(requests.map((r) => [r.key, r.version]))
        yield* dropContents(Array.from(old.values()).filter((s) => versions.get(s.head.key) !== s.head.version))
      }))
  }

  const putMany = (requests: ReadonlyArray<PutRequest>, atomic: boolean): Effect.Effect<void, KonserveError> =>
    requests.length === 0
      ? Effect.void
      : atomic
      ? putManyAtomic(requests)
      : putManyBatched(requests)

  /**
   * Atomic: read the heads, then one transaction deleting the existing ones
   * on their version and checking the missing ones are still missing; a
   * concurrent change cancels it and it runs again on fresh heads.
   */
  const removeManyAtomic = (
    keys: ReadonlyArray<string>
  ): Effect.Effect<ReadonlyMap<string, Option.Option<Head>>, KonserveError> => {
    const loop = (attempt: number): Effect.Effect<ReadonlyMap<string, Option.Option<Head>>, KonserveError> =>
      Effect.gen(function*() {
        const heads = yield* getHeads(keys, false)
        const result = new Map(keys.map((key) => [key, Option.fromNullable(heads.get(key)?.head)]))
        // Nothing to delete: the consistent read of the heads is the answer.
        if (heads.size === 0) return Option.some(result)
        const items: Array<TransactWriteItem> = keys.map((key) => {
          const stored = heads.get(key)
          const Key = itemKey(layout.headPk(key), SK_HEAD)
          return stored === undefined
            ? {
              ConditionCheck: {
                TableName: table,
                Key,
                ConditionExpression: "attribute_not_exists(#pk)",
                ExpressionAttributeNames: { "#pk": A.pk }
              }
            }
            : {
              Delete: {
                TableName: table,
                Key,
                ConditionExpression: "#ver = :ver",
                ExpressionAttributeNames: { "#ver": A.version },
                ExpressionAttributeValues: { ":ver": { S: stored.head.version } }
              }
            }
        })
        const done = yield* client.send(
          "TransactWriteItems",
          { TransactItems: items, ClientRequestToken: randomUUID() },
          { ambiguity: newAmbiguity(), unknownOutcome: true }
        ).pipe(
          Effect.as(true),
          Effect.catchIf(isConditionalCancel, (error): Effect.Effect<boolean, KonserveError> => {
            // A concurrent change (a transaction with the same token that was applied would have
            // succeeded instead): run again on fresh heads.
            const failed = keys[cancellationReasons(error.cause).findIndex((r) => r.Code === "ConditionalCheckFailed")]
            return attempt < options.conflictRetries
              ? Effect.succeed(false)
              : Effect.fail(new ConditionFailed({ key: failed, operation: "multiDissoc" }))
          })
        )
        if (!done) return Option.none()
        yield* dropContents(heads.values())
        return Option.some(result)
      }).pipe(
        Effect.flatMap(Option.match({
          onNone: () => Effect.zipRight(client.backoff(attempt), loop(attempt + 1)),
          onSome: Effect.succeed
        }))
      )
    return loop(0)
  }

  const removeMany = (
    keys: ReadonlyArray<string>,
    atomic: boolean
  ): Effect.Effect<ReadonlyMap<string, Option.Option<Head>>, KonserveError> =>
    keys.length === 0
      ? Effect.succeed(new Map())
      : atomic
      ? removeManyAtomic(keys)
      : Effect.map(
        Effect.forEach(keys, (key) => Effect.map(remove(key), (head) => [key, head] as const), {
          concurrency: KEY_CONCURRENCY
        }),
        (pairs) => new Map(pairs)
      )

  // ---------------------------------------------------------------------------------------------
  // logs

  /**
   * One transaction: bump the head (count + 1, new version) on the version
   * read and put the element at the next sequence number; or, for a missing
   * or expired key, put a new log head (a new generation) with its first
   * element. A concurrent append cancels it and it runs again on the fresh
   * head; a retry after a lost answer reuses its `ClientRequestToken`, and a
   * head that remembers this version means it was applied.
   */
  const append = (request: AppendRequest): Effect.Effect<void, KonserveError> => {
    const pk = layout.headPk(request.key)
    // An element too large for one item goes to chunks first, under the append's own version.
    const inline = itemSize(elementItem(pk, logSk("000000000000", 0), { _tag: "Inline", bytes: request.element })) <=
      Chunks.INLINE_ITEM_BYTES
    const pieces = inline ? [] : Chunks.split(request.element)
    const manifest = manifestOf(pieces)
    const element = (sk: string) =>
      elementItem(
        pk,
        sk,
        inline
          ? { _tag: "Inline", bytes: request.element }
          : { _tag: "Chunked", version: request.version, size: request.element.length, manifest }
      )

    const attemptOnce = (attempt: number, ambiguity: Ambiguity) =>
      Effect.gen(function*() {
        const stored = yield* getHead(request.key, false)
        if (wrote(stored, request.version)) return true
        const live = stored !== undefined && isAlive(stored.head, request.now)
        if (live && (stored.head.kind !== "log" || stored.generation === undefined)) {
          return yield* new ConditionFailed({ key: request.key, operation: "append" })
        }
        let items: Array<TransactWriteItem>
        if (live && stored.generation !== undefined) {
          const { generation, head } = stored
          const update = "SET #size = :size, #ver = :ver, #lw = :lw, #recent = :recent" +
            (inline ? "" : ", #lchunked = if_not_exists(#lchunked, :zero) + :one")
          items = [
            {
              Update: {
                TableName: table,
                Key: itemKey(pk, SK_HEAD),
                UpdateExpression: update,
                ConditionExpression: "#ver = :old",
                ExpressionAttributeNames: namesOf(update),
                ExpressionAttributeValues: {
                  ":size": { N: String(head.size + 1) },
                  ":ver": { S: request.version },
                  ":lw": { N: String(request.now) },
                  ":recent": { L: [request.version, ...head.recent].slice(0, RECENT_WRITES).map((S) => ({ S })) },
                  ":old": { S: head.version },
                  ...(inline ? {} : { ":zero": { N: "0" }, ":one": { N: "1" } })
                }
              }
            },
            { Put: { TableName: table, Item: element(logSk(generation, head.size)) } }
          ]
        } else {
          const generation = newGeneration()
          const condition = stored === undefined
            ? { ConditionExpression: "attribute_not_exists(#pk)", ExpressionAttributeNames: { "#pk": A.pk } }
            : {
              ConditionExpression: "#ver = :old",
              ExpressionAttributeNames: { "#ver": A.version },
              ExpressionAttributeValues: { ":old": { S: stored.head.version } }
            }
          const head = headItem(pk, {
            kind: "log",
            version: request.version,
            lastWrite: request.now,
            size: 1,
            expiresAt: undefined,
            user: undefined,
            recent: [request.version]
          }, { _tag: "Log", generation })
          if (!inline) head[A.chunkedElements] = { N: "1" }
          items = [
            { Put: { TableName: table, Item: head, ...condition } },
            { Put: { TableName: table, Item: element(logSk(generation, 0)) } }
          ]
        }
        const done = yield* client.send(
          "TransactWriteItems",
          { TransactItems: items, ClientRequestToken: randomUUID() },
          { ambiguity, unknownOutcome: true }
        ).pipe(
          Effect.as(true),
          // A concurrent append or write: run again on the fresh head (which also tells whether an
          // earlier attempt of this append was applied).
          Effect.catchIf(isConditionalCancel, () =>
            attempt < options.conflictRetries
              ? Effect.succeed(false)
              : Effect.fail(new ConditionFailed({ key: request.key, operation: "append" })))
        )
        // An expired value or log was replaced: its content goes.
        if (done && stored !== undefined && !live) yield* dropContent(stored)
        return done
      })

    const loop = (attempt: number, ambiguity: Ambiguity): Effect.Effect<void, KonserveError> =>
      Effect.flatMap(
        attemptOnce(attempt, ambiguity),
        (done) => done ? Effect.void : Effect.zipRight(client.backoff(attempt + 1), loop(attempt + 1, ambiguity))
      )

    if (inline) return loop(0, newAmbiguity())
    return withChunkCleanup(
      () => chunkKeys(layout, request.key, request.version, pieces.length),
      (state) =>
        Effect.zipRight(
          Chunks.writeChunks(client, layout, request.key, request.version, 0, pieces, undefined, {
            perRequest: Chunks.CHUNKS_PER_REQUEST,
            concurrency: Chunks.REQUESTS_IN_FLIGHT
          }),
          Effect.suspend(() => {
            state.headSent = true
            return loop(0, state.ambiguity)
          })
        )
    )
  }

  return {
    readHead,
    readEntry,
    readBinary,
    readLog,
    readMany,
    scan,
    put,
    putStream,
    remove,
    putMany,
    removeMany,
    append
  }
}
