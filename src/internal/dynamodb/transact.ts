/**
 * `transact` on DynamoDB: the keys' heads read strongly in one `BatchGetItem`
 * (per 100 keys; chunked values read whole), then one `TransactWriteItems`
 * that writes and removes the plan's keys on the versions read and checks
 * every other key read with a `ConditionCheck` on its version (or its
 * absence), all with one version and one `ClientRequestToken` — the token
 * and the heads' histories decide an attempt whose answer was lost, as for
 * every atomic multi-key write (`transactions.ts`). A plan with nothing to
 * write over more than one key is checked alike (ConditionChecks only), so
 * that what `f` saw was one snapshot.
 *
 * @internal
 */
import type { TransactWriteItem } from "@aws-sdk/client-dynamodb"
import * as Effect from "effect/Effect"
import { randomUUID } from "node:crypto"
import type { KonserveError } from "../../KonserveError.js"
import type { Head, PutRequest, TransactCommitted, TransactSnapshot } from "../backend.js"
import { isAlive } from "../backend.js"
import * as Retry from "../retry.js"
import * as Version from "../version.js"
import * as Batch from "./batch.js"
import * as Chunks from "./chunks.js"
import * as Content from "./content.js"
import type { Context } from "./context.js"
import { ConcurrentModification, toKonserveError } from "./failure.js"
import * as HeadWrites from "./headWrites.js"
import type { StoredHead } from "./item.js"
import * as Reads from "./reads.js"
import type { WriteCondition } from "./requests/index.js"
import * as Requests from "./requests/index.js"
import { transact as sendTransaction } from "./transactions.js"

const nothing: TransactCommitted = { written: [], removed: [], version: undefined }

/** @internal */
export const transact = (
  ctx: Context,
  keys: ReadonlyArray<string>,
  now: number
): Effect.Effect<TransactSnapshot, KonserveError | Retry.Conflict> =>
  Effect.gen(function*() {
    const strong: Context = { ...ctx, consistent: true }
    const heads = yield* Reads.getHeads(strong, keys, "value", true)
    const found = new Map<string, { readonly head: Head; readonly bytes: Uint8Array | undefined }>()
    const live = (key: string): StoredHead | undefined => {
      const stored = heads.get(key)
      return stored !== undefined && isAlive(stored.head, now) ? stored : undefined
    }
    yield* Effect.forEach(
      keys.flatMap((key) => live(key) ?? []),
      (stored) =>
        stored.head.kind === "value"
          ? Effect.map(
            Reads.bytesOf(strong, stored),
            (bytes) => found.set(stored.head.key, { head: stored.head, bytes })
          )
          : Effect.sync(() => found.set(stored.head.key, { head: stored.head, bytes: undefined })),
      { concurrency: Chunks.REQUESTS_IN_FLIGHT, discard: true }
    ).pipe(
      // Rewritten while its chunks were read: read the transaction again.
      Effect.catchIf((error) => error instanceof ConcurrentModification, () => Effect.fail(Retry.conflict))
    )

    const table = ctx.client.table
    const condition = (key: string): WriteCondition => {
      const stored = live(key)
      return stored === undefined ? { _tag: "Absent" } : { _tag: "Version", version: stored.version }
    }
    const guard = (key: string) => {
      const stored = heads.get(key)
      return stored === undefined ? HeadWrites.noContent : Requests.pinned(stored)
    }
    const check = (key: string): TransactWriteItem => {
      const stored = live(key)
      const pk = ctx.layout.headPk(key)
      return stored === undefined
        ? Requests.transactAbsent(table, pk, now)
        : Requests.transactVersion(table, pk, stored.version, now)
    }

    /** The reads checked alone: one snapshot, or `Conflict`. */
    const checkOnly = (): Effect.Effect<TransactCommitted, KonserveError | Retry.Conflict> =>
      keys.length <= 1
        // One strongly consistent read is a snapshot by itself.
        ? Effect.succeed(nothing)
        : ctx.client.send("TransactWriteItems", Requests.transactWrite(keys.map(check))).pipe(
          Effect.as(nothing),
          Effect.catchAll((failure) =>
            Effect.fail(failure.verdict === "cancelled" ? Retry.conflict : toKonserveError(failure, table))
          )
        )

    const commit = (
      puts: ReadonlyArray<PutRequest>,
      removes: ReadonlyArray<string>
    ): Effect.Effect<TransactCommitted, KonserveError | Retry.Conflict> =>
      Effect.suspend(() => {
        const liveRemoves = removes.filter((key) => live(key) !== undefined)
        if (puts.length === 0 && liveRemoves.length === 0) return checkOnly()
        const latest = Array.from(heads.values(), (stored) => stored.version).reduce<Uint8Array | undefined>(
          (a, b) => a === undefined || Version.compare(b, a) > 0 ? b : a,
          undefined
        )
        const version = ctx.versions.next(latest)
        const planned = HeadWrites.atomicPuts(ctx.layout, puts, {
          version,
          of: (request) => ({
            operation: "transact",
            condition: condition(request.key),
            guard: guard(request.key),
            now
          })
        })
        const writes = planned.map(({ write }) => write)
        const removals = liveRemoves.map((key) => {
          const stored = live(key)!
          return HeadWrites.inBatch(HeadWrites.removal({
            key,
            pk: ctx.layout.headPk(key),
            version,
            now,
            guard: Requests.pinned(stored),
            condition: { _tag: "Version", version: stored.version }
          }))
        })
        const touched = new Set([...puts.map((request) => request.key), ...liveRemoves])
        const checked = keys.filter((key) => !touched.has(key))
        const headWrites = [...writes, ...removals]
        const items = [
          ...headWrites.map((write) => Requests.transactUpdate(table, write)),
          ...checked.map(check)
        ]
        const send = sendTransaction(ctx, {
          operation: "transact",
          key: keys[0],
          items,
          writes: [...headWrites, ...checked.map(() => undefined)],
          token: randomUUID(),
          ambiguous: false
        })
        const sent = Content.withPlannedChunks(ctx, planned, send).pipe(Content.surfaceRefused)
        return Effect.flatMap(sent, (answer): Effect.Effect<TransactCommitted, KonserveError | Retry.Conflict> => {
          if (answer._tag === "NotApplied") {
            // Another writer changed a key read: run again (this attempt's chunks go when it surely never applies).
            const cleanup = answer.ambiguous
              ? Effect.void
              : Batch.deleteUnreferenced(ctx.client, Content.plannedChunks(ctx, planned))
            return Effect.zipRight(cleanup, Effect.fail(Retry.conflict))
          }
          const replaced = [...puts.map((request) => request.key), ...liveRemoves].flatMap((key) =>
            heads.get(key) ?? []
          )
          return Effect.as(Content.drop(ctx, replaced), {
            written: writes.map(HeadWrites.writtenOf),
            removed: liveRemoves,
            version: Version.format(version)
          })
        })
      })

    return { found, commit }
  })
