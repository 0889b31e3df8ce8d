/**
 * The sweep's requests: its `Scan` of a store's items, the strong read of
 * the owner heads, the `Query` of the content ids a log's elements name, and
 * the conditioned `DeleteItem` of a dead head.
 *
 * @internal
 */
import type {
  DeleteItemCommandInput,
  KeysAndAttributes,
  QueryCommandInput,
  ScanCommandInput
} from "@aws-sdk/client-dynamodb"
import { A } from "../item.js"
import { generationSkPrefix, itemKey, SK_HEAD } from "../keyLayout.js"
import { segmentOf } from "./listing.js"
import type { Attribute } from "./names.js"
import { Names, namesFor, projection } from "./names.js"
import { GENERATION_CONDITION } from "./reads.js"

/** What the sweep reads of every item of the store. @internal */
export const ITEM_ATTRIBUTES: ReadonlyArray<Attribute> = [
  A.pk,
  A.sk,
  A.kind,
  A.version,
  A.expiresAt,
  A.ttl,
  A.size,
  A.cid,
  A.owner,
  A.writtenAt,
  A.generation,
  A.element
]

const SCAN_FILTER = `begins_with(${Names.pk}, :prefix)`
const SCAN_READ = projection(...ITEM_ATTRIBUTES)

/**
 * One segment of the sweep's `Scan` of the store whose encoded prefix is
 * `prefix`. What the sweep decides on is re-read strongly (heads) or never
 * changes once written (chunks, elements): an eventually consistent read.
 *
 * @internal
 */
export const sweepScan = (table: string, prefix: string, index: number, total: number): ScanCommandInput => ({
  TableName: table,
  FilterExpression: SCAN_FILTER,
  ...SCAN_READ,
  ExpressionAttributeValues: { ":prefix": { S: prefix } },
  ConsistentRead: false,
  ...segmentOf(index, total)
})

/** What the sweep reads of an owner head, strongly: what it references, and whether it is past its use. @internal */
export const ownerHeadsRead: Omit<KeysAndAttributes, "Keys"> = {
  ConsistentRead: true,
  ...projection(A.pk, A.kind, A.version, A.cid, A.generation, A.chunkedElements, A.expiresAt, A.ttl)
}

const CHUNKED_FILTER = `attribute_exists(${Names.cid})`
const CIDS_NAMES = namesFor(A.pk, A.sk, A.cid)

/** The content ids that the chunked elements of the log at `pk`, generation `generation`, name. @internal */
export const elementCids = (table: string, pk: string, generation: string): QueryCommandInput => ({
  TableName: table,
  KeyConditionExpression: GENERATION_CONDITION,
  FilterExpression: CHUNKED_FILTER,
  ProjectionExpression: Names.cid,
  ...CIDS_NAMES,
  ExpressionAttributeValues: { ":pk": { S: pk }, ":gen": { S: generationSkPrefix(generation) } },
  ConsistentRead: true
})

const DELETE_CONDITION = `${Names.version} = :ver`
const DELETE_NAMES = namesFor(A.version)

/** Deletes the dead head at `pk` if it still has the version read. @internal */
export const deleteDeadHead = (table: string, pk: string, version: Uint8Array): DeleteItemCommandInput => ({
  TableName: table,
  Key: itemKey(pk, SK_HEAD),
  ConditionExpression: DELETE_CONDITION,
  ...DELETE_NAMES,
  ExpressionAttributeValues: { ":ver": { B: version } }
})
