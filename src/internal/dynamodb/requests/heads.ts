/**
 * The head writes, built without I/O: the `UpdateItem` of a head write (its
 * attributes, the shift of the write history, its condition), the items of a
 * transaction, the condition checks. `send` is elsewhere (`client.ts`); what
 * a failed condition means is decided in `resolve.ts`.
 *
 * Every head write is one `UpdateExpression` that sets the whole head (and
 * removes what the previous head had that this one does not), so that it
 * keeps the write history: `r7 = r6, …, r1 = ver, ver = :ver`. Its condition
 * is `ver < :ver` (see `history.ts`), the user's condition, and a guard on
 * the content the write replaces.
 *
 * @internal
 */
import type {
  AttributeValue,
  ConditionCheck,
  TransactWriteItem,
  TransactWriteItemsCommandInput,
  UpdateItemCommandInput
} from "@aws-sdk/client-dynamodb"
import type { Kind } from "../../backend.js"
import * as Version from "../../version.js"
import { EMPTY, SLOTS } from "../history.js"
import type { Item, Manifest, StoredHead } from "../item.js"
import { A, manifestAttributes, TOMBSTONE, valueSize } from "../item.js"
import { itemKey, SK_HEAD } from "../keyLayout.js"
import { type Attribute, ref } from "./names.js"

/** What a head holds besides its attributes. @internal */
export type HeadContent =
  | { readonly _tag: "Inline"; readonly bytes: Uint8Array }
  | { readonly _tag: "Chunked"; readonly manifest: Manifest }
  | { readonly _tag: "Log"; readonly generation: string; readonly chunkedElements: number }
  | { readonly _tag: "None" }

/** Everything a head write sets. @internal */
export interface HeadFields {
  readonly kind: Kind | typeof TOMBSTONE
  readonly version: Uint8Array
  readonly lastWrite: number
  readonly size: number | undefined
  readonly expiresAt: number | undefined
  /** DynamoDB's TTL sweeper attribute, epoch seconds. */
  readonly sweepAt: number | undefined
  readonly user: Uint8Array | undefined
  readonly content: HeadContent
  /** Written by an atomic multi-key write (`A.batch`); every other head write removes the marker. */
  readonly batch?: true
}

/**
 * The user's condition, in the head's terms.
 * - `Absent`: no head, a tombstone, or an expired head.
 * - `Version`: a live head of this version.
 * - `Live`: a live head (what a removal removes).
 *
 * @internal
 */
export type WriteCondition =
  | { readonly _tag: "None" }
  | { readonly _tag: "Absent" }
  | { readonly _tag: "Version"; readonly version: Uint8Array }
  | { readonly _tag: "Live" }

/**
 * What a write may replace. `NoContent`: a head without chunks or log
 * elements (the common case: nothing to clean up after, so nothing to learn
 * from the answer). `Pinned`: exactly the head whose `ver` is `version` as
 * stored (undefined: an item without one), whose content — when `head` is a
 * well-formed head that says where it is — the write deletes after it is
 * applied.
 *
 * @internal
 */
export type Guard =
  | { readonly _tag: "NoContent" }
  | {
    readonly _tag: "Pinned"
    readonly version: AttributeValue | undefined
    readonly head: StoredHead | undefined
  }

/** A guard on exactly this well-formed head. @internal */
export const pinned = (head: StoredHead): Guard => ({ _tag: "Pinned", version: { B: head.version }, head })

/** One write of one head. @internal */
export interface HeadWrite {
  readonly key: string
  readonly pk: string
  /** The public operation, for error messages. */
  readonly operation: string
  readonly fields: HeadFields
  readonly condition: WriteCondition
  readonly guard: Guard
  /** The caller's clock, epoch milliseconds, for expiry in conditions. */
  readonly now: number
}

/** The attributes a head may have besides the key, the kind, the history and `lw`; a write removes those it does not set. */
const OPTIONAL = [
  A.size,
  A.expiresAt,
  A.ttl,
  A.user,
  A.value,
  A.cid,
  A.chunks,
  A.chunkSize,
  A.length,
  A.crc,
  A.generation,
  A.chunkedElements
] as const

/** Expression attribute names and values, collected while an expression is written. */
interface Expression {
  readonly names: Record<string, string>
  readonly values: Item
  readonly name: (attribute: string) => string
  readonly value: (placeholder: string, value: Item[string]) => string
}

const expression = (): Expression => {
  const names: Record<string, string> = {}
  const values: Item = {}
  return {
    names,
    values,
    name: (attribute) => {
      const written = ref(attribute as Attribute)
      if (written !== attribute) names[written] = attribute
      return written
    },
    value: (placeholder, value) => {
      values[`:${placeholder}`] = value
      return `:${placeholder}`
    }
  }
}

const n = (value: number): Item[string] => ({ N: String(value) })

/** The value of the batch marker. */
const BATCH: Item[string] = { N: "1" }

/**
 * The batch marker's removal, in every head write that does not set it: by
 * its plain name (not a reserved word), without an expression attribute
 * name, so it costs a single-key write 4 bytes (`, bt`).
 */
const UNMARK = A.batch

/** The attributes a head write sets, by name (the history apart). */
const attributesOf = (fields: HeadFields): Item => {
  const item: Item = { [A.kind]: { S: fields.kind }, [A.lastWrite]: n(fields.lastWrite) }
  if (fields.size !== undefined) item[A.size] = n(fields.size)
  if (fields.expiresAt !== undefined) item[A.expiresAt] = n(fields.expiresAt)
  if (fields.sweepAt !== undefined) item[A.ttl] = n(fields.sweepAt)
  if (fields.user !== undefined) item[A.user] = { B: fields.user }
  if (fields.batch === true) item[A.batch] = BATCH
  const content = fields.content
  switch (content._tag) {
    case "Inline":
      item[A.value] = { B: content.bytes }
      break
    case "Chunked":
      Object.assign(item, manifestAttributes(content.manifest))
      break
    case "Log":
      item[A.generation] = { S: content.generation }
      if (content.chunkedElements > 0) item[A.chunkedElements] = n(content.chunkedElements)
      break
  }
  return item
}

/** `r7 = r6, …, r1 = ver, ver = :ver`: this write's version first, the oldest one out. */
const shiftHistory = (e: Expression, version: Uint8Array): Array<string> => {
  const nil = e.value("nil", { B: EMPTY })
  const actions: Array<string> = []
  for (let i = SLOTS.length - 1; i >= 1; i--) {
    actions.push(`${e.name(SLOTS[i])} = if_not_exists(${e.name(SLOTS[i - 1])}, ${nil})`)
  }
  actions.push(`${e.name(A.version)} = ${e.value("ver", { B: version })}`)
  return actions
}

/** The `UpdateExpression` of a whole head. */
const setHead = (e: Expression, fields: HeadFields): string => {
  const attributes = attributesOf(fields)
  const set = Object.entries(attributes).map(([name, value]) => `${e.name(name)} = ${e.value(name, value)}`)
  set.push(...shiftHistory(e, fields.version))
  const remove = OPTIONAL.filter((name) => attributes[name] === undefined).map(e.name)
  if (fields.batch !== true) remove.push(UNMARK)
  return `SET ${set.join(", ")}` + (remove.length === 0 ? "" : ` REMOVE ${remove.join(", ")}`)
}

const LIVE = (e: Expression, now: string) =>
  `${e.name(A.kind)} <> ${e.value("tomb", { S: TOMBSTONE })} AND ` +
  `(attribute_not_exists(${e.name(A.expiresAt)}) OR ${e.name(A.expiresAt)} > ${now})`

/** The condition of a head write: `ver < :ver`, the user's condition, the guard. */
const conditionOf = (e: Expression, write: HeadWrite): string => {
  const ver = e.name(A.version)
  // A `ver` that is not binary, or a day past this write's version (`Version.horizonOf`), was not written by this
  // library's anchored clocks: older than any version. The horizon depends on the version alone, so that every
  // attempt of one write carries the same.
  const parts = [
    `(attribute_not_exists(${ver}) OR NOT attribute_type(${ver}, ${e.value("binary", { S: "B" })}) OR ` +
    `${ver} < ${e.value("ver", { B: write.fields.version })} OR ${ver} > ${
      e.value("horizon", { B: Version.horizonOf(write.fields.version) })
    })`
  ]
  const now = () => e.value("now", n(write.now))
  const condition = write.condition
  switch (condition._tag) {
    case "Absent":
      parts.push(
        `(attribute_not_exists(${ver}) OR ${e.name(A.kind)} = ${e.value("tomb", { S: TOMBSTONE })} OR ` +
          `${e.name(A.expiresAt)} <= ${now()})`
      )
      break
    case "Version":
      parts.push(`${ver} = ${e.value("base", { B: condition.version })}`, `(${LIVE(e, now())})`)
      break
    case "Live":
      parts.push(`attribute_exists(${ver})`, `(${LIVE(e, now())})`)
      break
  }
  const guard = write.guard
  parts.push(
    guard._tag === "NoContent"
      ? `attribute_not_exists(${e.name(A.cid)}) AND attribute_not_exists(${e.name(A.generation)})`
      : guard.version === undefined
      ? `attribute_not_exists(${ver})`
      : `${ver} = ${e.value("pin", guard.version)}`
  )
  return parts.join(" AND ")
}

/** The parts of an `Update` shared by `UpdateItem` and a transaction's `Update`. */
const updateOf = (table: string, write: HeadWrite, update: (e: Expression) => string) => {
  const e = expression()
  const UpdateExpression = update(e)
  const ConditionExpression = conditionOf(e, write)
  return {
    TableName: table,
    Key: itemKey(write.pk, SK_HEAD),
    UpdateExpression,
    ConditionExpression,
    ...(Object.keys(e.names).length === 0 ? {} : { ExpressionAttributeNames: e.names }),
    ExpressionAttributeValues: e.values,
    ReturnValuesOnConditionCheckFailure: "ALL_OLD" as const
  }
}

/** The `UpdateItem` of a head write. @internal */
export const updateHead = (table: string, write: HeadWrite): UpdateItemCommandInput =>
  updateOf(table, write, (e) => setHead(e, write.fields))

/** A head write in a transaction. @internal */
export const transactUpdate = (table: string, write: HeadWrite): TransactWriteItem => ({
  Update: updateOf(table, write, (e) => setHead(e, write.fields))
})

/**
 * An append to a live log, in a transaction: the element count and the
 * version bumped, the history shifted, everything else kept (generation,
 * expiry, meta). `write.guard` pins the head the count was read from.
 *
 * @internal
 */
export const transactAppend = (table: string, write: HeadWrite, chunked: boolean): TransactWriteItem => ({
  Update: updateOf(table, write, (e) => {
    const set = [
      `${e.name(A.size)} = ${e.value("size", n(write.fields.size ?? 0))}`,
      `${e.name(A.lastWrite)} = ${e.value("lw", n(write.fields.lastWrite))}`,
      ...shiftHistory(e, write.fields.version)
    ]
    if (chunked) {
      const count = e.name(A.chunkedElements)
      set.push(`${count} = if_not_exists(${count}, ${e.value("zero", n(0))}) + ${e.value("one", n(1))}`)
    }
    // No batch marker to remove: a live log's head was written by an append (atomic writes write values only).
    return `SET ${set.join(", ")}`
  })
})

/** A transaction's check that a key is absent (no head, a tombstone, or expired). @internal */
export const transactAbsent = (table: string, pk: string, now: number): TransactWriteItem => {
  const e = expression()
  const ver = e.name(A.version)
  const check: ConditionCheck = {
    TableName: table,
    Key: itemKey(pk, SK_HEAD),
    ConditionExpression: `attribute_not_exists(${ver}) OR ${e.name(A.kind)} = ${e.value("tomb", { S: TOMBSTONE })} OR ${
      e.name(A.expiresAt)
    } <= ${e.value("now", n(now))}`,
    ...(Object.keys(e.names).length === 0 ? {} : { ExpressionAttributeNames: e.names }),
    ExpressionAttributeValues: e.values
  }
  return { ConditionCheck: check }
}

/** A put in a transaction (a log element). @internal */
export const transactPut = (table: string, item: Item): TransactWriteItem => ({ Put: { TableName: table, Item: item } })

/**
 * The stored size of the head a write leaves, in bytes: what the 400 KB item
 * limit and the 4 MB transaction limit count (the history included).
 *
 * @internal
 */
export const headSize = (pk: string, fields: HeadFields): number => {
  let total = A.pk.length + Buffer.byteLength(pk, "utf8") + A.sk.length + SK_HEAD.length
  for (const [name, value] of Object.entries(attributesOf(fields))) total += name.length + valueSize(value)
  for (const slot of SLOTS) total += slot.length + fields.version.length
  return total
}

/** A transaction's check that a key still holds a live head of this version (`transact`'s keys only read). @internal */
export const transactVersion = (table: string, pk: string, version: Uint8Array, now: number): TransactWriteItem => ({
  ConditionCheck: {
    TableName: table,
    Key: itemKey(pk, SK_HEAD),
    ConditionExpression: "#ver = :ver AND #kind <> :tomb AND (attribute_not_exists(#exp) OR #exp > :now)",
    ExpressionAttributeNames: { "#ver": A.version, "#kind": A.kind, "#exp": A.expiresAt },
    ExpressionAttributeValues: { ":ver": { B: version }, ":tomb": { S: TOMBSTONE }, ":now": { N: String(now) } }
  }
})

/**
 * A transaction of `items`; with `token` (the same on every resend), one that
 * DynamoDB applies at most once.
 *
 * @internal
 */
export const transactWrite = (
  items: ReadonlyArray<TransactWriteItem>,
  token?: string
): TransactWriteItemsCommandInput =>
  token === undefined
    ? { TransactItems: items as Array<TransactWriteItem> }
    : { TransactItems: items as Array<TransactWriteItem>, ClientRequestToken: token }
