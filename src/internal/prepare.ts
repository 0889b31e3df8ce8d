/**
 * What the store does to values and options before a backend sees them and
 * after it answers: values encoded and decoded (within limits), a write's
 * `meta` and `ttl` checked and encoded, heads as `Meta`, conditions and
 * multi-key entries normalized.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { DecodeError, SerializationError, TransactionLimitExceeded } from "../KonserveError.js"
import type { Condition, Head, PutRequest } from "./backend.js"
import * as Codec from "./codec.js"
import { MAX_ATOMIC_KEYS, MAX_META_BYTES, minimalTransactionBytes, TRANSACTION_BYTES } from "./limits.js"
import { nonNegativeDuration } from "./options.js"
import * as Paths from "./path.js"
import type { Key, Meta, WriteOptions } from "./service.js"

export const serializationError = (key: string, what: string) =>
  new SerializationError({ key, message: `key ${JSON.stringify(key)}: ${what}` })

export const encodeValue = (
  key: string,
  value: unknown,
  what = "value"
): Effect.Effect<Codec.Encoded, SerializationError> =>
  Either.match(Codec.encodeSized(value), {
    onLeft: (reason) => Effect.fail(serializationError(key, `the ${what} is not storable: ${reason}`)),
    onRight: Effect.succeed
  })

/**
 * Decodes stored bytes, never past `maxBytes` (a decompression bomb, a
 * foreign item: `DecodeError`). An `Either`, which is also an Effect: a
 * loop over many (a page of `keys`) runs without one.
 */
export const decodeBytes = (
  key: string,
  bytes: Uint8Array,
  maxBytes: number,
  what = "value"
): Either.Either<unknown, DecodeError> =>
  Either.mapLeft(
    Codec.decode(bytes, { maxBytes }),
    (reason) =>
      new DecodeError({ key, message: `key ${JSON.stringify(key)}: the stored ${what} does not decode: ${reason}` })
  )

/** What a write's options carry besides its condition, checked before anything is written. */
export interface Prepared {
  /** The encoded `meta`. */
  readonly user: Uint8Array | undefined
  /** A finite `ttl`; undefined for none or `Duration.infinity`. */
  readonly ttl: Duration.Duration | undefined
}

/**
 * Why a `ttl` cannot be written, or undefined when it can: it must be a
 * Duration longer than zero. Effect reads a negative or NaN duration as zero
 * (`Duration.seconds(-5)` is `Duration.zero`), so zero is refused with them:
 * it would write an item expired at once, which no read ever sees.
 */
export const ttlProblem = (input: unknown): string | undefined => {
  const shown = typeof input === "string" ? JSON.stringify(input) : Duration.isDuration(input)
    ? Duration.format(input)
    : String(input)
  if (Option.isNone(Duration.decodeUnknown(input))) return `the ttl ${shown} is not a Duration`
  if (Option.isNone(nonNegativeDuration(input))) return `the ttl ${shown} is negative or NaN: a ttl is longer than zero`
  if (Duration.toMillis(Duration.decode(input as Duration.DurationInput)) <= 0) {
    return `the ttl ${shown} is zero (or was negative: Effect makes a negative Duration zero): ` +
      "a ttl is longer than zero (leave it out for no expiry)"
  }
  return undefined
}

/**
 * Checks and encodes a write's `meta` (storable, and small enough for one
 * item whatever the value: `MAX_META_BYTES`) and `ttl` (a Duration).
 */
export const prepare = (key: string, options: WriteOptions | undefined): Effect.Effect<Prepared, SerializationError> =>
  Effect.gen(function*() {
    let user: Uint8Array | undefined
    if (options?.meta !== undefined) {
      const encoded = yield* encodeValue(key, options.meta, "meta")
      if (encoded.size > MAX_META_BYTES) {
        return yield* serializationError(
          key,
          `the meta is ${encoded.size} bytes encoded, more than one item holds beside the key (${MAX_META_BYTES})`
        )
      }
      user = encoded.bytes
    }
    let ttl: Duration.Duration | undefined
    if (options?.ttl !== undefined) {
      const reason = ttlProblem(options.ttl)
      if (reason !== undefined) return yield* serializationError(key, reason)
      const decoded = Duration.decode(options.ttl)
      ttl = Duration.isFinite(decoded) ? decoded : undefined
    }
    return { user, ttl }
  })

/** `Meta` of a head, its user meta decoded within `MAX_META_BYTES`. @internal */
export const metaOf = (head: Head): Either.Either<Meta, DecodeError> =>
  Either.map(
    head.user === undefined ? Either.right(undefined) : decodeBytes(head.key, head.user, MAX_META_BYTES, "meta"),
    (user) => ({
      key: head.key,
      type: head.kind,
      lastWrite: new Date(head.lastWrite),
      version: head.version,
      size: head.size,
      expiresAt: head.expiresAt === undefined ? undefined : new Date(head.expiresAt),
      user: user as Meta["user"]
    })
  )

export const userCondition = (options: WriteOptions | undefined): Condition =>
  options?.ifVersion !== undefined
    ? { _tag: "Version", version: options.ifVersion }
    : options?.ifAbsent === true
    ? { _tag: "Absent" }
    : { _tag: "None" }

export const normalizeEntries = (
  entries: Iterable<readonly [Key, unknown]> | Readonly<Record<Key, unknown>>
): Array<readonly [unknown, unknown]> =>
  Symbol.iterator in entries
    ? Array.from(entries as Iterable<readonly [Key, unknown]>)
    : Object.entries(entries as Readonly<Record<Key, unknown>>)

/** What `f` returned is the new value, not an Option, an Either or an Effect around one. */
export const checkResult = (
  key: string,
  operation: string,
  result: unknown
): Effect.Effect<void, SerializationError> => {
  const misuse = Codec.misusedResult(operation, result)
  return misuse === undefined ? Effect.void : Effect.fail(serializationError(key, misuse))
}

/** A path deeper than a value may be fails before anything is read or written. */
export const checkPathDepth = (
  key: string,
  steps: ReadonlyArray<Paths.Step>
): Effect.Effect<void, SerializationError> =>
  steps.length > Codec.MAX_DEPTH
    ? Effect.fail(
      serializationError(key, `a path of ${steps.length} steps, deeper than a value may be (${Codec.MAX_DEPTH})`)
    )
    : Effect.void

export const pathResult = (
  key: string,
  current: Option.Option<unknown>,
  steps: ReadonlyArray<Paths.Step>,
  leaf: unknown
) =>
  Either.match(Paths.assocIn(current, steps, leaf), {
    onLeft: (reason) => Effect.fail(new SerializationError({ key, message: `key ${JSON.stringify(key)}: ${reason}` })),
    onRight: Effect.succeed
  })

/** An atomic write that could not fit one transaction even with every value in chunks fails before anything is written. */
export const checkTransactionSize = (operation: string, requests: ReadonlyArray<PutRequest>) => {
  const bytes = minimalTransactionBytes(requests)
  return bytes > TRANSACTION_BYTES
    ? Effect.fail(new TransactionLimitExceeded({ operation, items: requests.length, limit: MAX_ATOMIC_KEYS, bytes }))
    : Effect.void
}

export const checkAtomicLimit = (operation: string, items: number, atomic: boolean | undefined) =>
  atomic !== false && items > MAX_ATOMIC_KEYS
    ? Effect.fail(new TransactionLimitExceeded({ operation, items, limit: MAX_ATOMIC_KEYS }))
    : Effect.void
