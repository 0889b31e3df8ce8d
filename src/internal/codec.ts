/**
 * The value codec: checks that a value lies in the storable domain, encodes it
 * as CBOR (cbor-x) behind a 4-byte header, and compresses large bodies.
 *
 * Header (konserve's blob header, shortened):
 *
 * | byte | meaning                                          |
 * |------|--------------------------------------------------|
 * | 0    | format version, `1`                              |
 * | 1    | serializer id, `1` = CBOR                        |
 * | 2    | compression id, `0` = none, `1` = zlib deflate   |
 * | 3    | encryption id, `0` = none (other ids reserved)   |
 *
 * followed by the body. See `docs/values.md`.
 *
 * @internal
 */
import { Decoder, Encoder, Tag } from "cbor-x"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { Buffer } from "node:buffer"
import * as Zlib from "node:zlib"
import { scan } from "./cborScan.js"

/** Bytes in front of every encoded value. @internal */
export const HEADER_SIZE = 4

/** Byte 0: the format version this module writes and reads. @internal */
export const FORMAT_VERSION = 1

/** Byte 1: serializer ids. @internal */
export const SERIALIZER_CBOR = 1

/** Byte 2: compression ids. @internal */
export const COMPRESSION_NONE = 0
/** @internal */
export const COMPRESSION_DEFLATE = 1

/** Byte 3: encryption ids (only "none" exists; the byte is reserved). @internal */
export const ENCRYPTION_NONE = 0

/** A CBOR body larger than this many bytes is deflated, and kept deflated only when that shrinks it. @internal */
export const COMPRESSION_THRESHOLD = 4096

/** zlib level used for compression: the fastest. @internal */
export const COMPRESSION_LEVEL = 1

/** Deepest nesting of arrays, objects, maps and sets that a value may have. @internal */
export const MAX_DEPTH = 512

// -----------------------------------------------------------------------------
// serializer
// -----------------------------------------------------------------------------

// Plain objects are CBOR maps with string keys (decoded as objects, key order kept),
// `Map`s are CBOR maps behind tag 259 (decoded as `Map`s, keys of any kind), `Set`s
// are arrays behind tag 258, `Date`s are tag 1 (epoch seconds), bigints are 64-bit
// integers (major types 0/1 with 8 bytes, always decoded as bigint) or tags 2/3
// beyond, `Uint8Array`s are untagged byte strings, nested `undefined` is simple
// value 23. Only `Uint8Array`, `Date`, `Set` and `Map` reach cbor-x's extensions:
// everything else is rejected by `check` before cbor-x sees it.
const encoder = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false })

// The same, but every number is a float64, so that -0 survives (cbor-x writes
// integral numbers, -0 included, as CBOR integers). Used only for values holding a -0.
const floatEncoder = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false, alwaysUseFloat: true })

// `copyBuffers`: decoded byte strings are copies, never views of the stored bytes.
const decoder = new Decoder({ useRecords: false, mapsAsObjects: true, copyBuffers: true })

// -----------------------------------------------------------------------------
// domain check
// -----------------------------------------------------------------------------

/** `check` saw a -0: encode with `floatEncoder`. */
const NEGATIVE_ZERO = 1
/** `check` saw a Date that tag 1 (float seconds) would not carry to the millisecond. */
const FAR_DATE = 2

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
 */
const validate = (value: unknown): Either.Either<number, string> => {
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
 */
const substituteFarDates = (value: unknown): unknown => {
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

// -----------------------------------------------------------------------------
// encode / decode
// -----------------------------------------------------------------------------

const errorMessage = (error: unknown): string => error instanceof Error ? error.message : String(error)

/** A plain `Uint8Array` view (not a `Buffer`): cbor-x copies byte strings with the source's species. */
const plainView = (bytes: Uint8Array, offset: number): Uint8Array =>
  new Uint8Array(bytes.buffer, bytes.byteOffset + offset, bytes.byteLength - offset)

const withHeader = (body: Uint8Array, compression: number): Uint8Array => {
  const out = new Uint8Array(HEADER_SIZE + body.byteLength)
  out[0] = FORMAT_VERSION
  out[1] = SERIALIZER_CBOR
  out[2] = compression
  out[3] = ENCRYPTION_NONE
  out.set(body, HEADER_SIZE)
  return out
}

/**
 * An encoded value: the bytes to store, and its size — the encoded bytes
 * before compression (header included), which is what limits and
 * `Meta.size` count: compression never changes what fits.
 *
 * @internal
 */
export interface Encoded {
  readonly bytes: Uint8Array
  readonly size: number
}

/**
 * Encodes a value of the storable domain to bytes behind a small header;
 * Left(reason) for out-of-domain values. The reason names what and where,
 * e.g. `a function at $.a.b[2]`.
 *
 * @internal
 */
export const encodeSized = (value: unknown): Either.Either<Encoded, string> => {
  const checked = validate(value)
  if (Either.isLeft(checked)) return Either.left(checked.left)
  const flags = checked.right
  let body: Uint8Array
  try {
    const input = (flags & FAR_DATE) === 0 ? value : substituteFarDates(value)
    body = ((flags & NEGATIVE_ZERO) === 0 ? encoder : floatEncoder).encode(input)
  } catch (error) {
    return Either.left(`the value could not be encoded: ${errorMessage(error)}`)
  }
  const size = HEADER_SIZE + body.byteLength
  if (body.byteLength > COMPRESSION_THRESHOLD) {
    const compressed = Zlib.deflateSync(body, { level: COMPRESSION_LEVEL })
    if (compressed.byteLength < body.byteLength) {
      return Either.right({ bytes: withHeader(compressed, COMPRESSION_DEFLATE), size })
    }
  }
  return Either.right({ bytes: withHeader(body, COMPRESSION_NONE), size })
}

/** `encodeSized`, the bytes only. @internal */
export const encode = (value: unknown): Either.Either<Uint8Array, string> =>
  Either.map(encodeSized(value), (encoded) => encoded.bytes)

interface InflateResult {
  readonly buffer: Buffer
  readonly engine: { readonly bytesWritten: number }
}

const inflate = (body: Uint8Array, maxBody: number): Either.Either<Uint8Array, string> => {
  try {
    // `info: true` reports how much input the stream used, so trailing bytes are caught
    // (@types/node does not model this option's result type). `maxOutputLength` stops a
    // decompression bomb at the limit instead of in memory.
    const result = Zlib.inflateSync(body, {
      info: true,
      ...(Number.isFinite(maxBody) ? { maxOutputLength: Math.max(1, maxBody) } : {})
    }) as unknown as InflateResult
    return result.engine.bytesWritten === body.byteLength
      ? Either.right(plainView(result.buffer, 0))
      : Either.left(`corrupt compressed body: ${body.byteLength - result.engine.bytesWritten} trailing bytes`)
  } catch (error) {
    const code = (error as { readonly code?: unknown }).code
    return code === "ERR_BUFFER_TOO_LARGE"
      ? Either.left(`the compressed body inflates past ${maxBody} bytes (the limit)`)
      : Either.left(`corrupt compressed body: ${errorMessage(error)}`)
  }
}

/** What `decode` accepts. @internal */
export interface DecodeOptions {
  /**
   * The most encoded bytes (before compression, header included) a value may
   * have: a stored value that is, or would inflate to, more fails instead of
   * taking the memory. Default: no limit.
   */
  readonly maxBytes?: number | undefined
}

/**
 * Decodes bytes written by `encode`; Left(reason) for bytes that do not decode
 * (bad header, unknown ids, corrupt body, or a body that decodes to something
 * outside the storable domain). The result is always a fresh value.
 *
 * @internal
 */
export const decode = (bytes: Uint8Array, options: DecodeOptions = {}): Either.Either<unknown, string> => {
  const maxBody = (options.maxBytes ?? Number.POSITIVE_INFINITY) - HEADER_SIZE
  if (bytes.byteLength < HEADER_SIZE) {
    return Either.left(`truncated: ${bytes.byteLength} bytes, the header alone is ${HEADER_SIZE}`)
  }
  if (bytes[0] !== FORMAT_VERSION) {
    return Either.left(`unknown format version ${bytes[0]} (this library reads version ${FORMAT_VERSION})`)
  }
  if (bytes[1] !== SERIALIZER_CBOR) {
    return Either.left(`unknown serializer id ${bytes[1]} (known: ${SERIALIZER_CBOR} = CBOR)`)
  }
  if (bytes[3] !== ENCRYPTION_NONE) {
    return Either.left(`unknown encryption id ${bytes[3]} (known: ${ENCRYPTION_NONE} = none)`)
  }
  let body: Uint8Array
  switch (bytes[2]) {
    case COMPRESSION_NONE: {
      body = plainView(bytes, HEADER_SIZE)
      if (body.byteLength > maxBody) {
        return Either.left(`${bytes.byteLength} bytes, more than the limit (${maxBody + HEADER_SIZE})`)
      }
      break
    }
    case COMPRESSION_DEFLATE: {
      const inflated = inflate(plainView(bytes, HEADER_SIZE), maxBody)
      if (Either.isLeft(inflated)) return inflated
      body = inflated.right
      break
    }
    default:
      return Either.left(
        `unknown compression id ${bytes[2]} (known: ${COMPRESSION_NONE} = none, ${COMPRESSION_DEFLATE} = deflate)`
      )
  }
  // Only what `encode` writes reaches cbor-x: no shared references, packed values or
  // records (a graph of a few bytes walked as a tree), no count past the bytes left.
  const refused = scan(body)
  if (refused !== undefined) return Either.left(`corrupt CBOR body: ${refused}`)
  let value: unknown
  try {
    value = decoder.decode(body)
  } catch (error) {
    return Either.left(`corrupt CBOR body: ${errorMessage(error)}`)
  }
  // Bytes from elsewhere (or corrupted ones) can hold CBOR tags that cbor-x turns into
  // Errors, RegExps, typed arrays or `Tag`s: only values of the domain come out.
  const checked = validate(value)
  return Either.isLeft(checked)
    ? Either.left(`the body decodes to a value outside the storable domain: ${checked.left}`)
    : Either.right(value)
}
