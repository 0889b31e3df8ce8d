/**
 * Head writes built without I/O: the one constructor of a `HeadWrite`, the
 * fields of a value or binary and of a tombstone, the user's condition in
 * the head's terms, an atomic write's heads with their content planned, and
 * what a write reports once applied or given up. `writes.ts`,
 * `transactions.ts`, `transact.ts` and `append.ts` build their writes here
 * and only send them.
 *
 * @internal
 */
import { ConditionFailed, type KonserveError } from "../../KonserveError.js"
import type { Condition, Kind, PutRequest, WriteHeader, Written } from "../backend.js"
import * as Version from "../version.js"
import type { ChunkTarget } from "./chunks.js"
import type { Context } from "./context.js"
import { unknownOutcome } from "./failure.js"
import * as History from "./history.js"
import type { StoredHead } from "./item.js"
import { TOMBSTONE, ttlSeconds } from "./item.js"
import type { Layout } from "./keyLayout.js"
import * as Plan from "./plan.js"
import type { Guard, HeadContent, HeadFields, HeadWrite, WriteCondition } from "./requests/index.js"
import * as Requests from "./requests/index.js"

/** A write on a head without content: nothing to pin. @internal */
export const noContent: Guard = { _tag: "NoContent" }

/** The head a write is pinned to (whose content it drops once applied), if any. @internal */
export const pinnedOf = (guard: Guard): StoredHead | undefined => guard._tag === "Pinned" ? guard.head : undefined

/**
 * The one constructor of a head write: whose (`key`, the public `operation`,
 * the caller's clock `now`), and what (`pk`, `fields`, `condition`, `guard`,
 * by default none).
 *
 * @internal
 */
export const make = (
  of: { readonly key: string; readonly operation: string; readonly now: number },
  write: {
    readonly pk: string
    readonly fields: HeadFields
    readonly condition: WriteCondition
    readonly guard?: Guard | undefined
  }
): HeadWrite => ({
  key: of.key,
  pk: write.pk,
  operation: of.operation,
  fields: write.fields,
  condition: write.condition,
  guard: write.guard ?? noContent,
  now: of.now
})

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

/** The fields of a tombstone of `version`, written at `now`. @internal */
export const tombstone = (version: Uint8Array, now: number): HeadFields => ({
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

/**
 * The head write of a removal: a tombstone of `version` on a live head
 * (`Live`, the default), or on a live head of one version (`Version`: a
 * compare-and-delete).
 *
 * @internal
 */
export const removal = (options: {
  readonly key: string
  readonly pk: string
  readonly version: Uint8Array
  readonly now: number
  readonly guard?: Guard | undefined
  readonly condition?: Extract<WriteCondition, { readonly _tag: "Live" | "Version" }> | undefined
}): HeadWrite =>
  make({ key: options.key, operation: "dissoc", now: options.now }, {
    pk: options.pk,
    fields: tombstone(options.version, options.now),
    condition: options.condition ?? { _tag: "Live" },
    guard: options.guard
  })

/**
 * The head write of an append: a log head of `size` elements, its expiry and
 * meta kept by the request that carries it (`Requests.transactAppend`) or
 * none (a new log).
 *
 * @internal
 */
export const logWrite = (options: {
  readonly key: string
  readonly pk: string
  readonly version: Uint8Array
  readonly now: number
  readonly size: number
  readonly content: Extract<HeadContent, { readonly _tag: "Log" }>
  readonly condition: WriteCondition
  readonly guard: Guard
}): HeadWrite =>
  make({ key: options.key, operation: "append", now: options.now }, {
    pk: options.pk,
    fields: {
      kind: "log",
      version: options.version,
      lastWrite: options.now,
      size: options.size,
      expiresAt: undefined,
      sweepAt: undefined,
      user: undefined,
      content: options.content
    },
    condition: options.condition,
    guard: options.guard
  })

/** The value of an atomic write planned: its head write, its content, and the chunks to write first. @internal */
export interface PlannedPut {
  readonly request: PutRequest
  readonly write: HeadWrite
  readonly plan: Plan.ContentPlan
}

/**
 * The head writes of an atomic write's values, all of one `version` and
 * marked as one batch: the values too large for one item, then the largest
 * until the transaction fits, planned to chunks (`Plan.transaction`); `of`
 * says each one's operation, condition and guard.
 *
 * @internal
 */
export const atomicPuts = (
  layout: Layout,
  puts: ReadonlyArray<PutRequest>,
  options: {
    readonly version: Uint8Array
    readonly of: (request: PutRequest, i: number) => {
      readonly operation: string
      readonly condition: WriteCondition
      readonly guard: Guard
      readonly now: number
    }
  }
): ReadonlyArray<PlannedPut> => {
  const pks = puts.map((request) => layout.headPk(request.key))
  const bases = puts.map((request) => batched(fieldsOf(request, options.version, request.size, { _tag: "None" })))
  const toChunk = Plan.transaction(
    puts.map((request, i) =>
      Requests.headSize(pks[i], { ...bases[i], content: { _tag: "Inline", bytes: request.bytes } })
    ),
    puts.map((request, i) =>
      Requests.headSize(pks[i], {
        ...bases[i],
        content: { _tag: "Chunked", manifest: Plan.sizingManifest(request.bytes.length) }
      })
    )
  )
  return puts.map((request, i) => {
    const plan: Plan.ContentPlan = toChunk.has(i)
      ? Plan.chunked(request.bytes)
      : { content: { _tag: "Inline", bytes: request.bytes }, pieces: [] }
    const { condition, guard, now, operation } = options.of(request, i)
    const write = make({ key: request.key, operation, now }, {
      pk: pks[i],
      fields: { ...bases[i], content: plan.content },
      condition,
      guard
    })
    return { request, write, plan }
  })
}

/** Where a write's chunks go, with the time after which TTL may sweep them. @internal */
export const chunkTarget = (ctx: Context, header: WriteHeader, cid: string): ChunkTarget => ({
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

/** A write whose condition does not hold, as the public failure. @internal */
export const refused = (header: { readonly key: string; readonly operation: string }) =>
  new ConditionFailed({ key: header.key, operation: header.operation })

/** How many times a write is sent again re-planned (a fresh version, a pin) before it gives up. @internal */
export const maxRounds = (ctx: Context): number => ctx.conflictRetries + 2

/** A write that ran out of re-plans: unknown when an attempt may have been applied, else refused. @internal */
export const exhausted = (write: HeadWrite, ambiguous: boolean): KonserveError =>
  ambiguous
    ? unknownOutcome(write.operation, write.key, "an attempt may have been applied, and the key kept changing")
    : refused(write)
