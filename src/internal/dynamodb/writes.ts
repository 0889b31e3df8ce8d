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
 *
 * Many keys at once: `transactions.ts`.
 *
 * @internal
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { ConditionFailed, type KonserveError } from "../../KonserveError.js"
import type { Condition, Kind, PutRequest, RemoveCondition, WriteHeader, Written } from "../backend.js"
import * as Retry from "../retry.js"
import * as Version from "../version.js"
import * as Chunks from "./chunks.js"
import * as Content from "./content.js"
import { type Context, readState } from "./context.js"
import type { RequestFailure } from "./failure.js"
import { conditionItem, Refused, toKonserveError, unknownOutcome, writeFailure } from "./failure.js"
import * as History from "./history.js"
import type { StoredHead } from "./item.js"
import { chunkKeys, TOMBSTONE, ttlSeconds } from "./item.js"
import * as Plan from "./plan.js"
import * as Reads from "./reads.js"
import type { Guard, HeadContent, HeadFields, HeadWrite, WriteCondition } from "./requests.js"
import * as Requests from "./requests.js"
import * as Resolve from "./resolve.js"

/** Concurrent single-key writes of a non-atomic multi-key operation. @internal */
export const KEY_CONCURRENCY = 16

/** How many times a write is sent again re-planned (a fresh version, a pin) before it gives up. @internal */
export const maxRounds = (ctx: Context): number => ctx.conflictRetries + 2

/** @internal */
export const noContent: Guard = { _tag: "NoContent" }

/** @internal */
export const pinnedOf = (guard: Guard): StoredHead | undefined => guard._tag === "Pinned" ? guard.head : undefined

/**
 * The epoch seconds after which DynamoDB's TTL sweeper may delete a head: never while its history matters.
 * `nowMillis`: the write's version's time (DynamoDB's clock, as the store's is anchored to it) for a head.
 */
const sweepAt = (expiresAt: number | undefined, nowMillis = Date.now()): number | undefined =>
  expiresAt === undefined
    ? undefined
    : Math.max(ttlSeconds(expiresAt), Math.ceil(nowMillis / 1000) + History.TRACE_SECONDS)

/** A version's time, epoch milliseconds. */
const millisOf = (version: Uint8Array): number => Version.timeOf(version) / 1000

/** The head fields of a value or binary write. @internal */
export const fieldsOf = (header: WriteHeader, version: Uint8Array, size: number, content: HeadContent): HeadFields => ({
  kind: header.kind,
  version,
  lastWrite: header.now,
  size,
  expiresAt: header.expiresAt,
  sweepAt: sweepAt(header.expiresAt, millisOf(version)),
  user: header.user,
  content
})

/**
 * Head fields marked as written by an atomic multi-key write (`multiAssoc`,
 * `multiDissoc`, `transact`): the change feed's `batch`.
 *
 * @internal
 */
export const batched = (fields: HeadFields): HeadFields => ({ ...fields, batch: true })

/** A head write marked as one of an atomic multi-key write's. @internal */
export const inBatch = (write: HeadWrite): HeadWrite => ({ ...write, fields: batched(write.fields) })

const tombstone = (version: Uint8Array, now: number): HeadFields => ({
  kind: TOMBSTONE,
  version,
  lastWrite: now,
  size: undefined,
  expiresAt: undefined,
  sweepAt: Math.ceil(millisOf(version) / 1000) + History.TRACE_SECONDS,
  user: undefined,
  content: { _tag: "None" }
})

/** The user's condition in the head's terms; undefined when it names a version no write can have. @internal */
export const writeCondition = (condition: Condition): WriteCondition | undefined => {
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

/** A write that ran out of re-plans: unknown when an attempt may have been applied, else refused. @internal */
export const exhausted = (write: HeadWrite, ambiguous: boolean): KonserveError =>
  ambiguous
    ? unknownOutcome(write.operation, write.key, "an attempt may have been applied, and the key kept changing")
    : new ConditionFailed({ key: write.key, operation: write.operation })

type Attempted = Retry.Attempted<HeadWrite, HeadWrite>

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
): Effect.Effect<Attempted, KonserveError> =>
  Reads.headItem(ctx, write.key, "whole", true).pipe(
    Effect.option,
    Effect.flatMap((item): Effect.Effect<Attempted, KonserveError> => {
      const verdict = Option.isSome(item) ? Resolve.settled(item.value, write.fields.version) : "Unknown"
      return verdict === "Applied" ? Effect.succeed(Retry.done(write)) : Effect.fail(
        verdict === "NotApplied"
          ? toKonserveError(failure, ctx.client.table)
          : writeFailure(failure, ctx.client.table, { ...write, ambiguous: true })
      )
    })
  )

const attemptHead = (
  ctx: Context,
  run: Retry.Pending<HeadWrite>
): Effect.Effect<Attempted, KonserveError | Refused> =>
  ctx.client.send("UpdateItem", Requests.updateHead(ctx.client.table, run.state)).pipe(
    Effect.as(Retry.done(run.state)),
    Effect.catchAll((failure): Effect.Effect<Attempted, KonserveError | Refused> => {
      const write = run.state
      const ambiguous = run.ambiguous || failure.ambiguous
      if (failure.verdict !== "condition") {
        return ambiguous
          ? settle(ctx, write, failure)
          : Effect.fail(toKonserveError(failure, ctx.client.table))
      }
      const step = Resolve.headWrite(
        readState(ctx),
        conditionItem(failure.cause),
        write,
        ambiguous,
        ctx.versions.next
      )
      switch (step._tag) {
        case "Applied":
          return Effect.succeed(Retry.done(write))
        case "Refused":
          return Effect.fail(new Refused({ key: write.key, operation: write.operation, settled: !ambiguous }))
        case "Unknown":
          return Effect.fail(unknownOutcome(write.operation, write.key, step.why))
        case "Replan":
          return Effect.succeed(Retry.again(step.write, step))
      }
    })
  )

/**
 * Writes one head, at most once; `Refused` when the user's condition does not
 * hold (nothing written). The content of the head it replaced is dropped
 * after. The write as applied (a re-plan changes its version).
 *
 * @internal
 */
export const writeHead = (ctx: Context, write: HeadWrite): Effect.Effect<HeadWrite, KonserveError | Refused> =>
  Retry.replan({
    initial: write,
    maxRounds: maxRounds(ctx),
    attempt: (run) => attemptHead(ctx, run),
    exhausted: (last) => exhausted(last.state, last.ambiguous)
  }).pipe(
    Effect.flatMap((applied) => {
      const replaced = pinnedOf(applied.guard)
      return replaced === undefined ? Effect.succeed(applied) : Effect.as(Content.drop(ctx, [replaced]), applied)
    })
  )

/** @internal */
export const refused = (header: { readonly key: string; readonly operation: string }) =>
  new ConditionFailed({ key: header.key, operation: header.operation })

/** A refusal as the public failure, once whoever owns the write's new content has seen it. @internal */
export const surfaceRefused = <A, E, R>(
  self: Effect.Effect<A, E | Refused, R>
): Effect.Effect<A, E | ConditionFailed, R> =>
  Effect.catchIf(self, (error): error is Refused => error instanceof Refused, (error) => Effect.fail(refused(error)))

/** @internal */
export const chunkTarget = (ctx: Context, header: WriteHeader, cid: string): Chunks.ChunkTarget => ({
  client: ctx.client,
  layout: ctx.layout,
  key: header.key,
  cid,
  sweepAt: sweepAt(header.expiresAt)
})

/** What a head write committed, as the backend reports it. @internal */
export const writtenOf = (write: HeadWrite): Written => ({
  head: {
    key: write.key,
    kind: write.fields.kind as Kind,
    version: Version.format(write.fields.version),
    lastWrite: write.fields.lastWrite,
    size: write.fields.size ?? 0,
    expiresAt: write.fields.expiresAt,
    user: write.fields.user
  },
  inline: write.fields.content._tag === "Inline"
})

/** Writes one key whose bytes are in memory: inline in its head, or chunks first. @internal */
export const put = (ctx: Context, request: PutRequest): Effect.Effect<Written, KonserveError> =>
  Effect.suspend(() => {
    const condition = writeCondition(request.condition)
    if (condition === undefined) return Effect.fail(refused(request))
    const pk = ctx.layout.headPk(request.key)
    const version = ctx.versions.next(condition._tag === "Version" ? condition.version : undefined)
    const base = fieldsOf(request, version, request.size, { _tag: "None" })
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
    if (plan.content._tag !== "Chunked") return surfaceRefused(Effect.map(writeHead(ctx, write), writtenOf))
    const { cid } = plan.content.manifest
    return Content.withNewChunks(
      ctx,
      Chunks.write(chunkTarget(ctx, request, cid), 0, plan.pieces),
      () => chunkKeys(ctx.layout, request.key, cid, plan.pieces.length),
      Effect.map(writeHead(ctx, write), writtenOf)
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
): Effect.Effect<Written, KonserveError | E, R> =>
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
        : { _tag: "Chunked", manifest: { cid, chunks: pieces, chunkSize: Plan.CHUNK_BYTES, bytes: size, crc } }
      return Effect.map(
        writeHead(ctx, {
          key: header.key,
          pk,
          operation: header.operation,
          fields: { ...base, size, content },
          condition,
          guard: noContent,
          now: header.now
        }),
        writtenOf
      )
    })
    return Content.withNewChunks(ctx, writeAll, () => chunkKeys(ctx.layout, header.key, cid, dispatched), commit).pipe(
      surfaceRefused
    )
  })

/**
 * The head write of a removal: a tombstone on a live head (`Live`), or on a
 * live head of one version (`Version`: a compare-and-delete).
 *
 * @internal
 */
export const removal = (
  ctx: Context,
  key: string,
  version: Uint8Array,
  now: number,
  guard: Guard,
  condition: Extract<WriteCondition, { readonly _tag: "Live" | "Version" }> = { _tag: "Live" }
): HeadWrite => ({
  key,
  pk: ctx.layout.headPk(key),
  operation: "dissoc",
  fields: tombstone(version, now),
  condition,
  guard,
  now
})

/**
 * Removes a key: its head becomes a tombstone that keeps its write history
 * (so that no late retry of an earlier write can bring the key back), and its
 * content is dropped. The tombstone's version when a key alive at `now` was
 * removed; none when there was none.
 *
 * With a `Version` condition (a compare-and-delete) the tombstone is
 * conditioned on that version as `ifVersion` conditions a write, and goes
 * through the same send → resolve path: a lost answer whose resend fails is
 * decided from the head's history (applied: true), and a head of another
 * version, a tombstone or an expired head refuse it (`ConditionFailed`).
 *
 * @internal
 */
export const remove = (
  ctx: Context,
  key: string,
  now: number,
  condition: RemoveCondition = { _tag: "None" }
): Effect.Effect<Option.Option<string>, KonserveError> =>
  Effect.suspend(() => {
    if (condition._tag === "None") {
      return writeHead(ctx, removal(ctx, key, ctx.versions.next(), now, noContent)).pipe(
        Effect.map(removedVersion),
        // Nothing alive to remove.
        Effect.catchIf((error): error is Refused => error instanceof Refused, () => Effect.succeed(Option.none()))
      )
    }
    const base = Version.parse(condition.version)
    // A version no write can have: the condition cannot hold.
    if (base === undefined) return Effect.fail(refused({ key, operation: "dissoc" }))
    const write = removal(ctx, key, ctx.versions.next(base), now, noContent, { _tag: "Version", version: base })
    return surfaceRefused(Effect.map(writeHead(ctx, write), removedVersion))
  })

const removedVersion = (write: HeadWrite): Option.Option<string> => Option.some(Version.format(write.fields.version))
