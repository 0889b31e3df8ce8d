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
import { Decoder, Encoder } from "cbor-x"
import * as Either from "effect/Either"
import type { Buffer } from "node:buffer"
import * as Zlib from "node:zlib"
import { scan } from "./cborScan.js"
import { FAR_DATE, NEGATIVE_ZERO, substituteFarDates, validate } from "./codecDomain.js"

export {
  /** @internal */
  describeWrapper,
  /** Deepest nesting of arrays, objects, maps and sets that a value may have. @internal */
  MAX_DEPTH,
  /** @internal */
  misusedResult
} from "./codecDomain.js"

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
