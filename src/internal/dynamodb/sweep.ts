/**
 * `sweep`: removes the items of one store that no head references and that
 * are older than a grace period — chunks of replaced or never-committed
 * writes, log elements of generations their key left behind — and the
 * store's own bookkeeping past its use: tombstones and expired heads whose
 * TTL attribute has passed (what DynamoDB's TTL sweeper may remove at any
 * moment anyway). Nothing a read, `keys` or `size` sees, also while writers
 * run (docs/consistency.md, "Sweeping", has the argument).
 *
 * One pass of `Scan` over the store's prefix, in parallel segments, a page
 * at a time, so that memory stays at a page per segment whatever the table's
 * size. For each page:
 *
 * 1. classify (without I/O): chunk items older than the grace (their `wt`),
 *    grouped by owner head and content id; log elements, grouped by head and
 *    generation; dead heads (tombstones, expired heads) whose TTL attribute
 *    has passed and whose last write is older than the grace;
 * 2. read the owner heads of the candidates, strongly consistently, after the
 *    age was decided (`BatchGetItem`), and, for chunks owned by a log with
 *    chunked elements, which content ids its current generation's elements
 *    name (`Query`);
 * 3. delete what nothing references: chunks and elements in `BatchWriteItem`s
 *    (unprocessed items re-sent), dead heads by a `DeleteItem` conditioned on
 *    the version read, so that a key written meanwhile is never touched.
 *
 * Age is measured on the machine's clock (`Date.now()`), as chunk times are
 * written: a `TestClock` does not age items.
 *
 * @internal
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type { KonserveError } from "../../KonserveError.js"
import * as Version from "../version.js"
import * as Batch from "./batch.js"
import type { Client } from "./client.js"
import { toKonserveError } from "./failure.js"
import type { Item } from "./item.js"
import { A, itemSize, TOMBSTONE } from "./item.js"
import type { Layout } from "./keyLayout.js"
import * as KeyLayout from "./keyLayout.js"
import * as Paging from "./paging.js"
import { CHUNK_BYTES } from "./plan.js"
import * as Requests from "./requests/index.js"

/** Where a sweep is: cumulative counts; the last one has `done`. @internal */
export interface Progress {
  /** Items of the store the Scan returned. */
  readonly scanned: number
  /** Items no head references, older than the grace. */
  readonly unreferenced: number
  /** Of those, deleted (0 in a dry run). */
  readonly removed: number
  /** Approximate bytes of the deleted items (a chunk counts as a full chunk). */
  readonly bytesFreed: number
  readonly done: boolean
}

/** @internal */
export interface Options {
  /** Milliseconds; `Infinity` removes nothing. */
  readonly graceMillis: number
  readonly dryRun: boolean
  /** `Scan` segments side by side. */
  readonly segments: number
}

/** Bytes of a table per segment when the store chooses the count (from `DescribeTable`). @internal */
export const SEGMENT_BYTES = 64 * 1024 * 1024

/** The most segments the store chooses by itself (`scanSegments` may ask for more). @internal */
export const MAX_SEGMENTS = 8

/** The segments of a sweep: `scanSegments` when set, else one per `SEGMENT_BYTES` of the table, 1 to 8. @internal */
export const segmentsFor = (fixed: number | undefined, tableBytes: number | undefined): number =>
  fixed ?? Math.min(MAX_SEGMENTS, Math.max(1, Math.ceil((tableBytes ?? 0) / SEGMENT_BYTES)))

/** Requests in flight per page: head reads' slices, log queries, head deletions. */
const CONCURRENCY = 8

/** The bytes of the write history a head projection leaves out (`r1`…`r7`), for the estimate. */
const HISTORY_BYTES = 7 * (2 + Version.BYTES)

// -------------------------------------------------------------------------------------------------
// classifying a page, without I/O

/** A dead head to delete on the version read. @internal */
export interface DeadHead {
  readonly pk: string
  readonly version: Uint8Array
  readonly bytes: number
}

/** The items of one owner's content (chunks of one content id, or elements of one log generation). @internal */
export interface Group {
  /** The head's pk. */
  readonly owner: string
  /** The content id, or the generation. */
  readonly id: string
  readonly keys: Array<Item>
  bytes: number
}

/** What a page holds that may go. @internal */
export interface Candidates {
  readonly scanned: number
  readonly heads: Array<DeadHead>
  /** Chunks older than the grace, by owner and content id. */
  readonly chunks: Map<string, Group>
  /** Log elements, by head and generation (their age is their head's). */
  readonly elements: Map<string, Group>
}

const num = (item: Item | undefined, name: string): number | undefined => {
  const value = item?.[name]?.N
  if (value === undefined) return undefined
  const n = Number(value)
  return Number.isFinite(n) ? n : undefined
}

/** How the sweep reads a chunk's pk (the key layout's parser). @internal */
export const parseChunkPk = KeyLayout.parseChunkPk

/** How the sweep reads a log element's generation from its sort key (the key layout's parser). @internal */
export const generationOf = KeyLayout.generationOf

/** The time of a head's last write (its version's), epoch ms; undefined when its version is not one of ours. */
const writtenAtOf = (item: Item | undefined): number | undefined => {
  const version = item?.[A.version]?.B
  if (version === undefined || version.length !== Version.BYTES || Version.pastHorizonNow(version)) return undefined
  return Version.timeOf(version) / 1000
}

/**
 * Whether a head is past its use: a tombstone, or an expired head, whose TTL
 * attribute (the sweeper's, at least an hour after the write: the write
 * history's lifetime) has passed. DynamoDB's TTL sweeper may delete it at any
 * moment; nothing reads its content (an expired head reads as absent).
 *
 * @internal
 */
export const isDead = (item: Item, now: number): boolean => {
  const ttl = num(item, A.ttl)
  if (ttl === undefined || ttl * 1000 > now) return false
  if (item[A.kind]?.S === TOMBSTONE) return true
  const expiresAt = num(item, A.expiresAt)
  return expiresAt !== undefined && expiresAt <= now
}

const kinds: ReadonlySet<string> = new Set(["value", "binary", "log", TOMBSTONE])

const add = (groups: Map<string, Group>, owner: string, id: string, key: Item, bytes: number) => {
  const name = `${owner}\u0000${id}`
  const group = groups.get(name)
  if (group === undefined) {
    groups.set(name, { owner, id, keys: [key], bytes })
  } else {
    group.keys.push(key)
    group.bytes += bytes
  }
}

/**
 * Sorts a page's items: dead heads older than the grace, chunks older than
 * the grace (by their `wt`; a chunk without one, written before it existed,
 * stays), log elements. Items the store would not have written (another
 * layout, missing attributes) are left alone.
 *
 * @internal
 */
export const classify = (
  layout: Layout,
  items: ReadonlyArray<Item>,
  now: number,
  graceMillis: number
): Candidates => {
  const candidates: Candidates = { scanned: items.length, heads: [], chunks: new Map(), elements: new Map() }
  const old = (time: number | undefined) => time !== undefined && now - time > graceMillis
  for (const item of items) {
    const pk = item[A.pk]?.S
    const sk = item[A.sk]?.S
    if (pk === undefined || sk === undefined) continue
    const parsed = KeyLayout.parse(layout, pk, sk)
    if (parsed === undefined) continue
    switch (parsed._tag) {
      case "Head": {
        const kind = item[A.kind]?.S
        const version = item[A.version]?.B
        if (kind === undefined || !kinds.has(kind) || version === undefined) continue
        if (isDead(item, now) && old(writtenAtOf(item))) {
          candidates.heads.push({ pk, version, bytes: itemSize(item) + HISTORY_BYTES + (num(item, A.size) ?? 0) })
        }
        break
      }
      case "Chunk": {
        const owner = item[A.owner]?.S
        if (owner !== layout.headPk(parsed.key) || item[A.cid]?.S !== parsed.cid) continue
        if (old(num(item, A.writtenAt))) {
          add(
            candidates.chunks,
            owner,
            parsed.cid,
            KeyLayout.itemKey(pk, sk),
            itemSize(item) + A.value.length + CHUNK_BYTES
          )
        }
        break
      }
      case "Element":
        add(candidates.elements, pk, parsed.generation, KeyLayout.itemKey(pk, sk), itemSize(item))
        break
    }
  }
  return candidates
}

/** What a live head points at; undefined when there is no head or it is past its use. */
const referencesOf = (head: Item | undefined, now: number): Item | undefined =>
  head === undefined || head[A.kind]?.S === TOMBSTONE || isDead(head, now) ? undefined : head

/**
 * Whether a head's log elements may name content ids: it has a generation and
 * does not say it has no chunked element (a log head has `lchunked` once one
 * of its elements is chunked).
 */
const mayHaveChunkedElements = (head: Item): boolean => {
  if (head[A.generation]?.S === undefined) return false
  const chunked = head[A.chunkedElements]?.N
  return !(chunked === "0" || (chunked === undefined && head[A.kind]?.S === "log"))
}

/**
 * Decides a page's groups from the owner heads read after the age was
 * decided: a chunk group goes unless its head names its content id (or, for
 * a log, one of its current generation's elements does: `elementCids`); an
 * element group goes unless its head is a log of that generation, once the
 * head's last write is older than the grace (or there is no head).
 *
 * @internal
 */
export const unreferenced = (
  candidates: Candidates,
  heads: ReadonlyMap<string, Item>,
  elementCids: ReadonlyMap<string, ReadonlySet<string>>,
  now: number,
  graceMillis: number
): Array<Group> => {
  const out: Array<Group> = []
  for (const group of candidates.chunks.values()) {
    const head = referencesOf(heads.get(group.owner), now)
    if (head?.[A.cid]?.S === group.id) continue
    // A log's elements not read count as naming it.
    if (head !== undefined && mayHaveChunkedElements(head) && elementCids.get(group.owner)?.has(group.id) !== false) {
      continue
    }
    out.push(group)
  }
  for (const group of candidates.elements.values()) {
    const head = heads.get(group.owner)
    if (referencesOf(head, now)?.[A.generation]?.S === group.id) continue
    if (head !== undefined) {
      const writtenAt = writtenAtOf(head)
      if (writtenAt === undefined || now - writtenAt <= graceMillis) continue
    }
    out.push(group)
  }
  return out
}

/**
 * The logs whose elements' content ids must be read for a page: owners of
 * chunk groups that are live logs with chunked elements (a head that says
 * none, or is no log, needs no read).
 */
const logsToRead = (candidates: Candidates, heads: ReadonlyMap<string, Item>, now: number): Array<Item> => {
  const logs = new Map<string, Item>()
  for (const group of candidates.chunks.values()) {
    const head = referencesOf(heads.get(group.owner), now)
    if (head === undefined || head[A.cid]?.S === group.id || !mayHaveChunkedElements(head)) continue
    logs.set(group.owner, head)
  }
  return Array.from(logs.values())
}

// -------------------------------------------------------------------------------------------------
// reading and deleting

/** The owner heads of a page's candidates, read strongly consistently. */
const readHeads = (client: Client, candidates: Candidates): Effect.Effect<Map<string, Item>, KonserveError> => {
  const owners = new Set<string>()
  for (const group of candidates.chunks.values()) owners.add(group.owner)
  for (const group of candidates.elements.values()) owners.add(group.owner)
  if (owners.size === 0) return Effect.succeed(new Map())
  return Effect.map(
    Batch.batchGet(
      client,
      Array.from(owners, (pk) => KeyLayout.itemKey(pk, KeyLayout.SK_HEAD)),
      Requests.ownerHeadsRead,
      { concurrency: CONCURRENCY }
    ),
    (items) => new Map(items.map((item) => [item[A.pk]?.S ?? "", item]))
  )
}

/** The content ids that a log's current generation's chunked elements name. */
const elementCidsOf = (client: Client, head: Item): Effect.Effect<Set<string>, KonserveError> =>
  Paging.query(client, Requests.elementCids(client.table, head[A.pk]?.S ?? "", head[A.generation]?.S ?? "")).pipe(
    Stream.runFold(new Set<string>(), (cids, item) => {
      const cid = item[A.cid]?.S
      if (cid !== undefined) cids.add(cid)
      return cids
    })
  )

/** Deletes a dead head if it still has the version read; whether it did. */
const deleteHead = (client: Client, head: DeadHead): Effect.Effect<boolean, KonserveError> =>
  client.send("DeleteItem", Requests.deleteDeadHead(client.table, head.pk, head.version)).pipe(
    Effect.as(true),
    // Rewritten (or removed) since it was read: not ours to delete.
    Effect.catchAll((failure) =>
      failure.verdict === "condition" ? Effect.succeed(false) : Effect.fail(toKonserveError(failure, client.table))
    )
  )

interface Delta {
  readonly scanned: number
  readonly unreferenced: number
  readonly removed: number
  readonly bytesFreed: number
}

/** One page: classify, read the owner heads, delete what nothing references. */
const sweepPage = (
  client: Client,
  layout: Layout,
  options: Options,
  items: ReadonlyArray<Item>
): Effect.Effect<Delta, KonserveError> =>
  Effect.gen(function*() {
    // The age is decided first: every read of a head below comes after it.
    const now = Date.now()
    const candidates = classify(layout, items, now, options.graceMillis)
    const heads = yield* readHeads(client, candidates)
    const logs = logsToRead(candidates, heads, now)
    const elementCids = new Map<string, Set<string>>()
    yield* Effect.forEach(logs, (head) =>
      Effect.map(elementCidsOf(client, head), (cids) => {
        elementCids.set(head[A.pk]?.S ?? "", cids)
      }), { concurrency: CONCURRENCY, discard: true })
    const groups = unreferenced(candidates, heads, elementCids, now, options.graceMillis)
    const found = candidates.heads.length + groups.reduce((n, group) => n + group.keys.length, 0)
    if (options.dryRun || found === 0) {
      return { scanned: candidates.scanned, unreferenced: found, removed: 0, bytesFreed: 0 }
    }
    yield* Batch.deleteItems(client, groups.flatMap((group) => group.keys))
    const removedHeads = yield* Effect.filter(candidates.heads, (head) => deleteHead(client, head), {
      concurrency: CONCURRENCY
    })
    const contentItems = found - candidates.heads.length
    return {
      scanned: candidates.scanned,
      unreferenced: found,
      removed: contentItems + removedHeads.length,
      bytesFreed: groups.reduce((n, group) => n + group.bytes, 0) +
        removedHeads.reduce((n, head) => n + head.bytes, 0)
    }
  })

/** One segment of the store's items (the whole store when `total` is 1), a page at a time. */
const segment = (
  client: Client,
  layout: Layout,
  options: Options,
  index: number,
  total: number
): Stream.Stream<Delta, KonserveError> =>
  Paging.scan(client, Requests.sweepScan(client.table, layout.prefix, index, total)).pipe(
    Stream.mapChunksEffect((page) =>
      Effect.map(sweepPage(client, layout, options, Chunk.toReadonlyArray(page)), Chunk.of)
    )
  )

/**
 * Sweeps one store: cumulative progress after every page, then the totals
 * with `done`.
 *
 * @internal
 */
export const run = (client: Client, layout: Layout, options: Options): Stream.Stream<Progress, KonserveError> =>
  Stream.suspend(() => {
    const total = { scanned: 0, unreferenced: 0, removed: 0, bytesFreed: 0 }
    const segments = Array.from(
      { length: options.segments },
      (_, i) => segment(client, layout, options, i, options.segments)
    )
    const all = segments.length === 1 ? segments[0] : Stream.mergeAll(segments, { concurrency: segments.length })
    return all.pipe(
      Stream.map((delta): Progress => {
        total.scanned += delta.scanned
        total.unreferenced += delta.unreferenced
        total.removed += delta.removed
        total.bytesFreed += delta.bytesFreed
        return { ...total, done: false }
      }),
      Stream.concat(Stream.suspend(() => Stream.succeed<Progress>({ ...total, done: true })))
    )
  })
