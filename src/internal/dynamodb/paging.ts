/**
 * `Scan` and `Query` as lazy streams of items, one page per pull, following
 * `LastEvaluatedKey`: the one paging helper of `keys`, logs, `deleteStore`
 * and `storeExists`.
 *
 * @internal
 */
import type { QueryCommandInput, ScanCommandInput } from "@aws-sdk/client-dynamodb"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { KonserveError } from "../../KonserveError.js"
import type { Client } from "./client.js"
import type { Item } from "./item.js"

/** The pages of a `Scan`, item by item. @internal */
export const scan = (
  client: Client,
  input: Omit<ScanCommandInput, "TableName" | "ExclusiveStartKey">
): Stream.Stream<Item, KonserveError> =>
  Stream.paginateChunkEffect(undefined as Item | undefined, (cursor) =>
    Effect.map(
      client.call("Scan", {
        ...input,
        TableName: client.table,
        ...(cursor === undefined ? {} : { ExclusiveStartKey: cursor })
      }),
      (out) => [Chunk.unsafeFromArray(out.Items ?? []), Option.fromNullable(out.LastEvaluatedKey)] as const
    ))

/** The pages of a `Query`, item by item. @internal */
export const query = (
  client: Client,
  input: Omit<QueryCommandInput, "TableName" | "ExclusiveStartKey">
): Stream.Stream<Item, KonserveError> =>
  Stream.paginateChunkEffect(undefined as Item | undefined, (cursor) =>
    Effect.map(
      client.call("Query", {
        ...input,
        TableName: client.table,
        ...(cursor === undefined ? {} : { ExclusiveStartKey: cursor })
      }),
      (out) => [Chunk.unsafeFromArray(out.Items ?? []), Option.fromNullable(out.LastEvaluatedKey)] as const
    ))
