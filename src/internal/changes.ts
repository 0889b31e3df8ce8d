/**
 * The in-process change stream of a store (`KonserveStore.changes`): one hub
 * per store, published to by the fiber that completes a write, after the
 * commit and before the write returns, so that a key's changes keep commit
 * order.
 *
 * Each subscriber has a bounded queue of its own. Publishing never waits: a
 * subscriber whose queue is full is dropped from the hub, and its stream
 * ends with `DynamoDBError` code "ChangesOverflow" once it has taken the
 * changes it had queued — it never misses one silently, and it never slows
 * a writer. With no subscriber, publishing is one size check: callers build
 * their changes only when `active()` says someone listens.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Stream from "effect/Stream"
import type { DynamoDBError } from "../KonserveError.js"
import * as FailureCodes from "./failureCodes.js"
import type { Change } from "./service.js"

/** How many changes a subscriber may fall behind before its stream ends with "ChangesOverflow". @internal */
export const SUBSCRIBER_CAPACITY = 1024

/** The failure of a subscriber that fell too far behind. @internal */
export const overflow = (capacity: number): DynamoDBError =>
  FailureCodes.changesOverflow(
    "changes",
    `changes: the subscriber fell more than ${capacity} changes behind the store's writes and was ended; ` +
      "subscribe again (and re-read what you track), or consume faster"
  )

/** The mark queued after a subscriber's last change when it overflowed. */
const OVERFLOWED: unique symbol = Symbol.for("konserve-dynamodb/changes/overflowed")

type Item = Change | typeof OVERFLOWED

/** @internal */
export interface Hub {
  /** Whether anyone subscribes: build changes only then. */
  readonly active: () => boolean
  /** Hands changes to every subscriber, synchronously; never waits. */
  readonly publish: (changes: ReadonlyArray<Change>) => void
  /** Every change published while the stream runs. */
  readonly stream: Stream.Stream<Change, DynamoDBError>
}

/** @internal */
export const make = (capacity: number = SUBSCRIBER_CAPACITY): Hub => {
  // One slot more than the capacity: room for the overflow mark behind a full queue.
  const subscribers = new Set<Queue.Queue<Item>>()

  const publish = (changes: ReadonlyArray<Change>): void => {
    for (const queue of subscribers) {
      for (const change of changes) {
        const queued = Option.getOrElse(queue.unsafeSize(), () => 0)
        if (queued >= capacity) {
          subscribers.delete(queue)
          queue.unsafeOffer(OVERFLOWED)
          break
        }
        queue.unsafeOffer(change)
      }
    }
  }

  const subscribe = Effect.acquireRelease(
    Effect.map(Queue.bounded<Item>(capacity + 1), (queue) => {
      subscribers.add(queue)
      return queue
    }),
    (queue) =>
      Effect.suspend(() => {
        subscribers.delete(queue)
        return Queue.shutdown(queue)
      })
  )

  const stream = Stream.unwrapScoped(
    Effect.map(subscribe, (queue) =>
      // The queue ends only with the stream's scope: past the mark, the overflow.
      Stream.fromQueue(queue).pipe(
        Stream.takeWhile((item): item is Change => item !== OVERFLOWED),
        Stream.concat(Stream.fail(overflow(capacity)))
      ))
  )

  return { active: () => subscribers.size > 0, publish, stream }
}
