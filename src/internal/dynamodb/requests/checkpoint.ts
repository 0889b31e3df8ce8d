/**
 * A feed checkpoint's requests: its strong read, and its save conditioned on
 * the revision read (`feed/checkpoint.ts`).
 *
 * @internal
 */
import type { GetItemCommandInput, UpdateItemCommandInput } from "@aws-sdk/client-dynamodb"
import { A } from "../item.js"
import { itemKey, SK_CHECKPOINT } from "../keyLayout.js"

/** A checkpoint's attributes: its position (JSON) and revision. @internal */
export const CHECKPOINT = { position: "pos", revision: "rev" } as const

/** @internal */
export const getCheckpoint = (table: string, pk: string): GetItemCommandInput => ({
  TableName: table,
  Key: itemKey(pk, SK_CHECKPOINT),
  ConsistentRead: true
})

const SAVE = `SET #${CHECKPOINT.position} = :pos, #${CHECKPOINT.revision} = :next`
const FIRST_NAMES = {
  [`#${CHECKPOINT.position}`]: CHECKPOINT.position,
  [`#${CHECKPOINT.revision}`]: CHECKPOINT.revision,
  [`#${A.pk}`]: A.pk
}
const NEXT_NAMES = {
  [`#${CHECKPOINT.position}`]: CHECKPOINT.position,
  [`#${CHECKPOINT.revision}`]: CHECKPOINT.revision
}

/**
 * Saves `position` (JSON) over revision `revision` (0: none yet, the item
 * must not exist), as revision `revision + 1`.
 *
 * @internal
 */
export const saveCheckpoint = (
  table: string,
  pk: string,
  position: string,
  revision: number
): UpdateItemCommandInput => ({
  TableName: table,
  Key: itemKey(pk, SK_CHECKPOINT),
  UpdateExpression: SAVE,
  ConditionExpression: revision === 0 ? `attribute_not_exists(#${A.pk})` : `#${CHECKPOINT.revision} = :rev`,
  ExpressionAttributeNames: revision === 0 ? FIRST_NAMES : NEXT_NAMES,
  ExpressionAttributeValues: {
    ":pos": { S: position },
    ":next": { N: String(revision + 1) },
    ...(revision === 0 ? {} : { ":rev": { N: String(revision) } })
  }
})
