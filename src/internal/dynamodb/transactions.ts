/**
 * Writes of many keys: atomic in one `TransactWriteItems` with a token the
 * store sets and reuses on every resend, each head conditioned as a single
 * write is (`writes.ts`), a cancelled transaction decided from the heads its
 * cancellation reasons return (`resolve.ts`); or, not atomic, each key on its
 * own.
 *
 * @internal
 */
import type { TransactWriteItem } from "@aws-sdk/client-dynamodb"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { randomUUID } from "node:crypto"
import { ConditionFailed, type KonserveError } from "../../KonserveError.js"
import type { ManyOptions, PutRequest, Written } from "../backend.js"
import { isAlive } from "../backend.js"
import * as Retry from "../retry.js"
import * as Version from "../version.js"
import * as Content from "./content.js"
import { type Context, readState } from "./context.js"
import type { RequestFailure } from "./failure.js"
import { cancellationReasons, Refused, toKonserveError, unknownOutcome, writeFailure } from "./failure.js"
import * as HeadWrites from "./headWrites.js"
import * as Reads from "./reads.js"
import type { HeadWrite } from "./requests/index.js"
import * as Requests from "./requests/index.js"
import * as Resolve from "./resolve.js"
import { put, remove } from "./writes.js"

/** Concurrent single-key writes of a non-atomic multi-key operation. @internal */
export const KEY_CONCURRENCY = 16

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
  ctx.client.send("TransactWriteItems", Requests.transactWrite(request.items, request.token)).pipe(
    Effect.as<Sent>({ _tag: "Applied" }),
    Effect.catchAll((failure): Effect.Effect<Sent, KonserveError> => {
      const ambiguous = request.ambiguous || failure.ambiguous
      if (failure.verdict !== "cancelled") {
        return ambiguous
          ? settleTransaction(ctx, request, failure)
          : Effect.fail(writeFailure(failure, ctx.client.table, { ...request, ambiguous }))
      }
      const reasons = cancellationReasons(failure.cause)
      const { verdict, why } = Resolve.transactionVerdict({ reasons, writes: request.writes, ambiguous })
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

/**
 * A transaction whose request failed for good after an attempt that may
 * have been applied: strongly consistent reads of its heads, one at a time
 * until one tells (usually the first: a transaction is atomic, and every head
 * in it has the same version), as `settle` does for one head. Applied: one
 * remembers its version. Never applied, and never will be: one is past its
 * version and reaches back to it without it (that head's condition fails
 * for good); the request's own failure is then the answer. Else, or when
 * a read fails too: `UnknownOutcome`.
 */
const settleTransaction = (
  ctx: Context,
  request: { readonly operation: string; readonly key: string; readonly writes: Resolve.TransactionWrites },
  failure: RequestFailure
): Effect.Effect<Sent, KonserveError> => {
  const writes = request.writes.filter((write): write is HeadWrite => write !== undefined)
  const unknown = writeFailure(failure, ctx.client.table, { ...request, ambiguous: true })
  const read = (i: number): Effect.Effect<Sent, KonserveError> =>
    i >= writes.length ?
      Effect.fail(unknown) :
      Reads.headItem(ctx, { key: writes[i].key, read: "whole", consistent: true }).pipe(
        Effect.option,
        Effect.flatMap((item): Effect.Effect<Sent, KonserveError> => {
          if (Option.isNone(item)) return Effect.fail(unknown)
          switch (Resolve.settled(item.value, writes[i].fields.version)) {
            case "Applied":
              return Effect.succeed({ _tag: "Applied" })
            case "NotApplied":
              return Effect.fail(toKonserveError(failure, ctx.client.table))
            case "Unknown":
              return read(i + 1)
          }
        })
      )
  return read(0)
}

/** Head writes of several keys in one transaction, at most once; re-planned as single writes are. The writes as applied. */
const transactHeads = (
  ctx: Context,
  writes: ReadonlyArray<HeadWrite>
): Effect.Effect<ReadonlyArray<HeadWrite>, KonserveError | Refused> => {
  const operation = writes[0].operation
  type Attempted = Retry.Attempted<ReadonlyArray<HeadWrite>, ReadonlyArray<HeadWrite>>
  const attempt = (run: Retry.Pending<ReadonlyArray<HeadWrite>>): Effect.Effect<Attempted, KonserveError | Refused> =>
    Effect.flatMap(
      transact(ctx, {
        operation,
        key: run.state[0].key,
        items: run.state.map((write) => Requests.transactUpdate(ctx.client.table, write)),
        writes: run.state,
        token: randomUUID(),
        ambiguous: run.ambiguous
      }),
      (sent): Effect.Effect<Attempted, Refused> => {
        if (sent._tag === "Applied") return Effect.succeed(Retry.done(run.state))
        const step = Resolve.replanTransaction({
          read: readState(ctx),
          next: ctx.versions.next,
          reasons: sent.reasons,
          writes: run.state,
          ambiguous: sent.ambiguous
        })
        return step._tag === "Refused"
          ? Effect.fail(new Refused({ key: step.key, operation, settled: !sent.ambiguous }))
          : Effect.succeed(Retry.again(step.writes, step))
      }
    )
  return Retry.replan({
    initial: writes,
    maxRounds: HeadWrites.maxRounds(ctx),
    attempt,
    exhausted: (last) => HeadWrites.exhausted(last.state[0], last.ambiguous)
  }).pipe(
    Effect.flatMap((applied) =>
      Effect.as(Content.drop(ctx, applied.flatMap((write) => HeadWrites.pinnedOf(write.guard) ?? [])), applied)
    )
  )
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
  { atomic }: ManyOptions
): Effect.Effect<ReadonlyArray<Written>, KonserveError> =>
  requests.length === 0
    ? Effect.succeed([])
    : !atomic
    ? Effect.forEach(requests, (request) => put(ctx, request), { concurrency: KEY_CONCURRENCY })
    : Effect.suspend(() => {
      const conditions = requests.map((request) => HeadWrites.writeCondition(request.condition))
      const unmatched = conditions.findIndex((condition) => condition === undefined)
      if (unmatched >= 0) return Effect.fail(HeadWrites.refused(requests[unmatched]))
      const planned = HeadWrites.atomicPuts(ctx.layout, requests, {
        version: ctx.versions.next(),
        of: (request, i) => ({
          operation: request.operation,
          condition: conditions[i]!,
          guard: HeadWrites.noContent,
          now: request.now
        })
      })
      const commit = Effect.map(
        transactHeads(ctx, planned.map(({ write }) => write)),
        (applied) => applied.map(HeadWrites.writtenOf)
      )
      return Content.withPlannedChunks(ctx, planned, commit).pipe(Content.surfaceRefused)
    })

/**
 * Removes several keys; each maps to its tombstone's version when it was
 * alive at `now` (none else). Atomic:
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
  { atomic, now }: ManyOptions & { readonly now: number }
): Effect.Effect<ReadonlyMap<string, Option.Option<string>>, KonserveError> => {
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
    const heads = yield* Reads.getHeads(ctx, keys, "head", true)
    const live = new Map(Array.from(heads).filter(([, stored]) => isAlive(stored.head, now)))
    // Nothing to remove: the consistent read of the heads is the answer.
    if (live.size === 0) return Retry.done(new Map(keys.map((key) => [key, Option.none<string>()] as const)))
    const latest = Array.from(live.values(), (stored) => stored.version).reduce((a, b) =>
      Version.compare(a, b) >= 0 ? a : b
    )
    const version = ctx.versions.next(latest)
    const removed = Option.some(Version.format(version))
    const result = new Map(keys.map((key) => [key, live.has(key) ? removed : Option.none<string>()] as const))
    const writes = keys.map((key) => {
      const stored = live.get(key)
      return stored === undefined
        ? undefined
        : HeadWrites.inBatch(
          HeadWrites.removal({ key, pk: ctx.layout.headPk(key), version, now, guard: Requests.pinned(stored) })
        )
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
    // Not applied: another writer changed one of the keys since they were read: read them again.
    if (sent._tag === "NotApplied") return Retry.again(undefined, { ambiguous: false, contended: true })
    yield* Content.drop(ctx, live.values())
    return Retry.done(result)
  })
  return Retry.replan({
    initial: undefined,
    maxRounds: ctx.conflictRetries,
    attempt: () => attempt,
    exhausted: () => new ConditionFailed({ key: keys[0], operation: "multiDissoc" })
  })
}
