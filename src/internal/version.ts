/**
 * Versions: 12 bytes, the first 7 a time in microseconds since the epoch
 * (big-endian), the last 5 random. Versions compare bytewise (as DynamoDB
 * compares binary attributes), so they order by time: a clock mints strictly
 * increasing versions, and `next(after)` is also greater than `after`. The
 * DynamoDB backend conditions every write of a key on `ver < :v`, which makes
 * a key's versions increase whoever writes it — the ordering its at-most-once
 * protocol rests on (docs/consistency.md). Users see a version as 16
 * base64url characters (`Meta.version`).
 *
 * @internal
 */
import { randomFillSync } from "node:crypto"

/** Bytes of a version. @internal */
export const BYTES = 12

/** Bytes of the time part. */
const TIME_BYTES = 7

/**
 * How far ahead of this machine's clock a version may be and still be
 * followed: 10 minutes. A version further ahead (a caller's made-up
 * `ifVersion`, a writer whose clock is badly wrong) is not followed, so that
 * it cannot drag this clock into the future for good.
 *
 * @internal
 */
export const MAX_AHEAD_MICROS = 10 * 60 * 1_000_000

/** Mints versions. @internal */
export interface VersionClock {
  /**
   * A new version, greater than every version this clock minted before, and
   * than `after` when given and not more than `MAX_AHEAD_MICROS` ahead.
   */
  readonly next: (after?: Uint8Array) => Uint8Array
}

/**
 * A clock of versions: the wall clock in microseconds, never going back and
 * never repeating (a hybrid logical clock: it also moves past the versions it
 * is asked to follow, within `MAX_AHEAD_MICROS`).
 *
 * @internal
 */
export const makeClock = (): VersionClock => {
  let last = 0
  return {
    next: (after) => {
      const now = Date.now() * 1000
      let micros = Math.max(now, last + 1)
      if (after !== undefined && after.length === BYTES) {
        const followed = timeOf(after) + 1
        if (followed <= now + MAX_AHEAD_MICROS) micros = Math.max(micros, followed)
      }
      last = micros
      const version = new Uint8Array(BYTES)
      let rest = micros
      for (let i = TIME_BYTES - 1; i >= 0; i--) {
        version[i] = rest % 256
        rest = Math.floor(rest / 256)
      }
      randomFillSync(version, TIME_BYTES)
      return version
    }
  }
}

/**
 * The least version past the horizon: more than `MAX_AHEAD_MICROS` ahead of
 * this machine's clock. No clock mints one (they never follow a version that
 * far), so a stored version past it is garbage, older than any real one.
 *
 * @internal
 */
export const horizon = (): Uint8Array => {
  const version = new Uint8Array(BYTES).fill(0xff)
  let rest = Date.now() * 1000 + MAX_AHEAD_MICROS
  for (let i = TIME_BYTES - 1; i >= 0; i--) {
    version[i] = rest % 256
    rest = Math.floor(rest / 256)
  }
  return version
}

/** Whether a stored version is past the horizon (garbage). @internal */
export const pastHorizon = (version: Uint8Array): boolean => compare(version, horizon()) > 0

/** The time part of a version, in microseconds since the epoch. @internal */
export const timeOf = (version: Uint8Array): number => {
  let micros = 0
  for (let i = 0; i < TIME_BYTES && i < version.length; i++) micros = micros * 256 + version[i]
  return micros
}

/** A version as users see it. @internal */
export const format = (version: Uint8Array): string => Buffer.from(version).toString("base64url")

const FORMATTED = /^[A-Za-z0-9_-]{16}$/

/** A version from its formatted string; undefined when the string is not one. @internal */
export const parse = (formatted: string): Uint8Array | undefined =>
  // a version from untyped code may be anything: only a string of the format is one
  typeof formatted === "string" && FORMATTED.test(formatted)
    ? new Uint8Array(Buffer.from(formatted, "base64url"))
    : undefined

/** Bytewise order, as DynamoDB orders binary attributes. @internal */
export const compare = (a: Uint8Array, b: Uint8Array): number => Buffer.compare(a, b)

/** @internal */
export const equals = (a: Uint8Array, b: Uint8Array): boolean => compare(a, b) === 0
