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

/** Pages one after the other, following `LastEvaluatedKey`, one request per pull. */
const pages = (
  fetch: (cursor: Item | undefined) => Effect.Effect<{
    readonly Items?: Array<Item> | undefined
    readonly LastEvaluatedKey?: Item | undefined
  }, KonserveError>
): Stream.Stream<Item, KonserveError> =>
  Stream.paginateChunkEffect(undefined as Item | undefined, (cursor) =>
    Effect.map(
      fetch(cursor),
      (out) => [Chunk.unsafeFromArray(out.Items ?? []), Option.fromNullable(out.LastEvaluatedKey)] as const
    ))

const from = <I extends object>(input: I, cursor: Item | undefined): I =>
  cursor === undefined ? input : { ...input, ExclusiveStartKey: cursor }

/** The pages of a `Scan` (built by `requests/`), item by item. @internal */
export const scan = (client: Client, input: ScanCommandInput): Stream.Stream<Item, KonserveError> =>
  pages((cursor) => client.call("Scan", from(input, cursor)))

/** The pages of a `Query` (built by `requests/`), item by item. @internal */
export const query = (client: Client, input: QueryCommandInput): Stream.Stream<Item, KonserveError> =>
  pages((cursor) => client.call("Query", from(input, cursor)))
