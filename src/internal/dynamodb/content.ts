/**
 * The life of content outside heads (chunks, log elements) around a head
 * write: new chunks are written first under a fresh content id, invisible
 * until a head points at them, and deleted again when the head write
 * certainly did not apply; the content of a head a write replaced is deleted
 * after it. Both deletions are best effort: what they leave is unreferenced,
 * never visible, and left for a sweep.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as FiberRef from "effect/FiberRef"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { ConditionFailed, KonserveError } from "../../KonserveError.js"
import * as Batch from "./batch.js"
import * as Chunks from "./chunks.js"
import * as Client from "./client.js"
import type { Context } from "./context.js"
import { isUnknownOutcome, Refused } from "./failure.js"
import * as HeadWrites from "./headWrites.js"
import type { Item, StoredHead } from "./item.js"
import { A, decodeElement, hasContent } from "./item.js"
import { chunkKeys, itemKey } from "./keyLayout.js"
import * as Paging from "./paging.js"
import * as Requests from "./requests/index.js"

/**
 * Whether a write's exit proves it was not applied and never will be: a
 * refusal after which no attempt can still apply, or any other typed failure
 * but `UnknownOutcome` (the write executors turn every failure after a
 * possibly applied attempt into `UnknownOutcome`). An interruption proves
 * nothing: a head request may be in flight.
 */
const notApplied = <A>(exit: Exit.Exit<A, KonserveError | Refused>): boolean =>
  Exit.isFailure(exit) &&
  Option.match(Cause.failureOption(exit.cause), {
    onNone: () => false,
    onSome: (error) => error._tag === "Refused" ? error.settled : !isUnknownOutcome(error)
  })

/**
 * How long a write that stores chunks may take from its start to its last
 * head request: 30 minutes. Past it, no head request of the write is sent
 * (not even a resend): it fails with `DynamoDBError` code "WriteTooSlow" and
 * its chunks are deleted. `sweep`'s safety rests on it: a chunk older than
 * this limit plus the time a sent request can still take to reach DynamoDB
 * (`SIGNATURE_WINDOW`) can never become referenced (docs/consistency.md,
 * "Sweeping"). A `FiberRef` so that tests can shorten it.
 *
 * @internal
 */
export const CHUNKED_WRITE_LIMIT: Duration.Duration = Duration.minutes(30)

/** @internal */
export const chunkedWriteLimit: FiberRef.FiberRef<Duration.Duration> = FiberRef.unsafeMake(CHUNKED_WRITE_LIMIT)

/**
 * How late a signed request can reach DynamoDB and still be applied: AWS
 * refuses a Signature Version 4 request more than 5 minutes after the time
 * stamp it was signed with ("Signature expired").
 *
 * @internal
 */
export const SIGNATURE_WINDOW: Duration.Duration = Duration.minutes(5)

/**
 * Writes new chunks, then commits the head that points at them (`commit` of
 * what `write` returned). The chunks are deleted again when writing them
 * fails or is interrupted, or when the commit certainly did not apply;
 * `chunks()` names those written so far.
 *
 * The commit's head requests carry a deadline (`Client.headDeadline`): the
 * write's start plus `chunkedWriteLimit`, taken before any chunk item is
 * built, so every chunk's `wt` is at or after it. A commit with no chunk
 * written (a short stream that went inline) has none.
 *
 * @internal
 */
export const withNewChunks = <W, A, E, R>(
  ctx: Context,
  write: Effect.Effect<W, E, R>,
  chunks: () => ReadonlyArray<Item>,
  commit: (written: W) => Effect.Effect<A, KonserveError | Refused>
): Effect.Effect<A, KonserveError | Refused | E, R> =>
  Effect.flatMap(FiberRef.get(chunkedWriteLimit), (limit) => {
    const startedAt = Date.now()
    const limitMillis = Duration.toMillis(limit)
    const deadlined = (written: W) =>
      Effect.suspend(() =>
        chunks().length === 0
          ? commit(written)
          : Effect.locally(commit(written), Client.headDeadline, { notAfter: startedAt + limitMillis, limitMillis })
      )
    return write.pipe(
      Effect.onError(() => Batch.deleteUnreferenced(ctx.client, chunks())),
      Effect.flatMap((written) =>
        Effect.onExit(
          deadlined(written),
          (exit) => notApplied(exit) ? Batch.deleteUnreferenced(ctx.client, chunks()) : Effect.void
        )
      )
    )
  })

/** A refusal as the public failure, once whoever owns the write's new content has seen it. @internal */
export const surfaceRefused = <A, E, R>(
  self: Effect.Effect<A, E | Refused, R>
): Effect.Effect<A, E | ConditionFailed, R> =>
  Effect.catchIf(
    self,
    (error): error is Refused => error instanceof Refused,
    (error) => Effect.fail(HeadWrites.refused(error))
  )

/** The values of an atomic write planned to chunks: each one's content id and pieces. */
const chunkedOf = (planned: ReadonlyArray<HeadWrites.PlannedPut>) =>
  planned.flatMap(({ plan, request }) =>
    plan.content._tag === "Chunked" ? [{ request, cid: plan.content.manifest.cid, pieces: plan.pieces }] : []
  )

/** The keys of the chunks an atomic write's values were planned to. @internal */
export const plannedChunks = (ctx: Context, planned: ReadonlyArray<HeadWrites.PlannedPut>): Array<Item> =>
  chunkedOf(planned).flatMap(({ cid, pieces, request }) => chunkKeys(ctx.layout, request.key, cid, pieces.length))

/**
 * An atomic write's commit after the chunks its values were planned to
 * (`withNewChunks`); the commit alone when every value is inline.
 *
 * @internal
 */
export const withPlannedChunks = <A>(
  ctx: Context,
  planned: ReadonlyArray<HeadWrites.PlannedPut>,
  commit: Effect.Effect<A, KonserveError | Refused>
): Effect.Effect<A, KonserveError | Refused> => {
  const chunked = chunkedOf(planned)
  if (chunked.length === 0) return commit
  return withNewChunks(
    ctx,
    Effect.forEach(
      chunked,
      ({ cid, pieces, request }) => Chunks.write(HeadWrites.chunkTarget(ctx, request, cid), 0, pieces),
      { concurrency: Chunks.REQUESTS_IN_FLIGHT, discard: true }
    ),
    () => plannedChunks(ctx, planned),
    () => commit
  )
}

/**
 * The keys of what a head's content occupies: a chunked value's chunks, from
 * its (bounded) manifest; a log's elements and their chunks, found by one
 * `Query` of the generation's items, so that only what exists is listed
 * whatever the head says.
 */
const keysOf = (ctx: Context, stored: StoredHead): Effect.Effect<Array<Item>, KonserveError> => {
  if (stored.manifest !== undefined) {
    return Effect.succeed(chunkKeys(ctx.layout, stored.head.key, stored.manifest.cid, stored.manifest.chunks))
  }
  if (stored.head.kind !== "log" || stored.generation === undefined) return Effect.succeed([])
  const pk = ctx.layout.headPk(stored.head.key)
  return Paging.query(ctx.client, Requests.generationContent(ctx.client.table, pk, stored.generation)).pipe(
    Stream.runFold([] as Array<Item>, (all, item) => {
      all.push(itemKey(pk, item[A.sk]?.S ?? ""))
      const element = Either.getOrUndefined(decodeElement(stored.head.key, item))
      if (element?._tag === "Chunked") {
        all.push(...chunkKeys(ctx.layout, stored.head.key, element.manifest.cid, element.manifest.chunks))
      }
      return all
    })
  )
}

/**
 * Deletes the content of heads that writes replaced or removed, best effort.
 * Safe whenever the head is no longer the key's: a content id is referenced
 * by one head version only, a log generation by one log only.
 *
 * @internal
 */
export const drop = (ctx: Context, replaced: Iterable<StoredHead>): Effect.Effect<void> =>
  Effect.forEach(Array.from(replaced).filter(hasContent), (stored) => keysOf(ctx, stored), {
    concurrency: Batch.BATCH_CONCURRENCY
  }).pipe(
    Effect.flatMap((keys) => Batch.deleteUnreferenced(ctx.client, keys.flat())),
    Effect.catchAll((error) =>
      Effect.logWarning("konserve-dynamodb: unreferenced items left for a sweep", error.message)
    )
  )
