/**
 * The raw AWS SDK v3 contender: the minimal requests a user of the bare
 * `DynamoDBClient` would send for the same work, in plain async/await, on a
 * table with the same key schema as the store's (`pk` S + `sk` S).
 *
 * - get / assoc: one `GetItem` (strongly consistent, as the store's default)
 *   / one `PutItem` of an item holding 1 KiB of bytes;
 * - update: the `GetItem` then a `PutItem` of the same key; dissoc: one
 *   `DeleteItem`; append to a log: one `PutItem` of a new element item in the
 *   key's partition (sort key `l#<n>`);
 * - multiGet: `BatchGetItem` in 100-key slices, all in parallel, re-requesting
 *   `UnprocessedKeys`;
 * - keys: a paginated `Scan` projecting the partition key;
 * - a 10 MiB binary, impossible as one item (400 KB limit): 380 KiB chunks in
 *   items of their own, written with parallel `BatchWriteItem`s of 8 chunks
 *   (re-sending `UnprocessedItems`) and read back with parallel
 *   `BatchGetItem`s of 8 keys. No head, no checksum, no atomic replacement:
 *   the whole binary sits in memory on both ways.
 */
import type { AttributeValue, DynamoDBClient, KeysAndAttributes, WriteRequest } from "@aws-sdk/client-dynamodb"
import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  CreateTableCommand,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
  TransactWriteItemsCommand
} from "@aws-sdk/client-dynamodb"

type Item = Record<string, AttributeValue>

/** Same as the store's: 380 KiB of bytes per chunk item. */
export const CHUNK_BYTES = 380 * 1024
/** Chunks per BatchWriteItem / BatchGetItem of a binary. */
const CHUNKS_PER_REQUEST = 8
const BATCH_GET_KEYS = 100
const BATCH_WRITE_ITEMS = 25
const MAX_ATTEMPTS = 10

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
const backoff = (attempt: number) => sleep(Math.min(2000, 20 * 2 ** attempt * (0.8 + Math.random() * 0.4)))

const slices = <A>(items: ReadonlyArray<A>, size: number): Array<Array<A>> => {
  const out: Array<Array<A>> = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

const key = (pk: string): Item => ({ pk: { S: pk }, sk: { S: "v" } })

export const createTable = async (client: DynamoDBClient, table: string): Promise<void> => {
  await client.send(
    new CreateTableCommand({
      TableName: table,
      AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }, { AttributeName: "sk", AttributeType: "S" }],
      KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }, { AttributeName: "sk", KeyType: "RANGE" }],
      BillingMode: "PAY_PER_REQUEST"
    })
  )
}

export const get = async (client: DynamoDBClient, table: string, pk: string): Promise<Uint8Array | undefined> => {
  const out = await client.send(new GetItemCommand({ TableName: table, Key: key(pk), ConsistentRead: true }))
  return out.Item?.val?.B
}

export const put = async (client: DynamoDBClient, table: string, pk: string, bytes: Uint8Array): Promise<void> => {
  await client.send(new PutItemCommand({ TableName: table, Item: { ...key(pk), val: { B: bytes } } }))
}

/** A read-modify-write: the `GetItem` of the key, then a `PutItem` of what `f` makes of the bytes read. */
export const update = async (
  client: DynamoDBClient,
  table: string,
  pk: string,
  f: (bytes: Uint8Array | undefined) => Uint8Array
): Promise<void> => {
  await put(client, table, pk, f(await get(client, table, pk)))
}

export const dissoc = async (client: DynamoDBClient, table: string, pk: string): Promise<void> => {
  await client.send(new DeleteItemCommand({ TableName: table, Key: key(pk) }))
}

/** Appends element `index` to the log of `pk`: one item of its own in the key's partition, sort key `l#<index>`. */
export const append = async (
  client: DynamoDBClient,
  table: string,
  pk: string,
  index: number,
  bytes: Uint8Array
): Promise<void> => {
  await client.send(
    new PutItemCommand({ TableName: table, Item: { pk: { S: pk }, sk: { S: `l#${index}` }, val: { B: bytes } } })
  )
}

const batchWriteSlice = async (client: DynamoDBClient, table: string, requests: Array<WriteRequest>) => {
  let pending = requests
  for (let attempt = 1; pending.length > 0; attempt++) {
    if (attempt > MAX_ATTEMPTS) throw new Error(`BatchWriteItem: ${pending.length} items still unprocessed`)
    if (attempt > 1) await backoff(attempt - 1)
    const out = await client.send(new BatchWriteItemCommand({ RequestItems: { [table]: pending } }))
    pending = out.UnprocessedItems?.[table] ?? []
  }
}

/** Puts items with BatchWriteItem, `perRequest` items per request, `concurrency` requests in flight. */
export const putItems = async (
  client: DynamoDBClient,
  table: string,
  items: ReadonlyArray<Item>,
  perRequest = BATCH_WRITE_ITEMS,
  concurrency = 16
): Promise<void> => {
  const requests = slices(items.map((Item): WriteRequest => ({ PutRequest: { Item } })), perRequest)
  let next = 0
  const worker = async () => {
    while (next < requests.length) await batchWriteSlice(client, table, requests[next++])
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, requests.length) }, worker))
}

export const putMany = (
  client: DynamoDBClient,
  table: string,
  entries: ReadonlyArray<readonly [string, Uint8Array]>
): Promise<void> => putItems(client, table, entries.map(([pk, bytes]) => ({ ...key(pk), val: { B: bytes } })))

const batchGetSlice = async (
  client: DynamoDBClient,
  table: string,
  keys: Array<Item>,
  request: Omit<KeysAndAttributes, "Keys"> = {}
): Promise<Array<Item>> => {
  const found: Array<Item> = []
  let pending = keys
  for (let attempt = 1; pending.length > 0; attempt++) {
    if (attempt > MAX_ATTEMPTS) throw new Error(`BatchGetItem: ${pending.length} keys still unprocessed`)
    if (attempt > 1) await backoff(attempt - 1)
    const out = await client.send(
      new BatchGetItemCommand({ RequestItems: { [table]: { ...request, ConsistentRead: true, Keys: pending } } })
    )
    found.push(...(out.Responses?.[table] ?? []))
    pending = out.UnprocessedKeys?.[table]?.Keys ?? []
  }
  return found
}

/** The values of the keys found: 100-key slices, all in parallel. */
export const multiGet = async (
  client: DynamoDBClient,
  table: string,
  pks: ReadonlyArray<string>
): Promise<Map<string, Uint8Array>> => {
  const pages = await Promise.all(slices(pks.map(key), BATCH_GET_KEYS).map((s) => batchGetSlice(client, table, s)))
  const out = new Map<string, Uint8Array>()
  for (const item of pages.flat()) {
    const pk = item.pk?.S
    const bytes = item.val?.B
    if (pk !== undefined && bytes !== undefined) out.set(pk, bytes)
  }
  return out
}

/** Every partition key of the table, over every Scan page. */
export const keys = async (client: DynamoDBClient, table: string): Promise<number> => {
  let count = 0
  let cursor: Item | undefined
  do {
    const out = await client.send(
      new ScanCommand({
        TableName: table,
        ProjectionExpression: "pk",
        ConsistentRead: true,
        ...(cursor === undefined ? {} : { ExclusiveStartKey: cursor })
      })
    )
    count += out.Items?.length ?? 0
    cursor = out.LastEvaluatedKey
  } while (cursor !== undefined)
  return count
}

const chunkPk = (name: string, index: number) => `${name}#${index}`

/** Writes a binary from its pieces: buffered whole, cut into 380 KiB chunk items, parallel BatchWriteItems. */
export const writeBinary = async (
  client: DynamoDBClient,
  table: string,
  name: string,
  pieces: Iterable<Uint8Array>
): Promise<number> => {
  const whole = Buffer.concat(Array.from(pieces))
  const items: Array<Item> = []
  for (let offset = 0, index = 0; offset < whole.length; offset += CHUNK_BYTES, index++) {
    items.push({ ...key(chunkPk(name, index)), val: { B: whole.subarray(offset, offset + CHUNK_BYTES) } })
  }
  await putItems(client, table, items, CHUNKS_PER_REQUEST, items.length)
  return items.length
}

/** Reads a binary of `chunks` chunks back, in parallel BatchGetItems of 8 keys; the chunks in order. */
export const readBinary = async (
  client: DynamoDBClient,
  table: string,
  name: string,
  chunks: number
): Promise<Array<Uint8Array>> => {
  const keys = Array.from({ length: chunks }, (_, index) => key(chunkPk(name, index)))
  const pages = await Promise.all(slices(keys, CHUNKS_PER_REQUEST).map((s) => batchGetSlice(client, table, s)))
  const out = new Array<Uint8Array>(chunks)
  for (const item of pages.flat()) {
    const index = Number(item.pk?.S?.slice(name.length + 1))
    const bytes = item.val?.B
    if (bytes !== undefined) out[index] = bytes
  }
  return out
}

/**
 * A 2-key transfer by hand, as `transact` does it: one strongly consistent
 * `BatchGetItem` of both accounts (balance and version), then one
 * `TransactWriteItems` that writes both on the versions read (a missing
 * account counts 0 and must still be missing). The caller retries on a
 * cancellation; nothing else of the store's (history, token decisions).
 */
export const transfer = async (
  client: DynamoDBClient,
  table: string,
  from: string,
  to: string,
  amount: number
): Promise<void> => {
  const out = await client.send(
    new BatchGetItemCommand({ RequestItems: { [table]: { Keys: [key(from), key(to)], ConsistentRead: true } } })
  )
  const items = new Map((out.Responses?.[table] ?? []).map((item) => [item.pk?.S, item] as const))
  const update = (pk: string, delta: number) => {
    const item = items.get(pk)
    const balance = Number(item?.bal?.N ?? "0")
    const version = Number(item?.ver?.N ?? "0")
    return {
      Update: {
        TableName: table,
        Key: key(pk),
        UpdateExpression: "SET bal = :bal, ver = :next",
        ConditionExpression: item === undefined ? "attribute_not_exists(ver)" : "ver = :ver",
        ExpressionAttributeValues: {
          ":bal": { N: String(balance + delta) },
          ":next": { N: String(version + 1) },
          ...(item === undefined ? {} : { ":ver": { N: String(version) } })
        }
      }
    }
  }
  await client.send(new TransactWriteItemsCommand({ TransactItems: [update(from, -amount), update(to, amount)] }))
}
