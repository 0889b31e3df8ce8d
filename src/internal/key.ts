/**
 * Key validation: a key is a well-formed string of 1 to 1024 UTF-8 bytes.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import { InvalidKey } from "../KonserveError.js"

/** The longest key, in UTF-8 bytes (DynamoDB's partition key limit is 2048; the prefix needs room). @internal */
export const MAX_KEY_BYTES = 1024

/** Why a key is invalid, or undefined when it is valid. @internal */
export const invalidReason = (key: unknown): string | undefined => {
  if (typeof key !== "string") {
    return `must be a string, got ${key === null ? "null" : Array.isArray(key) ? "an array" : typeof key}`
  }
  if (key.length === 0) {
    return "must not be empty"
  }
  // UTF-8 takes at most 3 bytes per UTF-16 code unit: skip the byte count for short keys.
  if (key.length * 3 > MAX_KEY_BYTES) {
    const bytes = Buffer.byteLength(key, "utf8")
    if (bytes > MAX_KEY_BYTES) {
      return `is ${bytes} UTF-8 bytes, limit ${MAX_KEY_BYTES}`
    }
  }
  if (!key.isWellFormed()) {
    return "contains a lone surrogate (not well-formed UTF-16), so it has no UTF-8 form"
  }
  return undefined
}

/** Succeeds with the key, or fails with `InvalidKey`. @internal */
export const validate = (key: unknown): Effect.Effect<string, InvalidKey> => {
  const reason = invalidReason(key)
  return reason === undefined ? Effect.succeed(key as string) : Effect.fail(new InvalidKey({ key, reason }))
}

/** Validates every key, failing on the first invalid one; duplicates are removed, first occurrence wins the order. @internal */
export const validateAll = (keys: Iterable<unknown>): Effect.Effect<ReadonlyArray<string>, InvalidKey> =>
  Effect.suspend(() => {
    const seen = new Set<string>()
    for (const key of keys) {
      const reason = invalidReason(key)
      if (reason !== undefined) {
        return Effect.fail(new InvalidKey({ key, reason }))
      }
      seen.add(key as string)
    }
    return Effect.succeed(Array.from(seen))
  })
