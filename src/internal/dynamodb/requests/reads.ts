/**
 * The reads' requests, built without I/O: a head's `GetItem`, the heads and
 * chunks of a `BatchGetItem`, a log's `Query` (its head and elements), the
 * `Query` of a log generation's elements whose content a write drops.
 *
 * @internal
 */
import type {
  BatchGetItemCommandInput,
  BatchWriteItemCommandInput,
  GetItemCommandInput,
  KeysAndAttributes,
  QueryCommandInput,
  WriteRequest
} from "@aws-sdk/client-dynamodb"
import type { Item } from "../item.js"
import { A } from "../item.js"
import { generationSkPrefix, itemKey, LOG_END, SK_HEAD } from "../keyLayout.js"
import type { Projection } from "./names.js"
import { HEAD_ATTRIBUTES, HEAD_WITH_VALUE_ATTRIBUTES, Names, namesFor, projection, ref } from "./names.js"

/**
 * What a head read asks for: `head`, every attribute but the inline bytes
 * and the write history; `value`, the inline bytes too; `whole`, the item
 * with its write history (what settling a write needs). A value's read
 * leaves the history out: seven attributes fewer to send and parse.
 *
 * @internal
 */
export type HeadRead = "head" | "value" | "whole"

const HEAD_READS: { readonly [R in HeadRead]: Projection | {} } = {
  head: projection(...HEAD_ATTRIBUTES),
  value: projection(...HEAD_WITH_VALUE_ATTRIBUTES),
  whole: {}
}

/** The `GetItem` of the head at `pk`. @internal */
export const getHead = (table: string, pk: string, read: HeadRead, consistent: boolean): GetItemCommandInput => ({
  TableName: table,
  Key: itemKey(pk, SK_HEAD),
  ...HEAD_READS[read],
  ConsistentRead: consistent
})

/** What a `BatchGetItem` of heads reads of each. @internal */
export const headsRead = (
  read: Exclude<HeadRead, "whole">,
  consistent: boolean
): Omit<KeysAndAttributes, "Keys"> => ({ ...HEAD_READS[read], ConsistentRead: consistent })

const CHUNK_READ = projection(A.index, A.value)

/** What a `BatchGetItem` of chunks reads of each: its index and bytes. @internal */
export const chunksRead = (consistent: boolean): Omit<KeysAndAttributes, "Keys"> => ({
  ConsistentRead: consistent,
  ...CHUNK_READ
})

/** A `BatchGetItem` of `keys`, each read as `request` says. @internal */
export const batchGet = (
  table: string,
  request: Omit<KeysAndAttributes, "Keys">,
  keys: Array<Item>
): BatchGetItemCommandInput => ({ RequestItems: { [table]: { ...request, Keys: keys } } })

/** A `BatchWriteItem` of `requests`. @internal */
export const batchWrite = (table: string, requests: Array<WriteRequest>): BatchWriteItemCommandInput => ({
  RequestItems: { [table]: requests }
})

/** A batch put. @internal */
export const putRequest = (item: Item): WriteRequest => ({ PutRequest: { Item: item } })

/** A batch delete by primary key. @internal */
export const deleteRequest = (key: Item): WriteRequest => ({ DeleteRequest: { Key: key } })

const LOG_CONDITION = `${Names.pk} = :pk AND ${Names.sk} BETWEEN :from AND :to`
const LOG_READ = projection(...HEAD_ATTRIBUTES, A.sk, A.element)

/**
 * A log read since its head: one `Query` of the key's partition from the
 * head (`h`) to past its last element (`l$`).
 *
 * @internal
 */
export const logQuery = (table: string, pk: string, consistent: boolean): QueryCommandInput => ({
  TableName: table,
  KeyConditionExpression: LOG_CONDITION,
  ...LOG_READ,
  ExpressionAttributeValues: {
    ":pk": { S: pk },
    ":from": { S: SK_HEAD },
    ":to": { S: LOG_END }
  },
  ConsistentRead: consistent
})

/** The key condition of a log generation's elements. @internal */
export const GENERATION_CONDITION = `${Names.pk} = :pk AND begins_with(${Names.sk}, :gen)`

const ELEMENT_CONTENT_NAMES = namesFor(A.pk, A.sk, A.cid, A.chunks, A.chunkSize, A.length, A.crc)

/**
 * The elements of one log generation, with their chunk manifests (what a
 * write that drops the log deletes).
 *
 * @internal
 */
export const generationContent = (table: string, pk: string, generation: string): QueryCommandInput => ({
  TableName: table,
  KeyConditionExpression: GENERATION_CONDITION,
  ProjectionExpression: [A.sk, A.cid, A.chunks, A.chunkSize, A.length, A.crc].map(ref).join(", "),
  ...ELEMENT_CONTENT_NAMES,
  ExpressionAttributeValues: { ":pk": { S: pk }, ":gen": { S: generationSkPrefix(generation) } },
  ConsistentRead: true
})
