/**
 * The table's requests: create it (the key schema `pk` + `sk`, the billing
 * mode), register the TTL attribute, describe it, delete it.
 *
 * @internal
 */
import type {
  CreateTableCommandInput,
  DeleteTableCommandInput,
  DescribeTableCommandInput,
  UpdateTimeToLiveCommandInput
} from "@aws-sdk/client-dynamodb"
import { TTL_ATTRIBUTE } from "../item.js"
import { KEY } from "../keyLayout.js"

/** @internal */
export type CreateTable =
  | false
  | { readonly billingMode: "PAY_PER_REQUEST" }
  | { readonly billingMode: "PROVISIONED"; readonly readCapacity: number; readonly writeCapacity: number }

/** @internal */
export const createTable = (table: string, mode: Exclude<CreateTable, false>): CreateTableCommandInput => ({
  TableName: table,
  AttributeDefinitions: [{ AttributeName: KEY.pk, AttributeType: "S" }, { AttributeName: KEY.sk, AttributeType: "S" }],
  KeySchema: [{ AttributeName: KEY.pk, KeyType: "HASH" }, { AttributeName: KEY.sk, KeyType: "RANGE" }],
  ...(mode.billingMode === "PROVISIONED"
    ? {
      BillingMode: "PROVISIONED",
      ProvisionedThroughput: { ReadCapacityUnits: mode.readCapacity, WriteCapacityUnits: mode.writeCapacity }
    }
    : { BillingMode: "PAY_PER_REQUEST" })
})

/** @internal */
export const updateTimeToLive = (table: string): UpdateTimeToLiveCommandInput => ({
  TableName: table,
  TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true }
})

/** @internal */
export const describeTable = (table: string): DescribeTableCommandInput => ({ TableName: table })

/** @internal */
export const deleteTable = (table: string): DeleteTableCommandInput => ({ TableName: table })
