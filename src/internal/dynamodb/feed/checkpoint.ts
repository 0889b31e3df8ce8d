/**
 * A named feed position kept in the table, under the store's prefix: the
 * item `pk = P + name`, `sk = "f"`. No other item has that sort key (heads
 * `h`, chunks `c`, log elements `l#…`), and `keys`, `size`, `export` read
 * only `sk = "h"` while `sweep` classifies only heads, chunks and log
 * elements: the checkpoint never shows, and it goes with `deleteStore` of
 * the prefix. Log reads query `h` to `l$`, which `f` is outside of.
 *
 * The position: when the reader started (epoch milliseconds: records older
 * than that, less a margin, are skipped in shards it has no position for)
 * and, per shard, the sequence number of the last record the consumer
 * pulled past, or "done" for a shard read to its end. Each save is
 * conditioned on the revision read (`rev`), so two readers of one name
 * notice each other (`DynamoDBError` code "CheckpointConflict").
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { DecodeError, type KonserveError } from "../../../KonserveError.js"
import * as FailureCodes from "../../failureCodes.js"
import type { Client } from "../client.js"
import { toKonserveError } from "../failure.js"
import type { Item } from "../item.js"
import type { Layout } from "../keyLayout.js"
import * as KeyLayout from "../keyLayout.js"
import * as Requests from "../requests/index.js"

/** The sort key of a checkpoint item. @internal */
export const SK_CHECKPOINT = KeyLayout.SK_CHECKPOINT

const { position: POSITION, revision: REVISION } = Requests.CHECKPOINT

/** A saved position. @internal */
export const Position = Schema.Struct({
  start: Schema.Number.pipe(Schema.finite()),
  shards: Schema.Record({ key: Schema.String, value: Schema.String })
})

/** @internal */
export type Position = typeof Position.Type

/** A shard read to its end. @internal */
export const DONE = "done"

/** A checkpoint as read: its revision and position. @internal */
export interface Saved {
  readonly revision: number
  readonly position: Position
}

const decodePosition = Schema.decodeUnknownEither(Schema.parseJson(Position))

/** Decodes a checkpoint item; `DecodeError` naming the checkpoint when it is not one this library wrote. @internal */
export const decode = (name: string, item: Item): Either.Either<Saved, DecodeError> => {
  const fail = (reason: string) =>
    Either.left(
      new DecodeError({ key: name, message: `checkpoint ${JSON.stringify(name)}: the stored position ${reason}` })
    )
  const revision = Number(item[REVISION]?.N)
  const text = item[POSITION]?.S
  if (!Number.isSafeInteger(revision) || revision < 1) return fail("has no valid revision")
  if (text === undefined) return fail("is missing")
  const position = decodePosition(text)
  if (Either.isLeft(position)) {
    return fail(`does not decode: ${ParseResult.TreeFormatter.formatErrorSync(position.left)}`)
  }
  return Either.right({ revision, position: position.right })
}

/** A checkpoint of one store. @internal */
export interface Checkpoint {
  readonly load: Effect.Effect<Option.Option<Saved>, KonserveError>
  /** Saves `position` over revision `revision` (0: none yet); the new revision. */
  readonly save: (position: Position, revision: number) => Effect.Effect<number, KonserveError>
}

const conflict = (table: string, name: string) =>
  FailureCodes.checkpointConflict(
    "changes",
    `checkpoint ${JSON.stringify(name)} of table ${JSON.stringify(table)} was saved by another reader: ` +
      "one reader per checkpoint name"
  )

const samePosition = (a: Position, b: Position): boolean => JSON.stringify(a) === JSON.stringify(b)

/** @internal */
export const make = (client: Client, layout: Layout, name: string): Checkpoint => {
  const { pk } = KeyLayout.build(layout, { _tag: "Checkpoint", name })
  const load = client.call("GetItem", Requests.getCheckpoint(client.table, pk)).pipe(
    Effect.flatMap((out) =>
      out.Item === undefined ? Effect.succeedNone : Effect.map(decode(name, out.Item), Option.some)
    )
  )
  const save = (position: Position, revision: number): Effect.Effect<number, KonserveError> =>
    client.send("UpdateItem", Requests.saveCheckpoint(client.table, pk, JSON.stringify(position), revision)).pipe(
      Effect.as(revision + 1),
      Effect.catchAll((failure) => {
        if (failure.verdict !== "condition") return Effect.fail(toKonserveError(failure, client.table))
        // our own save whose answer was lost, or another reader's
        return Effect.flatMap(load, (saved) =>
          Option.isSome(saved) && saved.value.revision === revision + 1 &&
            samePosition(saved.value.position, position)
            ? Effect.succeed(revision + 1)
            : Effect.fail(conflict(client.table, name)))
      })
    )
  return { load, save }
}
