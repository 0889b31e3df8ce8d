/**
 * `keys`: every live head of a store, read with `Scan`. It reads only what
 * a `Meta` says (`requests/listing.ts`), filters out chunk and log items,
 * tombstones and other stores' keys on DynamoDB's side, decodes each page in
 * one synchronous pass, and reads a large table in parallel `Segment`s.
 *
 * How many segments: the store's `scanSegments` when set; else learned from
 * the store's last complete listing (one segment per `PAGES_PER_SEGMENT`
 * pages it read, at most `MAX_LEARNED_SEGMENTS`), starting at one: a small
 * table costs one request, a large one is read several pages at a time
 * after the first listing. DynamoDB counts its 1 MB page limit on the items
 * it reads, before the projection and the filter: the pages of a table are
 * what they are, segments only read them side by side.
 *
 * @internal
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { DecodeError, type KonserveError } from "../../KonserveError.js"
import type { Head } from "../backend.js"
import type { Context } from "./context.js"
import type { Item, Malformed } from "./item.js"
import { decodeListed } from "./item.js"
import * as Requests from "./requests/index.js"

const malformedError = (malformed: Malformed) =>
  new DecodeError({ key: malformed.key, message: `key ${JSON.stringify(malformed.key)}: ${malformed.reason}` })

/** The heads of one page, decoded in one pass; the first malformed one fails the listing. */
const headsOf = (ctx: Context, items: ReadonlyArray<Item>): Effect.Effect<Chunk.Chunk<Head>, DecodeError> => {
  const heads: Array<Head> = []
  for (const item of items) {
    const listed = decodeListed(ctx.layout, item)
    if (Either.isLeft(listed)) return Effect.fail(malformedError(listed.left))
    if (listed.right !== undefined) heads.push(listed.right.head)
  }
  return Effect.succeed(Chunk.unsafeFromArray(heads))
}

/** One segment of the scan (or the whole table when `total` is 1), page by page, counting its pages. */
const segment = (
  ctx: Context,
  index: number,
  total: number,
  onPage: () => void
): Stream.Stream<Chunk.Chunk<Head>, KonserveError> => {
  const input = Requests.listScan(ctx.client.table, ctx.layout.prefix, ctx.consistent, index, total)
  return Stream.paginateEffect(
    undefined as Item | undefined,
    (cursor) =>
      ctx.client.call("Scan", cursor === undefined ? input : { ...input, ExclusiveStartKey: cursor }).pipe(
        Effect.tap(onPage),
        Effect.flatMap((out) =>
          Effect.map(
            headsOf(ctx, out.Items ?? []),
            (heads) => [heads, Option.fromNullable(out.LastEvaluatedKey)] as const
          )
        )
      )
  )
}

/**
 * Every head of the store (tombstones left out), lazily: one page per pull
 * of each segment, the segments side by side.
 *
 * @internal
 */
export const scan = (ctx: Context): Stream.Stream<Head, KonserveError> =>
  Stream.suspend(() => {
    const total = ctx.scanPlan.segments()
    let pages = 0
    const onPage = () => {
      pages++
    }
    const segments = Array.from({ length: total }, (_, index) => segment(ctx, index, total, onPage))
    const all = total === 1 ? segments[0] : Stream.mergeAll(segments, { concurrency: total })
    return all.pipe(
      Stream.flattenChunks,
      Stream.concat(Stream.execute(Effect.sync(() => ctx.scanPlan.completed(pages))))
    )
  })
