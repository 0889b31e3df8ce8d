/**
 * Raw items of a test table, written and read with the SDK around the store
 * (test/reader.test.ts, test/hostile.test.ts): one client per table, puts
 * one by one or in batches, a Scan of a prefix's items, and a well-formed
 * inline head to make hostile.
 */
import {
  type AttributeValue,
  BatchWriteItemCommand,
  DynamoDBClient,
  PutItemCommand,
  ScanCommand
} from "@aws-sdk/client-dynamodb"
import * as Effect from "effect/Effect"
import * as Version from "../../src/internal/version.js"
import { clientConfig } from "./dynamodb.js"

export type RawItem = Record<string, AttributeValue>

export interface RawItems {
  readonly table: string
  /** The SDK client (made at first use, SDK retries off). */
  readonly client: () => DynamoDBClient
  readonly put: (item: RawItem) => Effect.Effect<void>
  /** Items in BatchWriteItems of 25. */
  readonly putAll: (items: ReadonlyArray<RawItem>) => Effect.Effect<void>
  /** Every item whose pk starts with `pkPrefix` (and whose sk is `sk`, when given), strongly consistent. */
  readonly scan: (pkPrefix: string, options?: { readonly sk?: string; readonly keysOnly?: boolean }) => Effect.Effect<
    Array<RawItem>
  >
}

export const make = (table: string): RawItems => {
  let sdk: DynamoDBClient | undefined
  const client = (): DynamoDBClient => sdk ??= new DynamoDBClient({ ...clientConfig(), maxAttempts: 1 })
  return {
    table,
    client,
    put: (item) =>
      Effect.asVoid(Effect.promise(() => client().send(new PutItemCommand({ TableName: table, Item: item })))),
    putAll: (items) =>
      Effect.forEach(
        Array.from({ length: Math.ceil(items.length / 25) }, (_, i) => items.slice(i * 25, i * 25 + 25)),
        (slice) =>
          Effect.promise(() =>
            client().send(
              new BatchWriteItemCommand({ RequestItems: { [table]: slice.map((Item) => ({ PutRequest: { Item } })) } })
            )
          ),
        { discard: true }
      ),
    scan: (pkPrefix, options = {}) =>
      Effect.promise(async () => {
        const out: Array<RawItem> = []
        let cursor: RawItem | undefined
        do {
          const page = await client().send(
            new ScanCommand({
              TableName: table,
              FilterExpression: options.sk === undefined ? "begins_with(pk, :p)" : "begins_with(pk, :p) AND sk = :s",
              ExpressionAttributeValues: {
                ":p": { S: pkPrefix },
                ...(options.sk === undefined ? {} : { ":s": { S: options.sk } })
              },
              ...(options.keysOnly === true ? { ProjectionExpression: "pk, sk" } : {}),
              ConsistentRead: true,
              ...(cursor === undefined ? {} : { ExclusiveStartKey: cursor })
            })
          )
          out.push(...(page.Items ?? []))
          cursor = page.LastEvaluatedKey
        } while (cursor !== undefined)
        return out
      })
  }
}

/** A well-formed head item of an inline value (5 bytes), to make hostile with `extra`. */
export const head = (pk: string, extra: RawItem = {}): RawItem => ({
  pk: { S: pk },
  sk: { S: "h" },
  kind: { S: "value" },
  ver: { B: Version.makeClock().next() },
  lw: { N: "1700000000000" },
  size: { N: "5" },
  val: { B: Uint8Array.from([1, 1, 0, 0, 0xf6]) },
  ...extra
})
