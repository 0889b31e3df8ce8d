/**
 * The reads: a head (`GetItem`), a key with its whole content (the head,
 * then its chunks or its log elements), many keys (`BatchGetItem` slices),
 * a log (one `Query` of the key's partition); every head (`keys`) is `listing.ts`'s.
 *
 * A read follows the head it read. When the content it points at is gone or
 * of another generation (a concurrent rewrite or removal, or a rewrite into
 * another kind), the whole read restarts on the fresh head, a few times,
 * then fails with `DynamoDBError` "ConcurrentModification": never a made-up,
 * mixed or truncated value.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { DecodeError, ItemTooLarge, type KonserveError } from "../../KonserveError.js"
import type { BinaryEntry, Entry, Head } from "../backend.js"
import { isAlive } from "../backend.js"
import * as Retry from "../retry.js"
import * as Batch from "./batch.js"
import * as Chunks from "./chunks.js"
import type { Context } from "./context.js"
import { ConcurrentModification, surface } from "./failure.js"
import type { Item, Manifest, StoredElement, StoredHead } from "./item.js"
import { A, decodeElement, decodeHead, Malformed } from "./item.js"
import { elementSeq, itemKey, SK_HEAD } from "./keyLayout.js"
import * as Paging from "./paging.js"
import type { HeadRead } from "./requests/index.js"
import * as Requests from "./requests/index.js"

/** How many times a whole read restarts after a concurrent rewrite took its content away. @internal */
export const READ_RESTARTS = 3

const isConcurrentModification = (error: unknown): error is ConcurrentModification =>
  error instanceof ConcurrentModification

/**
 * Runs a whole read again while a concurrent rewrite takes its content away.
 * Content missing twice under the same head is not yet damage: with
 * `consistentRead: false` the read runs once more strongly (a lagging replica
 * is no damage), and a head that is gone, rewritten or expired meanwhile by
 * the machine's clock (what DynamoDB's TTL sweeper deletes chunks by) makes
 * the key absent. Only content missing from a strongly read, live, unchanged
 * head is damaged (`DecodeError`). `read` takes the context to read with.
 */
const restarting = <A>(
  ctx: Context,
  read: (ctx: Context) => Effect.Effect<Option.Option<A>, KonserveError | ConcurrentModification>
): Effect.Effect<Option.Option<A>, KonserveError> =>
  // The restart loop is set up only after a first concurrent modification: the common read runs once.
  Effect.catchIf(read(ctx), isConcurrentModification, (first) => {
    let last: string | undefined = first.version
    let damaged = false
    const again = (error: KonserveError | ConcurrentModification): boolean => {
      if (!isConcurrentModification(error)) return false
      damaged = error.version === last
      last = error.version
      return !damaged
    }
    return Retry.retrying(read(ctx), {
      schedule: Retry.schedule({ ...ctx.client.retry, maxAttempts: READ_RESTARTS - 1 }),
      while: again
    }).pipe(
      Effect.catchIf(isConcurrentModification, (error) =>
        !damaged
          ? Effect.fail(surface(error))
          : ctx.consistent
          ? damagedOrGone<A>(ctx, error)
          : Effect.catchIf(
            read({ ...ctx, consistent: true }),
            isConcurrentModification,
            (strong) => strong.version === error.version ? damagedOrGone<A>(ctx, strong) : Effect.fail(surface(strong))
          ))
    )
  })

/**
 * Content missing under the same head twice, the last time read strongly:
 * damaged, unless the head (read strongly) is gone, rewritten, or expired by
 * the machine's clock — then the key is absent, or was rewritten.
 */
const damagedOrGone = <A>(
  ctx: Context,
  error: ConcurrentModification
): Effect.Effect<Option.Option<A>, KonserveError> =>
  Effect.flatMap(
    headItem(ctx, { key: error.key, read: "head", consistent: true }),
    (item): Effect.Effect<Option.Option<A>, KonserveError> => {
      const decoded = decodeHead(ctx.layout, item)
      if (Either.isLeft(decoded)) return Effect.fail(malformedError(decoded.left))
      const stored = decoded.right
      if (stored === undefined || !isAlive(stored.head, Date.now())) return Effect.succeed(Option.none())
      if (stored.head.version !== error.version) return Effect.fail(surface(error))
      return Effect.fail(
        new DecodeError({
          key: error.key,
          message: `key ${JSON.stringify(error.key)}: the stored content is damaged: ${error.what}`
        })
      )
    }
  )

/**
 * The item of a key's head as stored (tombstones included), or undefined.
 * `consistent` (default: the store's setting) is forced on for reads that a
 * write is conditioned on.
 *
 * @internal
 */
export const headItem = (
  ctx: Context,
  options: { readonly key: string; readonly read: HeadRead; readonly consistent?: boolean | undefined }
): Effect.Effect<Item | undefined, KonserveError> =>
  Effect.map(
    ctx.client.call(
      "GetItem",
      Requests.getHead(
        ctx.client.table,
        ctx.layout.headPk(options.key),
        options.read,
        options.consistent ?? ctx.consistent
      )
    ),
    (out) => out.Item
  )

/** A head as read: undefined when absent, `DecodeError` when malformed (never trusted, never a crash). */
const decoded = (ctx: Context, item: Item | undefined): Effect.Effect<StoredHead | undefined, DecodeError> =>
  Either.match(decodeHead(ctx.layout, item), {
    onLeft: (malformed) => Effect.fail(malformedError(malformed)),
    onRight: Effect.succeed
  })

const malformedError = (malformed: Malformed) =>
  new DecodeError({ key: malformed.key, message: `key ${JSON.stringify(malformed.key)}: ${malformed.reason}` })

const getHead = (ctx: Context, key: string, read: HeadRead) =>
  Effect.flatMap(headItem(ctx, { key, read }), (item) => decoded(ctx, item))

/** The heads among keys (tombstones left out), by key; `consistent` as in `headItem`. @internal */
export const getHeads = (
  ctx: Context,
  keys: ReadonlyArray<string>,
  read: Exclude<HeadRead, "whole">,
  consistent = ctx.consistent
): Effect.Effect<Map<string, StoredHead>, KonserveError> =>
  Effect.flatMap(
    Batch.batchGet(
      ctx.client,
      keys.map((key) => itemKey(ctx.layout.headPk(key), SK_HEAD)),
      Requests.headsRead(read, consistent)
    ),
    (items) => {
      const heads = new Map<string, StoredHead>()
      for (const item of items) {
        const stored = decodeHead(ctx.layout, item)
        if (Either.isLeft(stored)) return Effect.fail(malformedError(stored.left))
        if (stored.right !== undefined) heads.set(stored.right.head.key, stored.right)
      }
      return Effect.succeed(heads)
    }
  )

/** @internal */
export const readHead = (ctx: Context, key: string): Effect.Effect<Option.Option<Head>, KonserveError> =>
  Effect.map(getHead(ctx, key, "head"), (stored) => Option.fromNullable(stored?.head))

const chunkSource = (ctx: Context, head: Head, manifest: Manifest): Chunks.ChunkSource => ({
  client: ctx.client,
  layout: ctx.layout,
  key: head.key,
  version: head.version,
  manifest,
  consistent: ctx.consistent
})

/** The bytes of a value or binary head (its chunks read when it has any). @internal */
export const bytesOf = (ctx: Context, stored: StoredHead) =>
  stored.manifest === undefined
    ? Effect.succeed(stored.inline ?? new Uint8Array(0))
    : Chunks.readAll(chunkSource(ctx, stored.head, stored.manifest))

/** A log key read since its head: the head and its elements, from one `Query` of its partition. */
const logOnce = (
  ctx: Context,
  key: string
): Effect.Effect<
  Option.Option<{ readonly head: Head; readonly elements: ReadonlyArray<Uint8Array> }>,
  KonserveError | ConcurrentModification
> => {
  const items = Paging.query(
    ctx.client,
    Requests.logQuery(ctx.client.table, ctx.layout.headPk(key), ctx.consistent)
  )
  // The head comes first (`h` sorts before `l#`): when it is not a log's, stop there.
  interface Fold {
    readonly stored: StoredHead | Malformed | undefined
    readonly done: boolean
    readonly elements: Array<StoredElement>
    readonly bad: string | undefined
    /** The stored bytes of an element over this store's limit. */
    readonly tooLarge?: number
  }
  const start: Fold = { stored: undefined, done: false, elements: [], bad: undefined }
  return Effect.flatMap(
    Stream.runFoldWhile(items, start, (s) => !s.done, (s, item): Fold => {
      const sk = item[A.sk]?.S
      if (sk === SK_HEAD) {
        const stored = Either.merge(decodeHead(ctx.layout, item))
        const log = stored !== undefined && !(stored instanceof Malformed) && stored.head.kind === "log"
        return { ...s, stored, done: !log }
      }
      if (s.stored === undefined || s.stored instanceof Malformed || sk === undefined) return { ...s, done: true }
      const seq = elementSeq(String(s.stored.generation), sk)
      // Elements of an older generation (being cleaned up) and past the count read (appended since) are not this log's.
      if (seq !== undefined && seq < s.stored.head.size) {
        const decoded = decodeElement(key, item)
        if (Either.isLeft(decoded)) return { ...s, done: true, bad: `element ${sk}: ${decoded.left.reason}` }
        const element = decoded.right
        const bytes = element._tag === "Inline" ? element.bytes.length : element.manifest.bytes
        if (bytes > ctx.maxValueBytes) return { ...s, done: true, tooLarge: bytes }
        s.elements.push(element)
      }
      return s
    }),
    ({ bad, elements, stored, tooLarge }) => {
      if (stored instanceof Malformed) return Effect.fail(malformedError(stored))
      if (tooLarge !== undefined) return Effect.fail(tooLargeError(ctx, key, tooLarge))
      if (bad !== undefined) {
        return Effect.fail(new DecodeError({ key, message: `key ${JSON.stringify(key)}: a malformed log ${bad}` }))
      }
      if (stored?.head.kind !== "log" || stored.generation === undefined) return Effect.succeed(Option.none())
      if (elements.length !== stored.head.size) {
        return Effect.fail(
          new ConcurrentModification({
            key,
            what: `the log has ${elements.length} of its ${stored.head.size} elements`,
            version: stored.head.version
          })
        )
      }
      return Effect.map(
        Effect.forEach(
          elements,
          (element) =>
            element._tag === "Inline"
              ? Effect.succeed(element.bytes)
              : Chunks.readAll(chunkSource(ctx, stored.head, element.manifest)),
          { concurrency: Chunks.REQUESTS_IN_FLIGHT }
        ),
        (bytes) => Option.some({ head: stored.head, elements: bytes })
      )
    }
  )
}

/**
 * A value or binary larger than this store's `maxValueBytes`, written by a
 * store with a larger limit: not malformed (`getMeta`, `exists`, `keys` see
 * it), but this store does not read it (docs/limits.md, "Limits belong to
 * the reader"). Checked before any chunk is read.
 */
const tooLargeError = (ctx: Context, key: string, size: number) =>
  new ItemTooLarge({ key, size, limit: ctx.maxValueBytes })

/** A key whose head was read with its bytes: its whole content. */
const contentOf = (ctx: Context, stored: StoredHead): Effect.Effect<Entry, KonserveError | ConcurrentModification> =>
  stored.head.kind !== "log" && stored.head.size > ctx.maxValueBytes
    ? Effect.fail(tooLargeError(ctx, stored.head.key, stored.head.size))
    : stored.head.kind === "log"
    ? Effect.flatMap(logOnce(ctx, stored.head.key), (log) =>
      Option.isSome(log)
        ? Effect.succeed<Entry>({ _tag: "Log", head: log.value.head, elements: log.value.elements })
        // Rewritten into a value or removed since its head was read: read it again.
        : Effect.fail(
          new ConcurrentModification({ key: stored.head.key, what: "the log is gone", version: stored.head.version })
        ))
    : Effect.map(bytesOf(ctx, stored), (bytes): Entry => ({ _tag: "Bytes", head: stored.head, bytes }))

/** A key alive at `now` with its whole content; the content of an expired head is never read. @internal */
export const readEntry = (
  ctx: Context,
  key: string,
  now: number
): Effect.Effect<Option.Option<Entry>, KonserveError> =>
  restarting(
    ctx,
    (ctx) =>
      Effect.flatMap(
        getHead(ctx, key, "value"),
        (stored) =>
          stored === undefined || !isAlive(stored.head, now)
            ? Effect.succeed(Option.none())
            : Effect.asSome(contentOf(ctx, stored))
      )
  )

/** @internal */
export const readLog = (ctx: Context, key: string) => restarting(ctx, (ctx) => logOnce(ctx, key))

/** @internal */
export const readBinary = (ctx: Context, key: string): Effect.Effect<Option.Option<BinaryEntry>, KonserveError> =>
  Effect.map(getHead(ctx, key, "value"), (stored): Option.Option<BinaryEntry> => {
    if (stored === undefined || stored.head.kind !== "binary") return Option.none()
    const { head, inline, manifest } = stored
    if (head.size > ctx.maxValueBytes) {
      return Option.some({ head, stream: Stream.fail(tooLargeError(ctx, head.key, head.size)) })
    }
    return Option.some({
      head,
      stream: manifest === undefined
        ? Stream.succeed(inline ?? new Uint8Array(0))
        : Chunks.stream(chunkSource(ctx, head, manifest))
    })
  })

/** @internal */
export const readMany = (
  ctx: Context,
  keys: ReadonlyArray<string>,
  now: number
): Effect.Effect<ReadonlyMap<string, Entry>, KonserveError> =>
  Effect.flatMap(getHeads(ctx, keys, "value"), (heads) => {
    const out = new Map<string, Entry>()
    const more: Array<StoredHead> = []
    // Inline entries need nothing more (and no fiber each); chunked values and logs are read a few at a time.
    for (const stored of heads.values()) {
      if (!isAlive(stored.head, now)) continue
      if (stored.manifest === undefined && stored.head.kind !== "log" && stored.head.size <= ctx.maxValueBytes) {
        out.set(stored.head.key, { _tag: "Bytes", head: stored.head, bytes: stored.inline ?? new Uint8Array(0) })
      } else {
        more.push(stored)
      }
    }
    if (more.length === 0) return Effect.succeed(out)
    return Effect.as(
      Effect.forEach(
        more,
        (stored) =>
          contentOf(ctx, stored).pipe(
            Effect.asSome,
            // Rewritten meanwhile: read it again on its own.
            Effect.catchIf(isConcurrentModification, () => readEntry(ctx, stored.head.key, now)),
            Effect.map(Option.map((entry) => out.set(entry.head.key, entry)))
          ),
        { concurrency: Chunks.REQUESTS_IN_FLIGHT, discard: true }
      ),
      out
    )
  })
