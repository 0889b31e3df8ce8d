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
import * as FiberRef from "effect/FiberRef"
import { randomFillSync } from "node:crypto"

/** Bytes of a version. @internal */
export const BYTES = 12

/** Bytes of the time part. */
const TIME_BYTES = 7

/**
 * How far ahead of this clock's time a version may be and still be
 * followed: 10 minutes. A version further ahead (a caller's made-up
 * `ifVersion`, a writer of another library whose clock is badly wrong) is not
 * followed, so that it cannot drag this clock into the future for good.
 *
 * @internal
 */
export const MAX_AHEAD_MICROS = 10 * 60 * 1_000_000

/**
 * How far past a write's own version a stored version must be to count as
 * garbage (older than any real one): one day. Anchored clocks (below) never
 * mint a version more than about a second ahead of DynamoDB's clock, so no
 * version this library writes is ever past it: `ver < :v` means "not yet
 * applied", whatever the writers' clocks (docs/consistency.md, "Clocks").
 *
 * @internal
 */
export const HORIZON_MICROS = 24 * 3600 * 1_000_000

/**
 * The largest offset between this machine's clock and DynamoDB's that a
 * store accepts: 20 minutes. Versions are anchored to DynamoDB's clock
 * whatever the offset; but chunks' write times (`wt`) and `sweep`'s ages are
 * the machines' clocks, and sweep's default grace leaves 25 minutes for their
 * skew. A store further off fails its writes with `DynamoDBError` code
 * "ClockSkew", nothing written.
 *
 * @internal
 */
export const MAX_OFFSET_MILLIS = 20 * 60 * 1000

/**
 * A test's stand-in for a machine whose clock is off: the offset, in
 * milliseconds, added to `Date.now()` by the clocks of the stores built
 * while it is set (read once, when a store is built).
 *
 * @internal
 */
export const testSkewMillis: FiberRef.FiberRef<number> = FiberRef.unsafeMake(0)

/**
 * DynamoDB's clock as a store learns it from the `Date` header of its
 * answers (one-second resolution): each answer bounds the offset between the
 * two clocks — DynamoDB's time when it answered is in [date, date + 1 s),
 * between the local times the request was sent and its answer received — and
 * the anchor keeps the intersection of these bounds (starting again from the
 * latest answer when they disagree: a clock stepped). The offset is zero
 * while this machine's clock agrees with DynamoDB's within what the answers
 * can tell, else the upper bound.
 *
 * @internal
 */
export interface Anchor {
  /** This machine's clock, epoch milliseconds (with the test skew). */
  readonly local: () => number
  /** An answer whose `Date` header says `date` (epoch ms), sent and received at these local times. */
  readonly observe: (date: number, sent: number, received: number) => void
  /** DynamoDB's clock minus this machine's, in milliseconds; undefined until an answer told it. */
  readonly offset: () => number | undefined
  /**
   * Why versions cannot be anchored now (no answer told DynamoDB's time yet,
   * or the offset is over `MAX_OFFSET_MILLIS`), naming the figure; undefined
   * when they can.
   */
  readonly problem: () => string | undefined
}

/** How far outside the bounds this machine's clock may be and still count as agreeing with DynamoDB's. */
const AGREE_MILLIS = 1000

/** @internal */
export const makeAnchor = (skewMillis = 0): Anchor => {
  let low = -Infinity
  let high = Infinity
  let known = false
  const local = skewMillis === 0 ? Date.now : () => Date.now() + skewMillis
  // None while this machine's clock agrees with the answers (NTP-synchronized writers mint from their own clocks,
  // as close as they are); else the upper bound: a corrected clock is never behind DynamoDB's, at most the
  // bounds' width (a second and a round trip, narrowing with every answer) ahead.
  // A second of slack: servers stamp Date from a clock cached per second, so an on-time machine's bounds can miss 0.
  const offset = () => known ? (low - AGREE_MILLIS <= 0 && high + AGREE_MILLIS >= 0 ? 0 : high) : undefined
  return {
    local,
    observe: (date, sent, received) => {
      if (!Number.isFinite(date)) return
      const lo = date - received
      const hi = date + 1000 - sent
      if (!known || lo > high || hi < low) {
        low = lo
        high = hi
        known = true
        return
      }
      low = Math.max(low, lo)
      high = Math.min(high, hi)
    },
    offset,
    problem: () => {
      const figure = offset()
      if (figure === undefined) {
        return "no answer from DynamoDB has told its time yet (a Date header), so versions cannot be anchored to it"
      }
      return Math.abs(figure) > MAX_OFFSET_MILLIS
        ? `this machine's clock is ${Math.round(Math.abs(figure) / 1000)} s ${figure > 0 ? "behind" : "ahead of"} ` +
          `DynamoDB's (the Date of its answers), more than the ${MAX_OFFSET_MILLIS / 60_000} minutes a store accepts`
        : undefined
    }
  }
}

/** Mints versions. @internal */
export interface VersionClock {
  /**
   * A new version, greater than every version this clock minted before, and
   * than `after` when given and not more than `MAX_AHEAD_MICROS` ahead.
   */
  readonly next: (after?: Uint8Array) => Uint8Array
  /** What versions are minted from: DynamoDB's clock, when the clock is anchored. */
  readonly anchor: Anchor | undefined
}

const encode = (micros: number, fill?: number): Uint8Array => {
  const version = new Uint8Array(BYTES)
  let rest = micros
  for (let i = TIME_BYTES - 1; i >= 0; i--) {
    version[i] = rest % 256
    rest = Math.floor(rest / 256)
  }
  if (fill === undefined) randomFillSync(version, TIME_BYTES)
  else version.fill(fill, TIME_BYTES)
  return version
}

/**
 * A clock of versions: microseconds, never going back and never repeating
 * (a hybrid logical clock: it also moves past the versions it is asked to
 * follow, within `MAX_AHEAD_MICROS`). With an anchor, its time is this
 * machine's plus the offset to DynamoDB's clock; without one (the memory
 * store, tests), the machine's.
 *
 * @internal
 */
export const makeClock = (anchor?: Anchor): VersionClock => {
  let last = 0
  const millis = anchor === undefined ? Date.now : () => anchor.local() + (anchor.offset() ?? 0)
  return {
    anchor,
    next: (after) => {
      const now = Math.floor(millis() * 1000)
      let micros = Math.max(now, last + 1)
      if (after !== undefined && after.length === BYTES) {
        const followed = timeOf(after) + 1
        if (followed <= now + MAX_AHEAD_MICROS) micros = Math.max(micros, followed)
      }
      last = micros
      return encode(micros)
    }
  }
}

/**
 * The horizon of a write of `version`: the least version `HORIZON_MICROS`
 * past it. A stored version past it is garbage, older than any real one.
 * Derived from the version alone, so that every attempt of a write — a
 * request held in the network included — carries the same one, and a
 * decision taken later (`settle`) compares against what that request did.
 *
 * @internal
 */
export const horizonOf = (version: Uint8Array): Uint8Array => encode(timeOf(version) + HORIZON_MICROS, 0xff)

/** Whether a stored version is past the horizon of a write of `version` (garbage to it). @internal */
export const pastHorizon = (stored: Uint8Array, version: Uint8Array): boolean => compare(stored, horizonOf(version)) > 0

/** Whether a stored version is past the horizon of a write minted now on this machine's clock. @internal */
export const pastHorizonNow = (stored: Uint8Array): boolean => timeOf(stored) > Date.now() * 1000 + HORIZON_MICROS

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
