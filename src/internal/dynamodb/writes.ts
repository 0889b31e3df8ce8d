/**
 * The writes: plan, write new chunks, send the head (or a transaction of
 * heads), resolve what a failed condition means, drop the content the write
 * replaced. Each write reaches DynamoDB at most once however its retries
 * interleave with other writers (docs/consistency.md).
 *
 * - `writeHead`: one head, one `UpdateItem` in the common case, as a small
 *   state machine: send → `resolve.ts` decides → applied, refused, unknown,
 *   or send again re-planned (a fresh version, a pin on the head to clean up).
 * - `put`/`putStream`/`remove`: a value, a binary, a removal (a tombstone).
 * - `putMany`/`removeMany`: many keys, atomic in one `TransactWriteItems`
 *   with a token the store sets and reuses on every resend.
 *
 * @internal
 */
import type { TransactWriteItem } from "@aws-sdk/client-dynamodb"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { randomUUID } from "node:crypto"
import { ConditionFailed, type KonserveError } from "../../KonserveError.js"
import type { Condition, PutRequest, WriteHeader } from "../backend.js"
import { isAlive } from "../backend.js"
import * as Retry from "../retry.js"
import * as Version from "../version.js"
import * as Chunks from "./chunks.js"
import * as Content from "./content.js"
import type { Context } from "./context.js"
import type { RequestFailure } from "./failure.js"
import {
  cancellationReasons,
  conditionItem,
  Refused,
  toKonserveError,
  unknownOutcome,
  writeFailure
} from "./failure.js"
import * as History from "./history.js"
import type { StoredHead } from "./item.js"
import { A, chunkKeys, TOMBSTONE, ttlSeconds } from "./item.js"
import * as Plan from "./plan.js"
import * as Reads from "./reads.js"
import type { Guard, HeadContent, HeadFields, HeadWrite, WriteCondition } from "./requests.js"
import * as Requests from "./requests.js"
import * as Resolve from "./resolve.js"

/** Concurrent single-key writes of a non-atomic multi-key operation. @internal */
export const KEY_CONCURRENCY = 16

/** How many times a write is sent again re-planned (a fresh version, a pin) before it gives up. */
const maxRounds = (ctx: Context): number => ctx.conflictRetries + 2

const noContent: Guard = { _tag: "NoContent" }

const pinnedOf = (guard: Guard): StoredHead | undefined => guard._tag === "Pinned" ? guard.head : undefined

/** The epoch seconds after which DynamoDB's TTL sweeper may delete a head: never while its history matters. */
const sweepAt = (expiresAt: number | undefined): number | undefined =>
  expiresAt === undefined
    ? undefined
    : Math.max(ttlSeconds(expiresAt), Math.ceil(Date.now() / 1000) + History.TRACE_SECONDS)

const fieldsOf = (header: WriteHeader, version: Uint8Array, size: number, content: HeadContent): HeadFields => ({
  kind: header.kind,
  version,
  lastWrite: header.now,
  size,
  expiresAt: header.expiresAt,
  sweepAt: sweepAt(header.expiresAt),
  user: header.user,
  content
})

const tombstone = (version: Uint8Array, now: number): HeadFields => ({
  kind: TOMBSTONE,
  version,
  lastWrite: now,
  size: undefined,
  expiresAt: undefined,
  sweepAt: Math.ceil(Date.now() / 1000) + History.TRACE_SECONDS,
  user: undefined,
  content: { _tag: "None" }
})

/** The user's condition in the head's terms; undefined when it names a version no write can have. */
const writeCondition = (condition: Condition): WriteCondition | undefined => {
  switch (condition._tag) {
    case "None":
    case "Absent":
      return condition
    case "Version": {
      const version = Version.parse(condition.version)
      return version === undefined ? undefined : { _tag: "Version", version }
    }
  }
}

// -------------------------------------------------------------------------------------------------
// one head

type HeadRun =
  | { readonly _tag: "Pending"; readonly write: HeadWrite; readonly ambiguous: boolean; readonly round: number }
  | { readonly _tag: "Done"; readonly replaced: StoredHead | undefined }

const exhausted = (write: HeadWrite, ambiguous: boolean): KonserveError =>
  ambiguous
    ? unknownOutcome(write.operation, write.key, "an attempt may have been applied, and the key kept changing")
    : new ConditionFailed({ key: write.key, operation: write.operation })

const applied = (write: HeadWrite): HeadRun => ({ _tag: "Done", replaced: pinnedOf(write.guard) })

/**
 * A write whose request failed for good after an attempt that may have been
 * applied: one strongly consistent read of the head may still tell. It
 * remembers the version: applied. It is past the version and reaches back to
 * it without remembering it: never applied, and never will be (the request's
 * own failure is then the answer). Else, or when the read fails too:
 * `UnknownOutcome`.
 */
const settle = (
  ctx: Context,
  write: HeadWrite,
  failure: RequestFailure
): Effect.Effect<HeadRun, KonserveError> =>
  Reads.headItem(ctx, write.key, true, true).pipe(
    Effect.option,
    Effect.flatMap((item): Effect.Effect<HeadRun, KonserveError> => {
      const version = write.fields.version
      const read = Option.getOrUndefined(item)
      const trace = History.traceOf(read)
      if (Option.isSome(item) && History.remembers(trace, version)) return Effect.succeed(applied(write))
      const head = read?.[A.version]?.B
      const past = head !== undefined && Version.compare(head, version) >= 0
      return Effect.fail(
        Option.isSome(item) && past && History.covers(trace, version)
          ? toKonserveError(failure, ctx.client.table)
          : writeFailure(failure, ctx.client.table, { ...write, ambiguous: true })
      )
    })
  )

const attemptHead = (
  ctx: Context,
  run: Extract<HeadRun, { _tag: "Pending" }>
): Effect.Effect<HeadRun, KonserveError | Refused> =>
  ctx.client.send("UpdateItem", Requests.updateHead(ctx.client.table, run.write)).pipe(
    Effect.as(applied(run.write)),
    Effect.catchAll((failure): Effect.Effect<HeadRun, KonserveError | Refused> => {
      const ambiguous = run.ambiguous || failure.ambiguous
      if (failure.verdict !== "condition") {
        return ambiguous
          ? settle(ctx, run.write, failure)
          : Effect.fail(toKonserveError(failure, ctx.client.table))
      }
      const step = Resolve.headWrite(ctx.layout, conditionItem(failure.cause), run.write, ambiguous, ctx.versions.next)
      switch (step._tag) {
        case "Applied":
          return Effect.succeed(applied(run.write))
        case "Refused":
          return Effect.fail(new Refused({ key: run.write.key, operation: run.write.operation, settled: !ambiguous }))
        case "Unknown":
          return Effect.fail(unknownOutcome(run.write.operation, run.write.key, step.why))
        case "Replan": {
          if (run.round >= maxRounds(ctx)) return Effect.fail(exhausted(run.write, step.ambiguous))
          const next: HeadRun = { _tag: "Pending", write: step.write, ambiguous: step.ambiguous, round: run.round + 1 }
          return step.contended ? Effect.as(Retry.conflictPause(run.round), next) : Effect.succeed(next)
        }
      }
    })
  )

/**
 * Writes one head, at most once; `Refused` when the user's condition does not
 * hold (nothing written). The content of the head it replaced is dropped
 * after.
 *
 * @internal
 */
export const writeHead = (ctx: Context, write: HeadWrite): Effect.Effect<void, KonserveError | Refused> =>
  Effect.iterate({ _tag: "Pending", write, ambiguous: false, round: 0 } as HeadRun, {
    while: (run): run is Extract<HeadRun, { _tag: "Pending" }> => run._tag === "Pending",
    body: (run) => attemptHead(ctx, run)
  }).pipe(
    Effect.flatMap((run) => {
      const { replaced } = run as Extract<HeadRun, { _tag: "Done" }>
      return replaced === undefined ? Effect.void : Content.drop(ctx, [replaced])
    })
  )

const refused = (header: { readonly key: string; readonly operation: string }) =>
  new ConditionFailed({ key: header.key, operation: header.operation })

/** A refusal as the public failure, once whoever owns the write's new content has seen it. @internal */
export const surfaceRefused = <A, E, R>(
  self: Effect.Effect<A, E | Refused, R>
): Effect.Effect<A, E | ConditionFailed, R> =>
  Effect.catchIf(self, (error): error is Refused => error instanceof Refused, (error) => Effect.fail(refused(error)))

const chunkTarget = (ctx: Context, header: WriteHeader, cid: string): Chunks.ChunkTarget => ({
  client: ctx.client,
  layout: ctx.layout,
  key: header.key,
  cid,
  sweepAt: sweepAt(header.expiresAt)
})

/** Writes one key whose bytes are in memory: inline in its head, or chunks first. @internal */
export const put = (ctx: Context, request: PutRequest): Effect.Effect<void, KonserveError> =>
  Effect.suspend(() => {
    const condition = writeCondition(request.condition)
    if (condition === undefined) return Effect.fail(refused(request))
    const pk = ctx.layout.headPk(request.key)
    const version = ctx.versions.next(condition._tag === "Version" ? condition.version : undefined)
    const base = fieldsOf(request, version, request.bytes.length, { _tag: "None" })
    const plan = Plan.content(request.bytes, Requests.headSize(pk, base))
    const write: HeadWrite = {
      key: request.key,
      pk,
      operation: request.operation,
      fields: { ...base, content: plan.content },
      condition,
      guard: noContent,
      now: request.now
    }
    if (plan.content._tag !== "Chunked") return surfaceRefused(writeHead(ctx, write))
    const { cid } = plan.content.manifest
    return Content.withNewChunks(
      ctx,
      Chunks.write(chunkTarget(ctx, request, cid), 0, plan.pieces),
      () => chunkKeys(ctx.layout, request.key, cid, plan.pieces.length),
      writeHead(ctx, write)
    ).pipe(surfaceRefused)
  })

/**
 * Writes one binary from a stream of any length: its chunks as they come (a
 * few in flight), then the head; memory stays at a few chunks. A stream
 * that ends within one chunk and fits the head goes inline.
 *
 * @internal
 */
export const putStream = <E, R>(
  ctx: Context,
  header: WriteHeader,
  bytes: Stream.Stream<Uint8Array, E, R>
): Effect.Effect<void, KonserveError | E, R> =>
  Effect.suspend(() => {
    const condition = writeCondition(header.condition)
    if (condition === undefined) return Effect.fail(refused(header))
    const pk = ctx.layout.headPk(header.key)
    const cid = Plan.newCid()
    const target = chunkTarget(ctx, header, cid)
    const base = fieldsOf(
      header,
      ctx.versions.next(condition._tag === "Version" ? condition.version : undefined),
      0,
      { _tag: "None" }
    )
    const overhead = Requests.headSize(pk, base)
    let pieces = 0
    let dispatched = 0
    let size = 0
    let crc = 0
    let inline: Uint8Array | undefined
    const writeAll = bytes.pipe(
      Chunks.rechunk(Plan.CHUNK_BYTES),
      Stream.map((piece) => {
        const index = pieces++
        size += piece.length
        crc = Plan.checksum([piece], crc)
        return [index, piece] as const
      }),
      Stream.grouped(Chunks.STREAM_CHUNKS_PER_REQUEST),
      Stream.mapEffect((group) => {
        const batch = Chunk.toReadonlyArray(group)
        const [first, piece] = batch[0]
        // A lone first piece shorter than a chunk: the stream ended, and the value may fit inline.
        if (
          batch.length === 1 && first === 0 && piece.length < Plan.CHUNK_BYTES &&
          overhead + piece.length <= Plan.INLINE_ITEM_BYTES
        ) {
          inline = piece
          return Effect.void
        }
        dispatched = Math.max(dispatched, first + batch.length)
        return Chunks.write(target, first, batch.map(([, p]) => p), {
          perRequest: Chunks.STREAM_CHUNKS_PER_REQUEST,
          concurrency: 1
        })
      }, { concurrency: Chunks.STREAM_REQUESTS_IN_FLIGHT }),
      Stream.runDrain
    )
    const commit = Effect.suspend(() => {
      const content: HeadContent = pieces === 0 || inline !== undefined
        ? { _tag: "Inline", bytes: inline ?? new Uint8Array(0) }
        : { _tag: "Chunked", manifest: { cid, chunks: pieces, chunkSize: Plan.CHUNK_BYTES, crc } }
      return writeHead(ctx, {
        key: header.key,
        pk,
        operation: header.operation,
        fields: { ...base, size, content },
        condition,
        guard: noContent,
        now: header.now
      })
    })
    return Content.withNewChunks(ctx, writeAll, () => chunkKeys(ctx.layout, header.key, cid, dispatched), commit).pipe(
      surfaceRefused
    )
  })

const removal = (ctx: Context, key: string, version: Uint8Array, now: number, guard: Guard): HeadWrite => ({
  key,
  pk: ctx.layout.headPk(key),
  operation: "dissoc",
  fields: tombstone(version, now),
  condition: { _tag: "Live" },
  guard,
  now
})

/**
 * Removes a key: its head becomes a tombstone that keeps its write history
 * (so that no late retry of an earlier write can bring the key back), and its
 * content is dropped. True when a key alive at `now` was removed.
 *
 * @internal
 */
export const remove = (ctx: Context, key: string, now: number): Effect.Effect<boolean, KonserveError> =>
  Effect.suspend(() => writeHead(ctx, removal(ctx, key, ctx.versions.next(), now, noContent))).pipe(
    Effect.as(true),
    // Nothing alive to remove.
    Effect.catchIf((error): error is Refused => error instanceof Refused, () => Effect.succeed(false))
  )

// -------------------------------------------------------------------------------------------------
// transactions

/** What a transaction's answer proved. */
type Sent =
  | { readonly _tag: "Applied" }
  | {
    readonly _tag: "NotApplied"
    readonly reasons: ReturnType<typeof cancellationReasons>
    readonly ambiguous: boolean
  }

/**
 * Sends a transaction with its token (the same on every resend, so that
 * DynamoDB applies it once); when its conditions fail, the heads they failed
 * on tell whether an earlier attempt was applied.
 *
 * @internal
 */
export const transact = (
  ctx: Context,
  request: {
    readonly operation: string
    readonly key: string
    readonly items: ReadonlyArray<TransactWriteItem>
    readonly writes: Resolve.TransactionWrites
    readonly token: string
    readonly ambiguous: boolean
  }
): Effect.Effect<Sent, KonserveError> =>
  ctx.client.send("TransactWriteItems", {
    TransactItems: request.items as Array<TransactWriteItem>,
    ClientRequestToken: request.token
  }).pipe(
    Effect.as<Sent>({ _tag: "Applied" }),
    Effect.catchAll((failure): Effect.Effect<Sent, KonserveError> => {
      const ambiguous = request.ambiguous || failure.ambiguous
      if (failure.verdict !== "cancelled") {
        return Effect.fail(writeFailure(failure, ctx.client.table, { ...request, ambiguous }))
      }
      const reasons = cancellationReasons(failure.cause)
      const { verdict, why } = Resolve.transactionVerdict(reasons, request.writes, ambiguous)
      switch (verdict) {
        case "Applied":
          return Effect.succeed({ _tag: "Applied" })
        case "Unknown":
          return Effect.fail(unknownOutcome(request.operation, request.key, why))
        case "NotApplied":
          return Effect.succeed({ _tag: "NotApplied", reasons, ambiguous })
      }
    })
  )

type ManyRun =
  | {
    readonly _tag: "Pending"
    readonly writes: ReadonlyArray<HeadWrite>
    readonly ambiguous: boolean
    readonly round: number
  }
  | { readonly _tag: "Done"; readonly replaced: ReadonlyArray<StoredHead> }

/** Head writes of several keys in one transaction, at most once; re-planned as single writes are. */
const transactHeads = (
  ctx: Context,
  writes: ReadonlyArray<HeadWrite>
): Effect.Effect<void, KonserveError | Refused> => {
  const operation = writes[0].operation
  const attempt = (run: Extract<ManyRun, { _tag: "Pending" }>): Effect.Effect<ManyRun, KonserveError | Refused> =>
    Effect.flatMap(
      transact(ctx, {
        operation,
        key: run.writes[0].key,
        items: run.writes.map((write) => Requests.transactUpdate(ctx.client.table, write)),
        writes: run.writes,
        token: randomUUID(),
        ambiguous: run.ambiguous
      }),
      (sent): Effect.Effect<ManyRun, KonserveError | Refused> => {
        if (sent._tag === "Applied") {
          return Effect.succeed({ _tag: "Done", replaced: run.writes.flatMap((w) => pinnedOf(w.guard) ?? []) })
        }
        const step = Resolve.replanTransaction(ctx.layout, sent.reasons, run.writes, sent.ambiguous, ctx.versions.next)
        if (step._tag === "Refused") {
          return Effect.fail(new Refused({ key: step.key, operation, settled: !sent.ambiguous }))
        }
        if (run.round >= maxRounds(ctx)) return Effect.fail(exhausted(run.writes[0], step.ambiguous))
        const next: ManyRun = { _tag: "Pending", writes: step.writes, ambiguous: step.ambiguous, round: run.round + 1 }
        return step.contended ? Effect.as(Retry.conflictPause(run.round), next) : Effect.succeed(next)
      }
    )
  return Effect.iterate({ _tag: "Pending", writes, ambiguous: false, round: 0 } as ManyRun, {
    while: (run): run is Extract<ManyRun, { _tag: "Pending" }> => run._tag === "Pending",
    body: attempt
  }).pipe(Effect.flatMap((run) => Content.drop(ctx, (run as Extract<ManyRun, { _tag: "Done" }>).replaced)))
}

/**
 * Writes several keys. Atomic: the values too large for one item, then the
 * largest until the transaction fits, go to chunks first; then every head in
 * one transaction, all with one version. Not atomic: each key on its own,
 * `KEY_CONCURRENCY` at a time.
 *
 * @internal
 */
export const putMany = (
  ctx: Context,
  requests: ReadonlyArray<PutRequest>,
  atomic: boolean
): Effect.Effect<void, KonserveError> =>
  requests.length === 0
    ? Effect.void
    : !atomic
    ? Effect.forEach(requests, (request) => put(ctx, request), { concurrency: KEY_CONCURRENCY, discard: true })
    : Effect.suspend(() => {
      const conditions = requests.map((request) => writeCondition(request.condition))
      const unmatched = conditions.findIndex((condition) => condition === undefined)
      if (unmatched >= 0) return Effect.fail(refused(requests[unmatched]))
      const version = ctx.versions.next()
      const pks = requests.map((request) => ctx.layout.headPk(request.key))
      const bases = requests.map((request) => fieldsOf(request, version, request.bytes.length, { _tag: "None" }))
      const toChunk = Plan.transaction(
        requests.map((request, i) =>
          Requests.headSize(pks[i], { ...bases[i], content: { _tag: "Inline", bytes: request.bytes } })
        ),
        pks.map((pk) => Buffer.byteLength(pk, "utf8"))
      )
      const plans = requests.map((request, i): Plan.ContentPlan =>
        toChunk.has(i) ? Plan.chunked(request.bytes) : { content: { _tag: "Inline", bytes: request.bytes }, pieces: [] }
      )
      const writes = requests.map((request, i): HeadWrite => ({
        key: request.key,
        pk: pks[i],
        operation: request.operation,
        fields: { ...bases[i], content: plans[i].content },
        condition: conditions[i]!,
        guard: noContent,
        now: request.now
      }))
      const chunked = plans.flatMap((plan, i) =>
        plan.content._tag === "Chunked" ? [{ request: requests[i], cid: plan.content.manifest.cid, plan }] : []
      )
      if (chunked.length === 0) return surfaceRefused(transactHeads(ctx, writes))
      return Content.withNewChunks(
        ctx,
        Effect.forEach(
          chunked,
          ({ cid, plan, request }) => Chunks.write(chunkTarget(ctx, request, cid), 0, plan.pieces),
          { concurrency: Chunks.REQUESTS_IN_FLIGHT, discard: true }
        ),
        () => chunked.flatMap(({ cid, plan, request }) => chunkKeys(ctx.layout, request.key, cid, plan.pieces.length)),
        transactHeads(ctx, writes)
      ).pipe(surfaceRefused)
    })

/**
 * Removes several keys; each maps to whether it was alive at `now`. Atomic:
 * read the heads, then one transaction that turns the live ones into
 * tombstones on the version read and checks the others are still absent; a
 * concurrent change cancels it and it runs again on fresh heads. Not atomic:
 * each key on its own.
 *
 * @internal
 */
export const removeMany = (
  ctx: Context,
  keys: ReadonlyArray<string>,
  atomic: boolean,
  now: number
): Effect.Effect<ReadonlyMap<string, boolean>, KonserveError> => {
  if (keys.length === 0) return Effect.succeed(new Map())
  if (!atomic) {
    return Effect.map(
      Effect.forEach(keys, (key) => Effect.map(remove(ctx, key, now), (removed) => [key, removed] as const), {
        concurrency: KEY_CONCURRENCY
      }),
      (pairs) => new Map(pairs)
    )
  }
  const attempt = Effect.gen(function*() {
    const heads = yield* Reads.getHeads(ctx, keys, false, true)
    const live = new Map(Array.from(heads).filter(([, stored]) => isAlive(stored.head, now)))
    const result = new Map(keys.map((key) => [key, live.has(key)] as const))
    // Nothing to remove: the consistent read of the heads is the answer.
    if (live.size === 0) return result
    const latest = Array.from(live.values(), (stored) => stored.version).reduce((a, b) =>
      Version.compare(a, b) >= 0 ? a : b
    )
    const version = ctx.versions.next(latest)
    const writes = keys.map((key) => {
      const stored = live.get(key)
      return stored === undefined ? undefined : removal(ctx, key, version, now, { _tag: "Pinned", head: stored })
    })
    const sent = yield* transact(ctx, {
      operation: "multiDissoc",
      key: keys[0],
      items: keys.map((key, i) =>
        writes[i] === undefined
          ? Requests.transactAbsent(ctx.client.table, ctx.layout.headPk(key), now)
          : Requests.transactUpdate(ctx.client.table, writes[i])
      ),
      writes,
      token: randomUUID(),
      ambiguous: false
    })
    // Not applied: another writer changed one of the keys since they were read.
    if (sent._tag === "NotApplied") return yield* Retry.conflict
    yield* Content.drop(ctx, live.values())
    return result
  })
  return Retry.whileConflict(
    attempt,
    ctx.conflictRetries,
    () => new ConditionFailed({ key: keys[0], operation: "multiDissoc" })
  )
}
