/**
 * `DynamoDBStore.changes`: the table's stream as a `Stream<Change>`.
 *
 * - The table must have a stream (`StreamNotEnabled` otherwise, naming the
 *   `UpdateTable` call that turns it on).
 * - Where it starts: a checkpoint's saved position; else `from` ("latest":
 *   now; "oldest": the trim horizon). "latest" reads from the trim horizon
 *   too and skips what is older than the start, less `START_MARGIN`: a
 *   `LATEST` iterator would miss what is committed between the start and the
 *   moment it is obtained.
 * - A checkpoint with no saved position saves its start before the first
 *   change is emitted; then the position of a batch's shard is saved once
 *   the consumer pulls past the batch's last change.
 * - Per key, changes are emitted in version order; the duplicates the reader
 *   sees itself (same key, version and kind) are dropped.
 *
 * @internal
 */
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { DynamoDBError } from "../../../KonserveError.js"
import { type KonserveError } from "../../../KonserveError.js"
import * as FailureCodes from "../../failureCodes.js"
import type { Change } from "../../service.js"
import * as Version from "../../version.js"
import type { Client } from "../client.js"
import type { Layout } from "../keyLayout.js"
import * as Table from "../table.js"
import * as Checkpoint from "./checkpoint.js"
import * as Records from "./records.js"
import * as Shards from "./shards.js"
import type { StreamsClient } from "./streamsClient.js"

/** The default pause between polls of a shard with nothing new. @internal */
export const DEFAULT_POLL_INTERVAL = Duration.millis(250)

/** How far before its start a reader from "latest" still delivers changes (clocks, rounding). @internal */
export const START_MARGIN = Duration.seconds(5)

/** The most keys whose last version the reader remembers to drop duplicates. @internal */
export const MAX_REMEMBERED_KEYS = 100_000

/** @internal */
export interface Options {
  readonly from: "latest" | "oldest" | undefined
  readonly checkpoint: string | undefined
  readonly pollInterval: Duration.Duration
}

/** The failure of `changes` on a table without a stream. @internal */
export const streamNotEnabled = (table: string): DynamoDBError =>
  FailureCodes.streamNotEnabled(
    "changes",
    `table ${JSON.stringify(table)} has no DynamoDB stream: open a store on it with \`stream: true\`, or ` +
      `turn it on with UpdateTable (aws dynamodb update-table --table-name ${table} --stream-specification ` +
      "StreamEnabled=true,StreamViewType=NEW_AND_OLD_IMAGES)"
  )

/** The stream of the table: its ARN, or `StreamNotEnabled`. @internal */
export const streamArnOf = (client: Client): Effect.Effect<string, KonserveError> =>
  Effect.flatMap(Table.describe(client), (table) => {
    const arn = table?.LatestStreamArn
    return table?.StreamSpecification?.StreamEnabled === true && arn !== undefined
      ? Effect.succeed(arn)
      : Effect.fail(streamNotEnabled(client.table))
  })

const rank = (op: Change["op"]): number => op === "write" ? 0 : 1

/**
 * Keeps per key the last version emitted: drops what is not past it (a
 * duplicate, or an older version), so each key's changes go in version
 * order. `expire` and `remove` of a version rank after its `write`.
 *
 * @internal
 */
export const makeDedupe = (max: number = MAX_REMEMBERED_KEYS) => {
  const seen = new Map<string, { readonly version: Uint8Array; readonly rank: number }>()
  return (mapped: Records.Mapped): boolean => {
    const { key, op } = mapped.change
    const last = seen.get(key)
    if (last !== undefined) {
      const order = Version.compare(mapped.version, last.version)
      if (order < 0 || (order === 0 && rank(op) <= last.rank)) return false
      seen.delete(key)
    } else if (seen.size >= max) {
      const oldest = seen.keys().next()
      if (oldest.done !== true) seen.delete(oldest.value)
    }
    seen.set(key, { version: mapped.version, rank: rank(op) })
    return true
  }
}

/**
 * The changes of one batch: records of this store's heads, made no earlier
 * than `notBefore`, as changes, deduplicated.
 *
 * @internal
 */
export const changesOf = (
  settings: Records.Settings,
  batch: Shards.Batch,
  notBefore: number,
  keep: (mapped: Records.Mapped) => boolean
): Either.Either<Chunk.Chunk<Change>, KonserveError> => {
  const out: Array<Change> = []
  const now = Date.now()
  for (const record of batch.records) {
    const time = Records.timeOf(record)
    if (time !== undefined && time < notBefore) continue
    const mapped = Records.toChange(settings, record, now)
    if (Either.isLeft(mapped)) return Either.left(mapped.left)
    if (Option.isSome(mapped.right) && keep(mapped.right.value)) out.push(mapped.right.value.change)
  }
  return Either.right(Chunk.unsafeFromArray(out))
}

/** The feed of a table's stream. @internal */
export const run = (
  client: Client,
  streams: StreamsClient,
  layout: Layout,
  maxValueBytes: number,
  options: Options
): Stream.Stream<Change, KonserveError> =>
  Stream.unwrap(Effect.gen(function*() {
    // "now" is when the stream is first pulled, before any request: a consumer
    // that sees it waiting on its first request may count on every later write
    const pulled = Date.now()
    const streamArn = yield* streamArnOf(client)
    const checkpoint = options.checkpoint === undefined
      ? undefined
      : Checkpoint.make(client, layout, options.checkpoint)
    const saved = checkpoint === undefined ? Option.none() : yield* checkpoint.load
    let revision = Option.isSome(saved) ? saved.value.revision : 0
    const start = Option.isSome(saved) ? saved.value.position.start : options.from === "oldest" ? 0 : pulled
    const positions: Record<string, string> = Option.isSome(saved) ? { ...saved.value.position.shards } : {}
    const save = (): Effect.Effect<void, KonserveError> =>
      checkpoint === undefined ? Effect.void : Effect.map(
        checkpoint.save({ start, shards: { ...positions } }, revision),
        (next) => {
          revision = next
        }
      )
    if (checkpoint !== undefined && Option.isNone(saved)) {
      if (options.from === undefined) {
        yield* Effect.logInfo(
          `konserve-dynamodb: changes: checkpoint ${JSON.stringify(options.checkpoint)} has no saved position: ` +
            "starting at the latest changes"
        )
      }
      yield* save()
    }
    const notBefore = start === 0 ? Number.NEGATIVE_INFINITY : start - Duration.toMillis(START_MARGIN)
    const settings: Records.Settings = { layout, maxValueBytes }
    const keep = makeDedupe()
    return Shards.read(streams, { streamArn, positions, pollInterval: options.pollInterval }).pipe(
      Stream.flatMap((batch) => {
        const changes = changesOf(settings, batch, notBefore, keep)
        if (Either.isLeft(changes)) return Stream.fail(changes.left)
        const moved = batch.position !== undefined && positions[batch.shardId] !== batch.position
        const after = moved
          ? Stream.execute(Effect.suspend(() => {
            positions[batch.shardId] = batch.position as string
            return save()
          }))
          : Stream.empty
        return Stream.concat(Stream.fromChunk(changes.right), after)
      })
    )
  }))
