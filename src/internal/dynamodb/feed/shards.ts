/**
 * Reading a stream's shards in lineage order, one `GetRecords` per pull:
 *
 * - `DescribeStream`, paginated (`ExclusiveStartShardId`), at the start,
 *   every `DESCRIBE_EVERY`, when a shard ends and when nothing is left to
 *   read; new shards are followed;
 * - a shard is read only once its parent is drained (or is no longer
 *   listed: trimmed away); a closed shard is read to its end (no
 *   `NextShardIterator`), then marked done;
 * - a shard with a position resumes `AFTER_SEQUENCE_NUMBER`, one without from
 *   `TRIM_HORIZON`;
 * - `ExpiredIteratorException` and an unknown shard get a fresh iterator
 *   from the last position; `TrimmedDataAccessException` too, and when the
 *   position itself was trimmed away, from the trim horizon (records past
 *   the stream's retention are lost: logged);
 * - throttling and transient failures are retried by `streamsClient.ts` on
 *   the store's schedule;
 * - shards are read in turn; a round in which no shard had a record pauses
 *   `pollInterval`;
 * - the next `GetRecords` is sent while the consumer handles the page before
 *   it (`aheadByOne`): one page read ahead, at most. What is saved in a
 *   checkpoint is not the reader's: `feed.ts` saves a batch's position once
 *   the consumer pulled past it.
 *
 * The reader's state lives in the closure of one run and flows nowhere else.
 *
 * @internal
 */
import type { _Record, Shard } from "@aws-sdk/client-dynamodb-streams"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { DynamoDBError, Throttled } from "../../../KonserveError.js"
import * as Retry from "../../retry.js"
import { DONE } from "./checkpoint.js"
import type { StreamsClient, StreamsFailure } from "./streamsClient.js"

/** How often the shard list is read again while shards are being read. @internal */
export const DESCRIBE_EVERY = Duration.seconds(10)

/** Records per `GetRecords` (the service's maximum). @internal */
export const RECORDS_PER_REQUEST = 1000

/** One `GetRecords` answer of one shard. @internal */
export interface Batch {
  readonly shardId: string
  readonly records: ReadonlyArray<_Record>
  /** The shard's position after these records: the last sequence number, `DONE`, or undefined (none yet). */
  readonly position: string | undefined
}

/** @internal */
export interface Options {
  readonly streamArn: string
  /** Positions per shard to resume from (a sequence number, or `DONE`). */
  readonly positions: Readonly<Record<string, string>>
  readonly pollInterval: Duration.Duration
}

interface ShardState {
  readonly id: string
  readonly parent: string | undefined
  iterator: string | undefined
  last: string | undefined
  done: boolean
}

/** A failure of a request of the feed as the public failure. @internal */
export const toError = (failure: StreamsFailure): DynamoDBError | Throttled =>
  failure.verdict === "throttle"
    ? new Throttled({ operation: failure.command, attempts: failure.attempts })
    : new DynamoDBError({
      operation: failure.command,
      code: failure.code,
      message: `${failure.command} failed` + (failure.attempts > 1 ? ` after ${failure.attempts} attempts` : "") +
        `: ${failure.code}: ${failure.message}`,
      retryable: failure.verdict === "retry",
      cause: failure.cause
    })

const isCode = (failure: StreamsFailure, ...codes: ReadonlyArray<string>) => codes.includes(failure.code)

/** Every shard of the stream, page by page. @internal */
export const describe = (
  client: StreamsClient,
  streamArn: string
): Effect.Effect<Array<Shard>, DynamoDBError | Throttled> =>
  Effect.gen(function*() {
    const shards: Array<Shard> = []
    let start: string | undefined
    do {
      const out = yield* Effect.mapError(
        client.send("DescribeStream", {
          StreamArn: streamArn,
          ...(start === undefined ? {} : { ExclusiveStartShardId: start })
        }),
        toError
      )
      shards.push(...(out.StreamDescription?.Shards ?? []))
      start = out.StreamDescription?.LastEvaluatedShardId
    } while (start !== undefined)
    return shards
  })

/**
 * The stream's batches, one `GetRecords` per pull, forever (an empty batch
 * after a pause when there is nothing to read).
 *
 * @internal
 */
export const read = (client: StreamsClient, options: Options): Stream.Stream<Batch, DynamoDBError | Throttled> =>
  Stream.suspend(() => {
    const shards = new Map<string, ShardState>()
    let describedAt = Number.NEGATIVE_INFINITY
    let turn = 0
    let idle = 0

    const refresh = Effect.gen(function*() {
      const listed = yield* describe(client, options.streamArn)
      for (const shard of listed) {
        const id = shard.ShardId
        if (id === undefined || shards.has(id)) continue
        const saved = options.positions[id]
        shards.set(id, {
          id,
          parent: shard.ParentShardId,
          iterator: undefined,
          last: saved === DONE ? undefined : saved,
          done: saved === DONE
        })
      }
      describedAt = Date.now()
    })

    const ready = (): Array<ShardState> =>
      Array.from(shards.values()).filter((shard) => {
        if (shard.done) return false
        const parent = shard.parent === undefined ? undefined : shards.get(shard.parent)
        return parent === undefined || parent.done
      })

    const iteratorOf = (shard: ShardState): Effect.Effect<string | undefined, DynamoDBError | Throttled> => {
      const get = (after: string | undefined) =>
        client.send("GetShardIterator", {
          StreamArn: options.streamArn,
          ShardId: shard.id,
          ...(after === undefined
            ? { ShardIteratorType: "TRIM_HORIZON" }
            : { ShardIteratorType: "AFTER_SEQUENCE_NUMBER", SequenceNumber: after })
        })
      return get(shard.last).pipe(
        Effect.catchIf(
          (failure) => shard.last !== undefined && isCode(failure, "TrimmedDataAccessException"),
          () =>
            Effect.logWarning(
              `konserve-dynamodb: changes: shard ${shard.id}: the position ${shard.last} is past the stream's ` +
                "retention; reading on from the oldest record kept (changes in between are lost)"
            ).pipe(Effect.zipRight(get(undefined)))
        ),
        Effect.map((out) => out.ShardIterator),
        // a shard gone from the stream (trimmed away): nothing more to read in it
        Effect.catchIf((failure) => failure.verdict === "notFound", () => Effect.succeed(undefined)),
        Effect.mapError(toError)
      )
    }

    const pause = Retry.live(Effect.sleep(options.pollInterval))

    const step: Effect.Effect<Batch | undefined, DynamoDBError | Throttled> = Effect.gen(function*() {
      if (Date.now() - describedAt >= Duration.toMillis(DESCRIBE_EVERY)) yield* refresh
      const active = ready()
      if (active.length === 0) {
        yield* pause
        yield* refresh
        return undefined
      }
      const shard = active[turn++ % active.length]
      if (shard.iterator === undefined) {
        const iterator = yield* iteratorOf(shard)
        if (iterator === undefined) {
          shard.done = true
          return { shardId: shard.id, records: [], position: DONE }
        }
        shard.iterator = iterator
      }
      const answer = yield* client.send("GetRecords", { ShardIterator: shard.iterator, Limit: RECORDS_PER_REQUEST })
        .pipe(
          Effect.map(Option.some),
          Effect.catchIf(
            (failure) =>
              isCode(failure, "ExpiredIteratorException", "TrimmedDataAccessException") ||
              failure.verdict === "notFound",
            () => Effect.succeedNone
          ),
          Effect.mapError(toError)
        )
      if (Option.isNone(answer)) {
        // a fresh iterator from the last position on the next turn
        shard.iterator = undefined
        return undefined
      }
      const records = answer.value.Records ?? []
      const lastRecord = records.at(-1)?.dynamodb?.SequenceNumber
      if (lastRecord !== undefined) shard.last = lastRecord
      shard.iterator = answer.value.NextShardIterator
      if (shard.iterator === undefined) {
        shard.done = true
        describedAt = Number.NEGATIVE_INFINITY
      }
      if (records.length === 0 && !shard.done) {
        idle++
        if (idle >= active.length) {
          idle = 0
          yield* pause
        }
      } else {
        idle = 0
      }
      return { shardId: shard.id, records, position: shard.done ? DONE : shard.last }
    })

    return aheadByOne(step).pipe(
      Stream.filter((batch): batch is Batch => batch !== undefined)
    )
  })

/**
 * The results of `step` run again and again, one ahead: when the consumer
 * pulls a result, the next run starts in a fiber of its own while the
 * consumer handles it (one `GetRecords` page read ahead, at most). Runs
 * never overlap (each starts once the one before it ended), so `step`'s
 * state needs no lock and results come in run order. The run under way is
 * interrupted with the stream.
 *
 * @internal
 */
export const aheadByOne = <A, E>(step: Effect.Effect<A, E>): Stream.Stream<A, E> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const scope = yield* Effect.scope
    let next: Fiber.Fiber<A, E> | undefined
    return Stream.repeatEffect(Effect.suspend(() => {
      const current = next === undefined ? step : Fiber.join(next)
      return Effect.flatMap(current, (result) =>
        Effect.as(
          Effect.tap(Effect.forkIn(step, scope), (fiber) => {
            next = fiber
          }),
          result
        ))
    }))
  }))
