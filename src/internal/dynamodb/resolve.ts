/**
 * What a failed condition means, decided without I/O from the head that
 * DynamoDB returned with it (`ReturnValuesOnConditionCheckFailure: ALL_OLD`)
 * and from whether any attempt of the write may have been applied.
 *
 * A head write's condition is `ver < :v AND <the user's condition> AND
 * <guard>`; when it fails, exactly one of these holds:
 * - the head remembers `:v`: an earlier attempt was applied → `Applied`;
 * - some attempt may have been applied and the head no longer tells → `Unknown`;
 * - the user's condition does not hold → `Refused` (`ConditionFailed`, or
 *   "nothing to remove" for a removal);
 * - else the write was not applied and can be sent again, re-planned: on a
 *   fresh version when the head's is not older than `:v` (another writer got
 *   there first, or a clock behind), pinned to the head when it holds content
 *   the write must clean up after → `Replan`.
 *
 * See docs/consistency.md.
 *
 * @internal
 */
import type { AttributeValue, CancellationReason } from "@aws-sdk/client-dynamodb"
import * as Version from "../version.js"
import * as History from "./history.js"
import type { HeadState, Item } from "./item.js"
import { A, isLive } from "./item.js"
import type { Guard, HeadWrite, WriteCondition } from "./requests/index.js"

/** How a head item is read (`item.ts`'s `stateOf`, with the store's limits). @internal */
export type ReadState = (item: Item | undefined) => HeadState

/** What to do after a head write's condition failed. @internal */
export type Step =
  | { readonly _tag: "Applied" }
  | { readonly _tag: "Unknown"; readonly why: string }
  | { readonly _tag: "Refused" }
  | {
    readonly _tag: "Replan"
    readonly write: HeadWrite
    /** Whether an attempt of the re-planned write's version may already have been applied. */
    readonly ambiguous: boolean
    /** Another writer's newer version got in the way: back off before sending again. */
    readonly contended: boolean
  }

/** Whether the user's condition holds on a head. @internal */
export const holds = (condition: WriteCondition, state: HeadState, now: number): boolean => {
  switch (condition._tag) {
    case "None":
      return true
    case "Absent":
      return !isLive(state, now)
    case "Version":
      return isLive(state, now) && state.version !== undefined && Version.equals(state.version, condition.version)
    case "Live":
      return isLive(state, now)
  }
}

const sameStored = (a: AttributeValue | undefined, b: AttributeValue | undefined): boolean =>
  a === undefined || b === undefined
    ? a === b
    : a.B !== undefined && b.B !== undefined
    ? Version.equals(a.B, b.B)
    : (a.S !== undefined && a.S === b.S) || (a.N !== undefined && a.N === b.N)

const guardHolds = (guard: Guard, state: HeadState): boolean =>
  guard._tag === "Pinned" ? sameStored(guard.version, state.storedVersion) : !state.content

/** What a write must be pinned to on this head: its version when it has content, else nothing. */
const guardFor = (state: HeadState): Guard =>
  state.content ? { _tag: "Pinned", version: state.storedVersion, head: state.stored } : { _tag: "NoContent" }

const unknownWhy = (trace: History.Trace): string =>
  `an attempt may have been applied, and the key's last ${trace.versions.length} writes ` +
  "do not go back far enough to tell"

/**
 * After the condition of `write` failed on `item`: applied, unknown,
 * refused, or how to send it again.
 *
 * @internal
 */
export const headWrite = (options: {
  /** How the store reads a head. */
  readonly read: ReadState
  /** The store's next version (past `after`). */
  readonly next: (after?: Uint8Array) => Uint8Array
  /** The head the condition failed on (none: DynamoDB returned none). */
  readonly item: Item | undefined
  readonly write: HeadWrite
  /** Whether an attempt of the write may have been applied. */
  readonly ambiguous: boolean
}): Step => {
  const { ambiguous, item, next, read, write } = options
  const trace = History.traceOf(item)
  const version = write.fields.version
  // Without a head, only a condition that wants one can fail; else the answer lacks the head it failed on.
  if (item === undefined && ambiguous && !wantsHead(write)) {
    return { _tag: "Unknown", why: "an attempt may have been applied, and DynamoDB returned no head to tell" }
  }
  switch (History.verdict(trace, version, ambiguous)) {
    case "Applied":
      return { _tag: "Applied" }
    case "Unknown":
      return { _tag: "Unknown", why: unknownWhy(trace) }
  }
  const state = read(item)
  if (!holds(write.condition, state, write.now)) return { _tag: "Refused" }
  return { _tag: "Replan", ...replan(state, write, ambiguous, next) }
}

/**
 * The write again, not applied: on a fresh version past the head's when the
 * head is not older than it (then no attempt of the old version can ever
 * apply: its ambiguity is over), pinned to the head when the head has
 * content to clean up.
 */
const replan = (
  state: HeadState,
  write: HeadWrite,
  ambiguous: boolean,
  next: (after?: Uint8Array) => Uint8Array
): { readonly write: HeadWrite; readonly ambiguous: boolean; readonly contended: boolean } => {
  const version = write.fields.version
  const newer = state.version !== undefined && Version.compare(state.version, version) >= 0 &&
    !Version.pastHorizon(state.version, version)
  const guard = guardFor(state)
  // Every part of the condition holds on this head as far as the store can tell (an item it does not
  // understand, say): a fresh version past it, so that the next attempt is not the same request.
  const stuck = !newer && guardHolds(write.guard, state) && guard._tag === write.guard._tag
  const fresh = newer || stuck
  return {
    write: { ...write, guard, fields: fresh ? { ...write.fields, version: next(state.version) } : write.fields },
    // Only a head at or past the version ends it for good: no attempt of it can apply any more.
    ambiguous: newer ? false : ambiguous,
    contended: fresh
  }
}

/**
 * What one strongly consistent read of a head (`item`, undefined: none)
 * tells of a write of `version` whose request failed for good after an
 * attempt that may have been applied: `Applied` when it remembers the
 * version; `NotApplied` — never, and never will be — when it is at or past
 * the version (so that `ver < :v` fails for good, against the horizon every
 * attempt of the version carried) and reaches back to it without
 * remembering it; else `Unknown`.
 *
 * @internal
 */
export const settled = (item: Item | undefined, version: Uint8Array): History.Verdict => {
  const trace = History.traceOf(item)
  if (History.remembers(trace, version)) return "Applied"
  const head = item?.[A.version]?.B
  const past = head !== undefined && Version.compare(head, version) >= 0 && !Version.pastHorizon(head, version)
  return past && History.covers(trace, version) ? "NotApplied" : "Unknown"
}

/** Whether a write's condition fails without a head (so that "no head" is an answer, not a missing one). */
const wantsHead = (write: HeadWrite): boolean =>
  write.condition._tag === "Version" || write.condition._tag === "Live" || write.guard._tag === "Pinned"

/** The head write behind each item of a transaction (undefined for puts and condition checks). @internal */
export type TransactionWrites = ReadonlyArray<HeadWrite | undefined>

/**
 * Whether a cancelled transaction was applied (by an earlier attempt, its
 * answer lost): the heads its conditions failed on tell, as for one write.
 * It is atomic, so one head that remembers its version, or that covers it
 * without remembering it, decides for all; so does a head write whose
 * condition held (reason `None` in a transaction cancelled only by failed
 * conditions: DynamoDB evaluates every item's condition and names each that
 * failed), since `ver < :v` fails on every head of an applied transaction.
 *
 * @internal
 */
export const transactionVerdict = (options: {
  readonly reasons: ReadonlyArray<CancellationReason>
  readonly writes: TransactionWrites
  /** Whether an attempt of the transaction may have been applied. */
  readonly ambiguous: boolean
}): { readonly verdict: History.Verdict; readonly why: string } => {
  const { ambiguous, reasons, writes } = options
  let covered = !ambiguous
  let trace: History.Trace | undefined
  const onlyConditions = reasons.length === writes.length &&
    reasons.every((reason) => (reason.Code ?? "None") === "None" || reason.Code === "ConditionalCheckFailed")
  for (let i = 0; i < writes.length; i++) {
    if (onlyConditions && writes[i] !== undefined && (reasons[i]?.Code ?? "None") === "None") covered = true
    const write = writes[i]
    const reason = reasons[i]
    if (write === undefined || reason?.Code !== "ConditionalCheckFailed") continue
    if (reason.Item === undefined) {
      // No head: the write was never applied there (and a condition that wants a head says so).
      if (wantsHead(write)) covered = true
      continue
    }
    trace = History.traceOf(reason.Item)
    if (History.remembers(trace, write.fields.version)) return { verdict: "Applied", why: "" }
    if (History.covers(trace, write.fields.version)) covered = true
  }
  return covered
    ? { verdict: "NotApplied", why: "" }
    : {
      verdict: "Unknown",
      why: trace === undefined
        ? "an attempt may have been applied, and no head of the transaction tells"
        : unknownWhy(trace)
    }
}

/**
 * A cancelled transaction of head writes that was not applied: refused (the
 * first key whose condition does not hold), or every write re-planned as a
 * single write would be; a fresh version is one for all (past every head in
 * the way), and a new transaction needs a new token.
 *
 * @internal
 */
export const replanTransaction = (options: {
  readonly read: ReadState
  readonly next: (after?: Uint8Array) => Uint8Array
  readonly reasons: ReadonlyArray<CancellationReason>
  readonly writes: ReadonlyArray<HeadWrite>
  readonly ambiguous: boolean
}):
  | { readonly _tag: "Refused"; readonly key: string }
  | {
    readonly _tag: "Replan"
    readonly writes: ReadonlyArray<HeadWrite>
    readonly ambiguous: boolean
    readonly contended: boolean
  } =>
{
  const { ambiguous, next, read, reasons, writes } = options
  const version = writes[0].fields.version
  let latest: Uint8Array | undefined
  const replanned = writes.map((write, i) => {
    const reason = reasons[i]
    if (reason?.Code !== "ConditionalCheckFailed") return write
    const state = read(reason.Item)
    if (!holds(write.condition, state, write.now)) return undefined
    if (
      state.version !== undefined && Version.compare(state.version, version) >= 0 &&
      !Version.pastHorizon(state.version, version)
    ) {
      if (latest === undefined || Version.compare(state.version, latest) > 0) latest = state.version
    }
    return { ...write, guard: guardFor(state) }
  })
  const refused = replanned.findIndex((write) => write === undefined)
  if (refused >= 0) return { _tag: "Refused", key: writes[refused].key }
  // A version past every head in the way; also when nothing seems to be in the way (items the store
  // does not understand), so that the next attempt is not the same request.
  const unchanged = latest === undefined &&
    replanned.every((write, i) => write!.guard._tag === writes[i].guard._tag)
  const fresh = latest !== undefined || unchanged ? next(latest ?? version) : undefined
  return {
    _tag: "Replan",
    writes: replanned.map((write) =>
      fresh === undefined ? write! : { ...write!, fields: { ...write!.fields, version: fresh } }
    ),
    // Only heads at or past the version end its ambiguity for good.
    ambiguous: latest === undefined ? ambiguous : false,
    contended: fresh !== undefined
  }
}
