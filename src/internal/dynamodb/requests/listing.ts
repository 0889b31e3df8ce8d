/**
 * The `Scan`s of a whole store: `keys` (its live heads, what a `Meta` says),
 * and `deleteStore` / `storeExists` (every item of a prefix, or its heads).
 *
 * @internal
 */
import type { ScanCommandInput } from "@aws-sdk/client-dynamodb"
import { A, TOMBSTONE } from "../item.js"
import { SK_HEAD } from "../keyLayout.js"
import { LISTING_ATTRIBUTES, Names, namesFor, ref } from "./names.js"

/** A segment of a parallel `Scan`: none when `total` is 1. @internal */
export const segmentOf = (index: number, total: number): Pick<ScanCommandInput, "Segment" | "TotalSegments"> =>
  total === 1 ? {} : { Segment: index, TotalSegments: total }

/** The live heads of a prefix: no chunks, log elements, tombstones or other stores' keys. */
const HEADS_FILTER = `${Names.sk} = :h AND begins_with(${Names.pk}, :prefix) AND ${Names.kind} <> :tomb`

const headsValues = (prefix: string) => ({
  ":h": { S: SK_HEAD },
  ":prefix": { S: prefix },
  ":tomb": { S: TOMBSTONE }
})

const LISTING_PROJECTION = LISTING_ATTRIBUTES.map(ref).join(", ")
const LISTING_NAMES = namesFor(...LISTING_ATTRIBUTES, A.sk)

/**
 * One segment of `keys`' `Scan` of the store whose encoded prefix is
 * `prefix` (the whole table when `total` is 1).
 *
 * @internal
 */
export const listScan = (
  table: string,
  prefix: string,
  consistent: boolean,
  index: number,
  total: number
): ScanCommandInput => ({
  TableName: table,
  FilterExpression: HEADS_FILTER,
  ProjectionExpression: LISTING_PROJECTION,
  ...LISTING_NAMES,
  ExpressionAttributeValues: headsValues(prefix),
  ConsistentRead: consistent,
  ...segmentOf(index, total)
})

const PREFIX_FILTER = `begins_with(${Names.pk}, :prefix)`
const KEY_PROJECTION = `${Names.pk}, ${Names.sk}`
const KEY_NAMES = namesFor(A.pk, A.sk)
const HEADS_KEY_NAMES = namesFor(A.sk, A.pk, A.kind)

/**
 * The primary keys of every item of the store whose encoded prefix is
 * `prefix` (`onlyHeads`: of its live heads), read strongly.
 *
 * @internal
 */
export const prefixScan = (table: string, prefix: string, onlyHeads: boolean): ScanCommandInput => ({
  TableName: table,
  FilterExpression: onlyHeads ? HEADS_FILTER : PREFIX_FILTER,
  ProjectionExpression: KEY_PROJECTION,
  ...(onlyHeads ? HEADS_KEY_NAMES : KEY_NAMES),
  ExpressionAttributeValues: onlyHeads ? headsValues(prefix) : { ":prefix": { S: prefix } },
  ConsistentRead: true
})
