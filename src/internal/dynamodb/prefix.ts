/**
 * A store prefix as a whole, for `deleteStore` and `storeExists`: its items
 * (heads, chunks, log elements) page by page, deleted in batches, or whether
 * it holds a key.
 *
 * @internal
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { KonserveError } from "../../KonserveError.js"
import * as Batch from "./batch.js"
import type { Client } from "./client.js"
import type { Item } from "./item.js"
import { encodePrefix, itemKey } from "./keyLayout.js"
import * as Paging from "./paging.js"
import * as Requests from "./requests/index.js"

/** Every item of a prefix (`onlyHeads`: the heads of its keys, tombstones left out), page by page. */
const items = (client: Client, prefix: string, onlyHeads: boolean): Stream.Stream<Item, KonserveError> =>
  Paging.scan(client, Requests.prefixScan(client.table, encodePrefix(prefix), onlyHeads))

/** Deletes every item of a prefix, a Scan page at a time. @internal */
export const remove = (client: Client, prefix: string): Effect.Effect<void, KonserveError> =>
  items(client, prefix, false).pipe(
    Stream.mapChunksEffect((page) =>
      Effect.as(
        Batch.deleteItems(client, Array.from(page, (item) => itemKey(item.pk.S!, item.sk.S!))),
        Chunk.empty<never>()
      )
    ),
    Stream.runDrain
  )

/** Whether a prefix holds at least one key. @internal */
export const holdsAKey = (client: Client, prefix: string): Effect.Effect<boolean, KonserveError> =>
  Effect.map(Stream.runHead(items(client, prefix, true)), Option.isSome)
