/**
 * Stream records as `Change`s, without I/O: only head items of this store's
 * prefix surface (chunks, log elements, checkpoints and other prefixes never
 * do); a head whose version did not move (bookkeeping) is nothing; a
 * tombstone over a live head is `remove`; a tombstone written over nothing
 * or over a tombstone is nothing; a deletion of a live head by DynamoDB's
 * TTL sweeper (or by `sweep`, once it expired) is `expire`, with the old
 * image's version; a deletion of a tombstone is bookkeeping.
 *
 * DynamoDB Local 3.3.0 sends a TTL deletion with an event name the SDK does
 * not know (it reaches us as whatever string the engine sent); AWS sends
 * `REMOVE` with `userIdentity.type` "Service". Both are told by the images
 * (an old image and no new one), not by the name.
 *
 * @internal
 */
import type { _Record } from "@aws-sdk/client-dynamodb-streams"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { DecodeError } from "../../../KonserveError.js"
import * as Prepare from "../../prepare.js"
import type { Change } from "../../service.js"
import * as Version from "../../version.js"
import type { Item } from "../item.js"
import { A, decodeHead, TOMBSTONE } from "../item.js"
import type { Layout } from "../keyLayout.js"
import * as KeyLayout from "../keyLayout.js"

/** A change as the reader keeps it: the public `Change` and its version's bytes (for ordering). @internal */
export interface Mapped {
  readonly change: Change
  readonly version: Uint8Array
}

/** What the mapping needs to know about the store. @internal */
export interface Settings {
  readonly layout: Layout
  readonly maxValueBytes: number
}

/** Whether an item is a head of this store (before anything is decoded). @internal */
export const isHeadOf = (layout: Layout, item: Item | undefined): boolean =>
  KeyLayout.isHead(layout, item?.[A.pk]?.S, item?.[A.sk]?.S)

const isTombstone = (item: Item | undefined): boolean => item?.[A.kind]?.S === TOMBSTONE

const decodeError = (key: string, reason: string) =>
  new DecodeError({ key, message: `key ${JSON.stringify(key)}: a change from the stream: ${reason}` })

const versionOf = (item: Item | undefined): Uint8Array | undefined => {
  const version = item?.[A.version]?.B
  return version !== undefined && version.length === Version.BYTES ? version : undefined
}

/** The `batch` of a written head or tombstone: its version when an atomic multi-key write wrote it. */
const batchOf = (item: Item, version: string): Option.Option<string> =>
  item[A.batch] === undefined ? Option.none() : Option.some(version)

const keyOf = (layout: Layout, item: Item): string => layout.keyOf(item[A.pk]?.S ?? "")

/** A write: the new image, a live head. */
const written = (settings: Settings, item: Item): Either.Either<Mapped, DecodeError> => {
  const decoded = decodeHead(settings.layout, item)
  if (Either.isLeft(decoded)) return Either.left(decodeError(decoded.left.key, decoded.left.reason))
  const stored = decoded.right
  if (stored === undefined) return Either.left(decodeError(keyOf(settings.layout, item), "not a head"))
  const { head } = stored
  return Either.flatMap(Prepare.metaOf(head), (meta) => {
    const inline = head.kind === "value" && stored.manifest === undefined ? stored.inline : undefined
    const value = inline === undefined
      ? Either.right(Option.none())
      : Either.map(Prepare.decodeBytes(head.key, inline, settings.maxValueBytes, "value"), Option.some)
    return Either.map(value, (value) => ({
      change: {
        key: head.key,
        op: "write",
        version: head.version,
        meta: Option.some(meta),
        value,
        batch: batchOf(item, head.version)
      },
      version: stored.version
    }))
  })
}

/** A removal or an expiry; `tombstone`: a removal's, for its batch marker. */
const gone = (key: string, op: "remove" | "expire", version: Uint8Array, tombstone?: Item): Mapped => {
  const formatted = Version.format(version)
  return {
    change: {
      key,
      op,
      version: formatted,
      meta: Option.none(),
      value: Option.none(),
      batch: tombstone === undefined ? Option.none() : batchOf(tombstone, formatted)
    },
    version
  }
}

/** Whether a deletion of a live head is DynamoDB's TTL sweeper's (or `sweep`'s, of an expired head). */
const isExpiry = (record: _Record, old: Item, now: number): boolean => {
  if (record.eventName !== "REMOVE") return true
  if (record.userIdentity?.Type === "Service") return true
  const expiresAt = old[A.expiresAt]?.N
  return expiresAt !== undefined && Number(expiresAt) <= now
}

/**
 * The change a stream record stands for, none when it is no change of this
 * store; `DecodeError` for a head of this store that this library could not
 * have written. `now`: epoch milliseconds, to tell a deleted expired head.
 *
 * @internal
 */
export const toChange = (
  settings: Settings,
  record: _Record,
  now: number
): Either.Either<Option.Option<Mapped>, DecodeError> => {
  const newImage = record.dynamodb?.NewImage as Item | undefined
  const oldImage = record.dynamodb?.OldImage as Item | undefined
  const layout = settings.layout
  if (newImage !== undefined) {
    if (!isHeadOf(layout, newImage)) return Either.right(Option.none())
    const version = versionOf(newImage)
    const before = versionOf(oldImage)
    if (version === undefined) return Either.left(decodeError(keyOf(layout, newImage), "a head without a version"))
    // the head was touched without a write (its version did not move)
    if (before !== undefined && Version.equals(version, before) && isTombstone(oldImage) === isTombstone(newImage)) {
      return Either.right(Option.none())
    }
    if (!isTombstone(newImage)) return Either.map(written(settings, newImage), Option.some)
    // a tombstone: a removal when there was a key to remove
    if (oldImage === undefined || isTombstone(oldImage)) return Either.right(Option.none())
    return Either.right(Option.some(gone(keyOf(layout, newImage), "remove", version, newImage)))
  }
  if (oldImage === undefined || !isHeadOf(layout, oldImage) || isTombstone(oldImage)) {
    return Either.right(Option.none())
  }
  const version = versionOf(oldImage)
  if (version === undefined) return Either.left(decodeError(keyOf(layout, oldImage), "a head without a version"))
  return Either.right(
    Option.some(gone(keyOf(layout, oldImage), isExpiry(record, oldImage, now) ? "expire" : "remove", version))
  )
}

/**
 * When a record's change was made, epoch milliseconds: its new image's
 * version time (writers' clocks, anchored to DynamoDB's), else the record's
 * `ApproximateCreationDateTime` (DynamoDB Local rounds it down to the
 * minute: `CREATION_ROUNDING` is added so a removal is never taken for older
 * than it is).
 *
 * @internal
 */
export const timeOf = (record: _Record): number | undefined => {
  const version = versionOf(record.dynamodb?.NewImage as Item | undefined)
  if (version !== undefined) return Version.timeOf(version) / 1000
  const created = record.dynamodb?.ApproximateCreationDateTime
  return created === undefined ? undefined : created.getTime() + CREATION_ROUNDING
}

/** How much a record's `ApproximateCreationDateTime` may be rounded down. @internal */
export const CREATION_ROUNDING = 60_000
