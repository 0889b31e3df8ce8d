/**
 * The value codec's storable domain: the walk that checks a value (cycles,
 * depth, kinds, -0 and far Dates flagged for the encoder), its failures as
 * paths, and far Dates replaced by tag 0 before encoding.
 *
 * @internal
 */
import { Tag } from "cbor-x"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"

/** Deepest nesting of arrays, objects, maps and sets that a value may have. @internal */
export const MAX_DEPTH = 512

const errorMessage = (error: unknown): string => error instanceof Error ? error.message : String(error)

// -----------------------------------------------------------------------------
// domain check
// -----------------------------------------------------------------------------

/** `check` saw a -0: encode with `floatEncoder`. @internal */
export const NEGATIVE_ZERO = 1
/** `check` saw a Date that tag 1 (float seconds) would not carry to the millisecond. @internal */
export const FAR_DATE = 2

interface Walk {
  /** The containers from the root to the current one: for cycles and depth. */
  readonly ancestors: Array<object>
  flags: number
}

/**
 * Why a value is out of the domain. `segments` is the path from the failing
 * node up to the root (innermost first), filled in while the walk unwinds, so
 * that a value in the domain costs no path bookkeeping at all.
 */
interface Failure {
  readonly what: string
  readonly segments: Array<string>
  /** For a cycle: how many segments lead from the root to the ancestor it refers back to. */
  readonly ancestorDepth: number
}

const fail = (what: string, ancestorDepth = -1): Failure => ({ what, segments: [], ancestorDepth })

const renderPath = (segments: ReadonlyArray<string>): string => "$" + segments.join("")

const describeFailure = (failure: Failure): string => {
  const segments = failure.segments.reverse()
  const at = renderPath(segments)
  return failure.ancestorDepth >= 0
    ? `a cycle at ${at}: it refers back to its ancestor ${renderPath(segments.slice(0, failure.ancestorDepth))}`
    : `${failure.what} at ${at}`
}

interface WellFormedString {
  isWellFormed(): boolean
}

/** CBOR text is UTF-8: a string with a lone surrogate would come back altered. (ES2024, Node >= 20.) */
const isWellFormed = (s: string): boolean => (s as unknown as WellFormedString).isWellFormed()

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/

/** Keys longer than this are cut short in paths, so that a reason stays readable. */
const MAX_KEY_IN_PATH = 40

const clip = (text: string): string => text.length > MAX_KEY_IN_PATH ? text.slice(0, MAX_KEY_IN_PATH) + "..." : text

const quote = (key: string): string =>
  key.length > MAX_KEY_IN_PATH ? JSON.stringify(key.slice(0, MAX_KEY_IN_PATH)) + "..." : JSON.stringify(key)

const propertySegment = (key: string): string => IDENTIFIER.test(key) ? "." + clip(key) : "[" + quote(key) + "]"

const mapValueSegment = (key: unknown, index: number): string => {
  switch (typeof key) {
    case "string":
      return ".get(" + quote(key) + ")"
    case "number":
    case "boolean":
      return ".get(" + String(key) + ")"
    case "bigint":
      return ".get(" + clip(String(key)) + "n)"
    case "undefined":
      return ".get(undefined)"
  }
  return key === null ? ".get(null)" : ".values()[" + index + "]"
}

/** Whether tag 1 (epoch seconds as cbor-x writes and reads them) carries this time exactly. */
const isExactSeconds = (time: number): boolean => time !== time || Math.round((time / 1000) * 1000) === time

/**
 * How a message names an Option, an Either or an Effect (each an Effect in
 * Effect 3), the wrappers most often stored by mistake in place of the value
 * they hold; undefined for any other value.
 *
 * @internal
 */
export const describeWrapper = (value: unknown): string | undefined =>
  Option.isOption(value)
    ? "an Option (Option.some/none)"
    : Either.isEither(value)
    ? "an Either (Either.right/left)"
    : Effect.isEffect(value)
    ? "an Effect"
    : undefined

/**
 * Why what the function of `update` / `updateIn` returned is a mistake (an
 * Option, an Either or an Effect instead of the new value), or undefined.
 * Checked before the result is encoded, so that the message says what
 * happened instead of pointing at a non-plain prototype.
 *
 * @internal
 */
export const misusedResult = (operation: string, result: unknown): string | undefined => {
  const what = describeWrapper(result)
  return what === undefined
    ? undefined
    : what === "an Effect"
    ? `${operation}'s function returned an Effect; ${operation} takes a pure function — run the effect first`
    : `${operation}'s function returned ${what}; return the new value itself`
}

const describeInstance = (proto: object): string => {
  const ctor: unknown = Object.getOwnPropertyDescriptor(proto, "constructor")?.value
  const name = typeof ctor === "function" ? ctor.name : ""
  return name === "" ? "an object with a non-plain prototype" : `an instance of ${name}`
}

const check = (value: unknown, walk: Walk): Failure | undefined => {
  switch (typeof value) {
    case "string":
      return isWellFormed(value) ? undefined : fail("a string with an unpaired UTF-16 surrogate")
    case "number":
      if (value === 0 && 1 / value < 0) walk.flags |= NEGATIVE_ZERO
      return undefined
    case "boolean":
    case "bigint":
    case "undefined":
      return undefined
    case "object":
      return value === null ? undefined : checkObject(value, walk)
    case "function":
      return fail("a function")
    case "symbol":
      return fail("a symbol")
  }
  return fail(`a value of type ${typeof value}`)
}

const checkObject = (value: object, walk: Walk): Failure | undefined => {
  const proto: unknown = Object.getPrototypeOf(value)
  if (proto === Object.prototype || proto === null) {
    return enter(value, walk) ?? checkRecord(value as Record<string, unknown>, walk)
  }
  if (proto === Array.prototype && Array.isArray(value)) {
    return enter(value, walk) ?? checkArray(value, walk)
  }
  if (proto === Uint8Array.prototype || proto === Buffer.prototype) {
    return undefined
  }
  if (proto === Date.prototype) {
    if (!isExactSeconds((value as Date).getTime())) walk.flags |= FAR_DATE
    return undefined
  }
  if (proto === Map.prototype) {
    return enter(value, walk) ?? checkMap(value as Map<unknown, unknown>, walk)
  }
  if (proto === Set.prototype) {
    return enter(value, walk) ?? checkSet(value as Set<unknown>, walk)
  }
  return fail(describeWrapper(value) ?? describeInstance(proto as object))
}

/** Pushes a container on the ancestor stack, unless it would close a cycle or nest too deep. */
const enter = (value: object, walk: Walk): Failure | undefined => {
  const ancestors = walk.ancestors
  const ancestor = ancestors.indexOf(value)
  if (ancestor !== -1) return fail("a cycle", ancestor)
  if (ancestors.length >= MAX_DEPTH) return fail(`a value nested deeper than ${MAX_DEPTH} levels`)
  ancestors.push(value)
  return undefined
}

const checkRecord = (value: Record<string, unknown>, walk: Walk): Failure | undefined => {
  // for-in: no key array allocated; it also lists inherited enumerable keys, which
  // plain objects do not have (and checking them too is only stricter).
  for (const key in value) {
    if (key === "__proto__") {
      const failure = fail("a property named \"__proto__\"")
      failure.segments.push(propertySegment(key))
      return failure
    }
    if (!isWellFormed(key)) {
      const failure = fail("a property name with an unpaired UTF-16 surrogate")
      failure.segments.push(propertySegment(key))
      return failure
    }
    const failure = check(value[key], walk)
    if (failure !== undefined) {
      failure.segments.push(propertySegment(key))
      return failure
    }
  }
  walk.ancestors.pop()
  return undefined
}

const checkArray = (value: ReadonlyArray<unknown>, walk: Walk): Failure | undefined => {
  for (let i = 0; i < value.length; i++) {
    const failure = check(value[i], walk)
    if (failure !== undefined) {
      failure.segments.push("[" + i + "]")
      return failure
    }
  }
  walk.ancestors.pop()
  return undefined
}

const checkMap = (value: Map<unknown, unknown>, walk: Walk): Failure | undefined => {
  let i = 0
  for (const [key, element] of value) {
    let failure = check(key, walk)
    if (failure !== undefined) {
      failure.segments.push(".keys()[" + i + "]")
      return failure
    }
    failure = check(element, walk)
    if (failure !== undefined) {
      failure.segments.push(mapValueSegment(key, i))
      return failure
    }
    i++
  }
  walk.ancestors.pop()
  return undefined
}

const checkSet = (value: Set<unknown>, walk: Walk): Failure | undefined => {
  let i = 0
  for (const element of value) {
    const failure = check(element, walk)
    if (failure !== undefined) {
      failure.segments.push(".values()[" + i + "]")
      return failure
    }
    i++
  }
  walk.ancestors.pop()
  return undefined
}

/**
 * Checks a value against the storable domain. Right(flags) when it is in it.
 * A stack overflow (a getter recursing, a tiny stack) is reported, not thrown.
 *
 * @internal
 */
export const validate = (value: unknown): Either.Either<number, string> => {
  if (value === undefined) return Either.left("undefined at $ (only nested undefined is storable)")
  const walk: Walk = { ancestors: [], flags: 0 }
  try {
    const failure = check(value, walk)
    return failure === undefined ? Either.right(walk.flags) : Either.left(describeFailure(failure))
  } catch (error) {
    return Either.left(`the value could not be walked: ${errorMessage(error)}`)
  }
}

// -----------------------------------------------------------------------------
// far dates
// -----------------------------------------------------------------------------

/**
 * A copy of `value` in which every Date that tag 1 would round (beyond about
 * year 140000) is replaced by tag 0 (an RFC 3339 string, read back exactly).
 * Runs only for values holding such a Date.
 *
 * @internal
 */
export const substituteFarDates = (value: unknown): unknown => {
  if (typeof value !== "object" || value === null) return value
  const proto: unknown = Object.getPrototypeOf(value)
  if (proto === Date.prototype) {
    const time = (value as Date).getTime()
    return isExactSeconds(time) ? value : new Tag(new Date(time).toISOString(), 0)
  }
  if (Array.isArray(value)) return value.map(substituteFarDates)
  if (proto === Map.prototype) {
    const copy = new Map<unknown, unknown>()
    for (const [key, element] of value as Map<unknown, unknown>) {
      copy.set(substituteFarDates(key), substituteFarDates(element))
    }
    return copy
  }
  if (proto === Set.prototype) {
    const copy = new Set<unknown>()
    for (const element of value as Set<unknown>) copy.add(substituteFarDates(element))
    return copy
  }
  if (proto === Object.prototype || proto === null) {
    const copy: Record<string, unknown> = {}
    const record = value as Record<string, unknown>
    for (const key in record) copy[key] = substituteFarDates(record[key])
    return copy
  }
  return value // Uint8Array
}
