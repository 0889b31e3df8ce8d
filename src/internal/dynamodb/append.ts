/**
 * `append`: one transaction that bumps the log's head (its element count and
 * version, on the version read) and puts the element at the next sequence
 * number; for a missing, removed or expired key, a new log head (a new
 * generation) with its first element. A concurrent append cancels it and it
 * runs again on the fresh head; its token makes a resend idempotent, and the
 * head's history tells whether an attempt whose answer was lost was applied.
 *
 * @internal
 */
import type { TransactWriteItem } from "@aws-sdk/client-dynamodb"
import * as Effect from "effect/Effect"
import { randomBytes, randomUUID } from "node:crypto"
import type { KonserveError } from "../../KonserveError.js"
import type { AppendRequest, Head } from "../backend.js"
import * as Retry from "../retry.js"
import * as Chunks from "./chunks.js"
import * as Content from "./content.js"
import { type Context, readState } from "./context.js"
import { Refused } from "./failure.js"
import * as HeadWrites from "./headWrites.js"
import type { StoredHead } from "./item.js"
import { elementItem, hasContent, isLive, itemSize } from "./item.js"
import { chunkKeys, logSk } from "./keyLayout.js"
import * as Plan from "./plan.js"
import * as Reads from "./reads.js"
import type { HeadWrite } from "./requests/index.js"
import { pinned } from "./requests/index.js"
import * as Requests from "./requests/index.js"
import { transact } from "./transactions.js"

const newGeneration = (): string => randomBytes(6).toString("hex")

/** One attempt of an append: its log head write, its transaction, and the head it replaces (a new log's). */
interface Attempt {
  readonly write: HeadWrite
  readonly items: ReadonlyArray<TransactWriteItem>
  readonly replaced: StoredHead | undefined
}

/** @internal */
export const append = (ctx: Context, request: AppendRequest): Effect.Effect<Head, KonserveError> =>
  Effect.suspend(() => {
    const { key, now } = request
    const pk = ctx.layout.headPk(key)
    const table = ctx.client.table
    // An element too large for one item goes to chunks first, once, whatever the attempts.
    const overhead = itemSize(elementItem(pk, logSk(newGeneration(), 0), { _tag: "Inline", bytes: new Uint8Array(0) }))
    const plan = Plan.element(request.element, overhead)
    const chunked = plan.element._tag === "Chunked"

    // `run.ambiguous`: whether a round was not applied although an attempt of it may have been (then its
    // chunks, if any, stay).
    const attempt = (run: Retry.Pending<void>) =>
      Effect.gen(function*() {
        const state = readState(ctx)(yield* Reads.headItem(ctx, { key, read: "head", consistent: true }))
        const live = isLive(state, now)
        const log = live ? state.stored : undefined
        if (live && (log?.head.kind !== "log" || log.generation === undefined)) {
          return yield* new Refused({ key, operation: "append", settled: !run.ambiguous })
        }
        const version = ctx.versions.next(state.version)
        // The next element of the log read: its count and version bumped (expiry and meta kept), on that head.
        const nextElement = (log: StoredHead, generation: string): Attempt => {
          const write = HeadWrites.logWrite({
            key,
            pk,
            version,
            now,
            size: log.head.size + 1,
            content: { _tag: "Log", generation, chunkedElements: log.chunkedElements },
            condition: { _tag: "None" },
            guard: pinned(log)
          })
          const items = [
            Requests.transactAppend(table, write, chunked),
            Requests.transactPut(table, elementItem(pk, logSk(generation, log.head.size), plan.element))
          ]
          return { write, items, replaced: undefined }
        }
        // A new log; an expired value or log it replaces is dropped after.
        const newLog = (stored: StoredHead | undefined): Attempt => {
          const generation = newGeneration()
          const replaced = stored !== undefined && hasContent(stored) ? stored : undefined
          const write = HeadWrites.logWrite({
            key,
            pk,
            version,
            now,
            size: 1,
            content: { _tag: "Log", generation, chunkedElements: chunked ? 1 : 0 },
            condition: { _tag: "Absent" },
            guard: replaced === undefined ? HeadWrites.noContent : pinned(replaced)
          })
          const items = [
            Requests.transactUpdate(table, write),
            Requests.transactPut(table, elementItem(pk, logSk(generation, 0), plan.element))
          ]
          return { write, items, replaced }
        }
        const { items, replaced, write } = log !== undefined && log.generation !== undefined
          ? nextElement(log, log.generation)
          : newLog(state.stored)
        const sent = yield* transact(ctx, {
          operation: "append",
          key,
          items,
          writes: [write, undefined],
          token: randomUUID(),
          ambiguous: false
        })
        // Not applied: another append (or write) changed the head since it was read: read it again.
        if (sent._tag === "NotApplied") {
          return Retry.again(undefined, { ambiguous: run.ambiguous || sent.ambiguous, contended: true })
        }
        if (replaced !== undefined) yield* Content.drop(ctx, [replaced])
        return Retry.done(HeadWrites.writtenOf(write).head)
      })

    const commit = Retry.replan({
      initial: undefined,
      maxRounds: ctx.conflictRetries,
      attempt,
      exhausted: (last) => new Refused({ key, operation: "append", settled: !last.ambiguous })
    })
    if (plan.element._tag === "Inline") return Content.surfaceRefused(commit)
    const { manifest } = plan.element
    return Content.withNewChunks(
      ctx,
      Chunks.write(
        { client: ctx.client, layout: ctx.layout, key, cid: manifest.cid, sweepAt: undefined },
        0,
        plan.pieces
      ),
      () => chunkKeys(ctx.layout, key, manifest.cid, plan.pieces.length),
      () => commit
    ).pipe(Content.surfaceRefused)
  })
