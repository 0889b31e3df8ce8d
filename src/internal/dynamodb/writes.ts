/**
 * The writes: plan, write new chunks, send the head (or a transaction of
 * heads), resolve what a failed condition means, drop the content the write
 * replaced. Each write reaches DynamoDB at most once however its retries
 * interleave with other writers (docs/consistency.md).
 *
 * - `writeHead`: one head, one `UpdateItem` in the common case, in the
 *   re-plan loop (`Retry.replan`): send → `resolve.ts` decides → applied,
 *   refused, unknown, or send again re-planned (a fresh version, a pin on
 *   the head to clean up).
 * - `put`/`putStream`/`remove`: a value, a binary, a removal (a tombstone).
 *
 * The writes themselves are built without I/O in `headWrites.ts`; this
 * module sends them. Many keys at once: `transactions.ts`.
 *
 * @internal
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { KonserveError } from "../../KonserveError.js"
import type { PutRequest, RemoveCondition, WriteHeader, Written } from "../backend.js"
import * as Retry from "../retry.js"
import * as Version from "../version.js"
import * as Chunks from "./chunks.js"
import * as Content from "./content.js"
import { type Context, readState } from "./context.js"
import type { RequestFailure } from "./failure.js"
import { conditionItem, Refused, toKonserveError, unknownOutcome, writeFailure } from "./failure.js"
import * as HeadWrites from "./headWrites.js"
import { chunkKeys } from "./keyLayout.js"
import * as Plan from "./plan.js"
import * as Reads from "./reads.js"
import type { HeadContent, HeadWrite } from "./requests/index.js"
import * as Requests from "./requests/index.js"
import * as Resolve from "./resolve.js"

// -------------------------------------------------------------------------------------------------
// one head

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
  Reads.headItem(ctx, { key: write.key, read: "whole", consistent: true }).pipe(
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
      const step = Resolve.headWrite({
        read: readState(ctx),
        next: ctx.versions.next,
        item: conditionItem(failure.cause),
        write,
        ambiguous
      })
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
    maxRounds: HeadWrites.maxRounds(ctx),
    attempt: (run) => attemptHead(ctx, run),
    exhausted: (last) => HeadWrites.exhausted(last.state, last.ambiguous)
  }).pipe(
    Effect.flatMap((applied) => {
      const replaced = HeadWrites.pinnedOf(applied.guard)
      return replaced === undefined ? Effect.succeed(applied) : Effect.as(Content.drop(ctx, [replaced]), applied)
    })
  )

/** Writes one key whose bytes are in memory: inline in its head, or chunks first. @internal */
export const put = (ctx: Context, request: PutRequest): Effect.Effect<Written, KonserveError> =>
  Effect.suspend(() => {
    const condition = HeadWrites.writeCondition(request.condition)
    if (condition === undefined) return Effect.fail(HeadWrites.refused(request))
    const pk = ctx.layout.headPk(request.key)
    const version = ctx.versions.next(condition._tag === "Version" ? condition.version : undefined)
    const base = HeadWrites.fieldsOf(request, version, request.size, { _tag: "None" })
    const plan = Plan.content(request.bytes, Requests.headSize(pk, base))
    const write = HeadWrites.make(request, { pk, fields: { ...base, content: plan.content }, condition })
    const commit = Effect.map(writeHead(ctx, write), HeadWrites.writtenOf)
    if (plan.content._tag !== "Chunked") return Content.surfaceRefused(commit)
    const { cid } = plan.content.manifest
    return Content.withNewChunks(
      ctx,
      Chunks.write(HeadWrites.chunkTarget(ctx, request, cid), 0, plan.pieces),
      () => chunkKeys(ctx.layout, request.key, cid, plan.pieces.length),
      () => commit
    ).pipe(Content.surfaceRefused)
  })

/** What a stream of bytes brought so far: its pieces, their bytes and CRC-32, and the piece that goes inline. */
interface Streamed {
  readonly pieces: number
  readonly size: number
  readonly crc: number
  readonly inline: Uint8Array | undefined
}

const NOTHING_STREAMED: Streamed = { pieces: 0, size: 0, crc: 0, inline: undefined }

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
    const condition = HeadWrites.writeCondition(header.condition)
    if (condition === undefined) return Effect.fail(HeadWrites.refused(header))
    const pk = ctx.layout.headPk(header.key)
    const cid = Plan.newCid()
    const target = HeadWrites.chunkTarget(ctx, header, cid)
    const base = HeadWrites.fieldsOf(
      header,
      ctx.versions.next(condition._tag === "Version" ? condition.version : undefined),
      0,
      { _tag: "None" }
    )
    const overhead = Requests.headSize(pk, base)
    // How many pieces went to chunk writes (some may be written): what to delete if the write fails. Set as
    // each group is sent, read only after the stream ends or fails.
    let dispatched = 0
    const writeAll = bytes.pipe(
      Chunks.rechunk(Plan.CHUNK_BYTES),
      Stream.mapAccum(NOTHING_STREAMED, (before, piece) => {
        const streamed: Streamed = {
          pieces: before.pieces + 1,
          size: before.size + piece.length,
          crc: Plan.checksum([piece], before.crc),
          inline: undefined
        }
        return [streamed, { index: before.pieces, piece, streamed }] as const
      }),
      Stream.grouped(Chunks.STREAM_CHUNKS_PER_REQUEST),
      Stream.mapEffect((group): Effect.Effect<Streamed, KonserveError> => {
        const batch = Chunk.toReadonlyArray(group)
        const { index: first, piece } = batch[0]
        const { streamed } = batch[batch.length - 1]
        // A lone first piece shorter than a chunk: the stream ended, and the value may fit inline.
        if (
          batch.length === 1 && first === 0 && piece.length < Plan.CHUNK_BYTES &&
          overhead + piece.length <= Plan.INLINE_ITEM_BYTES
        ) {
          return Effect.succeed({ ...streamed, inline: piece })
        }
        dispatched = Math.max(dispatched, first + batch.length)
        return Effect.as(
          Chunks.write(target, first, batch.map((p) => p.piece), {
            perRequest: Chunks.STREAM_CHUNKS_PER_REQUEST,
            concurrency: 1
          }),
          streamed
        )
      }, { concurrency: Chunks.STREAM_REQUESTS_IN_FLIGHT }),
      Stream.runFold(NOTHING_STREAMED, (last, streamed) => streamed.pieces >= last.pieces ? streamed : last)
    )
    const commit = ({ crc, inline, pieces, size }: Streamed) => {
      const content: HeadContent = pieces === 0 || inline !== undefined
        ? { _tag: "Inline", bytes: inline ?? new Uint8Array(0) }
        : { _tag: "Chunked", manifest: { cid, chunks: pieces, chunkSize: Plan.CHUNK_BYTES, bytes: size, crc } }
      return Effect.map(
        writeHead(ctx, HeadWrites.make(header, { pk, fields: { ...base, size, content }, condition })),
        HeadWrites.writtenOf
      )
    }
    return Content.withNewChunks(ctx, writeAll, () => chunkKeys(ctx.layout, header.key, cid, dispatched), commit).pipe(
      Content.surfaceRefused
    )
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
    const pk = ctx.layout.headPk(key)
    if (condition._tag === "None") {
      return writeHead(ctx, HeadWrites.removal({ key, pk, version: ctx.versions.next(), now })).pipe(
        Effect.map(removedVersion),
        // Nothing alive to remove.
        Effect.catchIf((error): error is Refused => error instanceof Refused, () => Effect.succeed(Option.none()))
      )
    }
    const base = Version.parse(condition.version)
    // A version no write can have: the condition cannot hold.
    if (base === undefined) return Effect.fail(HeadWrites.refused({ key, operation: "dissoc" }))
    const write = HeadWrites.removal({
      key,
      pk,
      version: ctx.versions.next(base),
      now,
      condition: { _tag: "Version", version: base }
    })
    return Content.surfaceRefused(Effect.map(writeHead(ctx, write), removedVersion))
  })

const removedVersion = (write: HeadWrite): Option.Option<string> => Option.some(Version.format(write.fields.version))
