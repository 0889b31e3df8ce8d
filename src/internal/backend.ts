/**
 * The primitives a storage backend implements. Everything backend-agnostic —
 * key validation, the value codec, `maxValueBytes`, TTL arithmetic, path
 * walking, the `update` conflict loop, `forSchema` — is written once in
 * `internal/store.ts` on top of these, so MemoryStore and DynamoDBStore
 * cannot drift apart.
 *
 * Conventions every backend keeps:
 * - keys are already validated and values already encoded when they arrive;
 * - `readHead`, `readBinary`, `readLog` and `scan` return heads as stored,
 *   expired or not: the shared store filters them against its `Clock`;
 *   `readEntry` and `readMany` take the caller's `now` and never read the
 *   content of a head expired at `now` (its chunks may be gone already);
 * - writes and removals receive `now` and treat an expired head as absent
 *   (for `Absent` conditions and for the "existed" answers);
 * - a backend mints the versions of its writes (`internal/version.ts`): fresh,
 *   unique, and greater than the version a write is conditioned on;
 * - a write either happens whole or not at all, and at most once whatever its
 *   retries meet: a reader never sees a mix, a retry never writes twice. A
 *   write whose outcome the backend cannot establish fails with
 *   `DynamoDBError` code "UnknownOutcome".
 *
 * @internal
 */
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type * as Stream from "effect/Stream"
import type { KonserveError } from "../KonserveError.js"
import type { Conflict } from "./retry.js"

/** @internal */
export type Kind = "value" | "binary" | "log"

/**
 * What a backend stores about a key besides its content.
 *
 * @internal
 */
export interface Head {
  readonly key: string
  readonly kind: Kind
  readonly version: string
  /** Epoch milliseconds. */
  readonly lastWrite: number
  /** Encoded bytes of a value before compression, bytes of a binary, element count of a log. */
  readonly size: number
  /** Epoch milliseconds, or undefined for no expiry. */
  readonly expiresAt: number | undefined
  /** The user's `WriteOptions.meta`, encoded with the codec. */
  readonly user: Uint8Array | undefined
}

/** Whether a head is not expired at `now` (epoch milliseconds). @internal */
export const isAlive = (head: Head, now: number): boolean => head.expiresAt === undefined || head.expiresAt > now

/** The head a write of `version` leaves behind, for content of `size` bytes. @internal */
export const headOf = (header: WriteHeader, version: string, size: number): Head => ({
  key: header.key,
  kind: header.kind,
  version,
  lastWrite: header.now,
  size,
  expiresAt: header.expiresAt,
  user: header.user
})

/** Pieces of bytes as one array (the piece itself when there is only one). @internal */
export const concat = (pieces: ReadonlyArray<Uint8Array>): Uint8Array => {
  if (pieces.length === 1) return pieces[0]
  const out = new Uint8Array(pieces.reduce((n, piece) => n + piece.length, 0))
  let offset = 0
  for (const piece of pieces) {
    out.set(piece, offset)
    offset += piece.length
  }
  return out
}

/**
 * What a write committed, for the store's `changes`: the head it left, and
 * whether the bytes of a value are held inline in that head (the backend's
 * rule: DynamoDB holds a head up to `INLINE_ITEM_BYTES` with its value,
 * MemoryStore applies the same bound to the stored bytes).
 *
 * @internal
 */
export interface Written {
  readonly head: Head
  readonly inline: boolean
}

/**
 * The condition of a write.
 * - `None`: unconditional.
 * - `Absent`: the key is missing or expired.
 * - `Version`: the key exists, is not expired, and its version is this one.
 *
 * @internal
 */
export type Condition =
  | { readonly _tag: "None" }
  | { readonly _tag: "Absent" }
  | { readonly _tag: "Version"; readonly version: string }

/**
 * The condition of a removal: none (remove whatever is there), or
 * `Version` (compare-and-delete: only a live head of this version).
 *
 * @internal
 */
export type RemoveCondition = Extract<Condition, { readonly _tag: "None" | "Version" }>

/**
 * Everything a write of one key carries besides its bytes.
 *
 * @internal
 */
export interface WriteHeader {
  readonly key: string
  /** The public operation, for error messages: "assoc", "update", "bassoc", ... */
  readonly operation: string
  readonly kind: "value" | "binary"
  readonly now: number
  readonly expiresAt: number | undefined
  readonly user: Uint8Array | undefined
  readonly condition: Condition
}

/**
 * A write whose bytes are all in memory (an encoded value, or a binary given
 * as bytes). `size` is what `Meta.size` says and limits count — a value's
 * encoded bytes before compression, a binary's bytes — already checked
 * against `maxValueBytes`; `bytes` is what is stored.
 *
 * @internal
 */
export interface PutRequest extends WriteHeader {
  readonly bytes: Uint8Array
  readonly size: number
}

/**
 * A stored key with its whole content: the encoded value or the bytes of a
 * binary, or a log's encoded elements, read together with the head they
 * belong to.
 *
 * @internal
 */
export type Entry =
  | { readonly _tag: "Bytes"; readonly head: Head; readonly bytes: Uint8Array }
  | { readonly _tag: "Log"; readonly head: Head; readonly elements: ReadonlyArray<Uint8Array> }

/**
 * A stored binary, its bytes read lazily.
 *
 * @internal
 */
export interface BinaryEntry {
  readonly head: Head
  readonly stream: Stream.Stream<Uint8Array, KonserveError>
}

/** How a multi-key write runs: `atomic`, all or nothing in one transaction, or each key on its own. @internal */
export interface ManyOptions {
  readonly atomic: boolean
}

/**
 * The primitives. Failures are `KonserveError`s already mapped at the
 * backend's boundary; conditional writes fail with `ConditionFailed` (named
 * after `WriteHeader.operation`) when their condition does not hold.
 *
 * @internal
 */
export interface Backend {
  /** The head of a key, as stored (expired or not). */
  readonly readHead: (key: string) => Effect.Effect<Option.Option<Head>, KonserveError>
  /**
   * A key with its whole content (binaries concatenated, a log's elements),
   * all of one version: a read that overlaps a rewrite, even one that changes
   * the key's kind, restarts or fails, never mixes.
   */
  readonly readEntry: (key: string, now: number) => Effect.Effect<Option.Option<Entry>, KonserveError>
  /** A binary key with a lazy stream of its bytes; none when missing or of another kind. */
  readonly readBinary: (key: string) => Effect.Effect<Option.Option<BinaryEntry>, KonserveError>
  /** A log key's elements (encoded), in append order; none when missing or of another kind. */
  readonly readLog: (
    key: string
  ) => Effect.Effect<
    Option.Option<{ readonly head: Head; readonly elements: ReadonlyArray<Uint8Array> }>,
    KonserveError
  >
  /** The entries of the keys alive at `now`, any number of keys. */
  readonly readMany: (
    keys: ReadonlyArray<string>,
    now: number
  ) => Effect.Effect<ReadonlyMap<string, Entry>, KonserveError>
  /** Every head (expired ones included), once each, lazily. */
  readonly scan: Stream.Stream<Head, KonserveError>

  /** Writes one key whose bytes are in memory. */
  readonly put: (request: PutRequest) => Effect.Effect<Written, KonserveError>
  /**
   * Writes one binary from a stream of any length. The stream is already
   * limited to `maxValueBytes` (it fails with `ItemTooLarge` past it): the
   * backend must not make the new bytes visible before the stream has ended.
   * Memory stays bounded by a few chunks.
   */
  readonly putStream: <E, R>(
    header: WriteHeader,
    bytes: Stream.Stream<Uint8Array, E, R>
  ) => Effect.Effect<Written, KonserveError | E, R>
  /**
   * Removes a key of any kind with all its content; the version of the
   * removal (a tombstone's) when it removed a key alive at `now`, none when
   * there was none. With a `Version` condition it removes only a key alive
   * at `now` whose version is that one (then always some), else fails with
   * `ConditionFailed` (operation "dissoc") and removes nothing.
   */
  readonly remove: (
    key: string,
    now: number,
    condition: RemoveCondition
  ) => Effect.Effect<Option.Option<string>, KonserveError>

  /**
   * Writes several keys. `atomic`: all or nothing (at most
   * `MAX_ATOMIC_KEYS` requests, checked by the caller; any condition that
   * fails cancels all with `ConditionFailed`; every key gets the same new
   * version). Not atomic: any number, each key whole. What each request
   * committed, in the order of `requests`.
   */
  readonly putMany: (
    requests: ReadonlyArray<PutRequest>,
    options: ManyOptions
  ) => Effect.Effect<ReadonlyArray<Written>, KonserveError>
  /**
   * Removes several keys; each maps to the version of its removal when it
   * removed a key alive at `now` (none else). `atomic`: all or nothing, every
   * removal of one version.
   */
  readonly removeMany: (
    keys: ReadonlyArray<string>,
    options: ManyOptions & { readonly now: number }
  ) => Effect.Effect<ReadonlyMap<string, Option.Option<string>>, KonserveError>

  /**
   * Appends one encoded element to the log of a key, atomically and in
   * order, creating the log when the key is missing or expired. Fails with
   * `ConditionFailed` when the key holds a value or a binary. The log's head
   * after the append.
   */
  readonly append: (request: AppendRequest) => Effect.Effect<Head, KonserveError>

  /** Reads the keys of a transaction (at most `MAX_ATOMIC_KEYS`, distinct) strongly; nothing is held meanwhile. */
  readonly transact: (
    keys: ReadonlyArray<string>,
    now: number
  ) => Effect.Effect<TransactSnapshot, KonserveError | Conflict>
}

/**
 * The keys of a transaction as read (strongly consistent), and the commit
 * conditioned on exactly that state.
 *
 * @internal
 */
export interface TransactSnapshot {
  /** The keys alive at `now`: values with their bytes; binaries and logs by their head only. */
  readonly found: ReadonlyMap<string, { readonly head: Head; readonly bytes: Uint8Array | undefined }>
  /**
   * Writes `puts` (their own conditions ignored) and removes `removes`, every
   * key of the snapshot conditioned on the state read (a version, or absent),
   * the keys neither written nor removed checked alike; all or nothing, every
   * write of one version. `Conflict` when a key read has changed (nothing
   * written). With nothing to write, the check alone: `Conflict` when the
   * reads were not one snapshot.
   */
  readonly commit: (
    puts: ReadonlyArray<PutRequest>,
    removes: ReadonlyArray<string>
  ) => Effect.Effect<TransactCommitted, KonserveError | Conflict>
}

/** What a transaction committed: the puts, the keys it removed (live ones), and its one version. @internal */
export interface TransactCommitted {
  readonly written: ReadonlyArray<Written>
  readonly removed: ReadonlyArray<string>
  readonly version: string | undefined
}

/** @internal */
export interface AppendRequest {
  readonly key: string
  readonly element: Uint8Array
  readonly now: number
}
