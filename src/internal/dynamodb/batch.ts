/**
 * Batched item I/O: `BatchGetItem` and `BatchWriteItem` in parallel slices,
 * re-sending what DynamoDB left unprocessed on the retry schedule, and
 * `Throttled` when it is still unprocessed after the policy's attempts.
 *
 * Only for requests that are safe to repeat: reads, and puts or deletes of
 * items no head references (chunks under a fresh content id, content a head
 * no longer points at). Heads are never written in batches: a batch put can
 * carry no condition (docs/consistency.md).
 *
 * @internal
 */
import type { KeysAndAttributes, WriteRequest } from "@aws-sdk/client-dynamodb"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import { type KonserveError, Throttled } from "../../KonserveError.js"
import * as Retry from "../retry.js"
import type { Client } from "./client.js"
import type { Item } from "./item.js"
import * as Requests from "./requests/index.js"

/** DynamoDB's limits per batch request. @internal */
export const BATCH_GET_KEYS = 100
/** @internal */
export const BATCH_WRITE_ITEMS = 25

/** Independent batch requests in flight (heads, deletions). @internal */
export const BATCH_CONCURRENCY = 16

/** @internal */
export interface SliceOptions {
  readonly perRequest?: number | undefined
  readonly concurrency?: number | undefined
}

/** @internal */
export const slices = <A>(items: ReadonlyArray<A>, size: number): Array<ReadonlyArray<A>> => {
  const out: Array<ReadonlyArray<A>> = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

/** Some of a batch is still unprocessed: send it again. */
class Unprocessed extends Data.TaggedError("Unprocessed")<{}> {}

const isUnprocessed = (error: unknown): error is Unprocessed => error instanceof Unprocessed

/**
 * Sends a batch request again with what its answer left unprocessed, until
 * nothing is left; `Throttled` after the retry policy's attempts.
 */
const untilProcessed = <P>(
  client: Client,
  operation: "BatchGetItem" | "BatchWriteItem",
  initial: P,
  send: (pending: P) => Effect.Effect<P | undefined, KonserveError>
): Effect.Effect<void, KonserveError> =>
  Effect.suspend(() => {
    let pending = initial
    let attempts = 0
    const once = Effect.flatMap(
      Effect.suspend(() => {
        attempts++
        return send(pending)
      }),
      (left) => {
        if (left === undefined) return Effect.void
        pending = left
        return Effect.fail(new Unprocessed())
      }
    )
    return Retry.retrying(once, { schedule: Retry.schedule(client.retry), while: isUnprocessed }).pipe(
      Effect.catchIf(isUnprocessed, () => Effect.fail(new Throttled({ operation, attempts })))
    )
  })

/** Writes requests in parallel slices. @internal */
export const batchWrite = (
  client: Client,
  requests: ReadonlyArray<WriteRequest>,
  options: SliceOptions = {}
): Effect.Effect<void, KonserveError> =>
  Effect.forEach(
    slices(requests, Math.min(options.perRequest ?? BATCH_WRITE_ITEMS, BATCH_WRITE_ITEMS)),
    (slice) =>
      untilProcessed(client, "BatchWriteItem", slice, (pending) =>
        Effect.map(
          client.call("BatchWriteItem", Requests.batchWrite(client.table, pending as Array<WriteRequest>)),
          (out) => {
            const left = out.UnprocessedItems?.[client.table] ?? []
            return left.length === 0 ? undefined : left
          }
        )),
    { concurrency: options.concurrency ?? BATCH_CONCURRENCY, discard: true }
  )

/** Puts items in parallel slices. @internal */
export const putItems = (
  client: Client,
  items: ReadonlyArray<Item>,
  options?: SliceOptions
): Effect.Effect<void, KonserveError> => batchWrite(client, items.map(Requests.putRequest), options)

/** Deletes items by primary key in parallel slices. @internal */
export const deleteItems = (client: Client, keys: ReadonlyArray<Item>): Effect.Effect<void, KonserveError> =>
  batchWrite(client, keys.map(Requests.deleteRequest))

/**
 * Deletes items no head references any more, best effort: what a failure
 * leaves behind stays unreferenced (never visible) and is only logged.
 *
 * @internal
 */
export const deleteUnreferenced = (client: Client, keys: ReadonlyArray<Item>): Effect.Effect<void> =>
  keys.length === 0 ? Effect.void : deleteItems(client, keys).pipe(
    Effect.catchAll((error) =>
      Effect.logWarning(`konserve-dynamodb: ${keys.length} unreferenced items left for a sweep`, error.message)
    )
  )

/** Reads items by primary key in parallel slices; the items found, in no particular order. @internal */
export const batchGet = (
  client: Client,
  keys: ReadonlyArray<Item>,
  request: Omit<KeysAndAttributes, "Keys">,
  options: SliceOptions = {}
): Effect.Effect<Array<Item>, KonserveError> =>
  Effect.suspend(() => {
    const found: Array<Item> = []
    return Effect.as(
      Effect.forEach(
        slices(keys, Math.min(options.perRequest ?? BATCH_GET_KEYS, BATCH_GET_KEYS)),
        (slice) =>
          untilProcessed(client, "BatchGetItem", slice, (pending) =>
            Effect.map(
              client.call("BatchGetItem", Requests.batchGet(client.table, request, pending as Array<Item>)),
              (out) => {
                found.push(...(out.Responses?.[client.table] ?? []))
                const left = out.UnprocessedKeys?.[client.table]?.Keys ?? []
                return left.length === 0 ? undefined : left
              }
            )),
        { concurrency: options.concurrency ?? BATCH_CONCURRENCY, discard: true }
      ),
      found
    )
  })
