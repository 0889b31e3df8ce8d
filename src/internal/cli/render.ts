/**
 * Values as JSON, for the CLI's output (`get`), its input (`put --json`,
 * `--meta`) and the export format: "tagged JSON", which keeps every value of
 * the storable domain exact.
 *
 * Plain JSON stays plain (`null`, booleans, strings, finite numbers, arrays,
 * objects); what JSON cannot say is an object with one `$`-key:
 *
 * | value | tagged JSON |
 * |---|---|
 * | `NaN`, `Infinity`, `-Infinity`, `-0` | `{"$number":"NaN"}`, ... `{"$number":"-0"}` |
 * | `123n` | `{"$bigint":"123"}` |
 * | `new Date(0)` | `{"$date":"1970-01-01T00:00:00.000Z"}` (an invalid Date: `{"$date":null}`) |
 * | `Uint8Array` | `{"$bytes":"<base64>"}` |
 * | `Map` | `{"$map":[[key, value], ...]}` |
 * | `Set` | `{"$set":[element, ...]}` |
 * | nested `undefined` | `{"$undefined":true}` |
 * | an object whose only key starts with `$` | `{"$object":{...}}` (so it is never read as a tag) |
 *
 * Also the human formatting of sizes, times and `Meta` rows.
 *
 * @internal
 */
import * as Either from "effect/Either"
import { Buffer } from "node:buffer"
import type * as KonserveStore from "../../KonserveStore.js"
import * as KeyLines from "./keyLines.js"

/** JSON as `JSON.parse` returns it. @internal */
export type Json = null | boolean | number | string | ReadonlyArray<Json> | { readonly [key: string]: Json }

/** The tags of tagged JSON. @internal */
export const TAGS: ReadonlyArray<string> = [
  "$number",
  "$bigint",
  "$date",
  "$bytes",
  "$map",
  "$set",
  "$undefined",
  "$object"
]

const isPlainObject = (value: object): boolean => {
  const proto: unknown = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

const encodeNumber = (n: number): Json => {
  if (Number.isNaN(n)) return { $number: "NaN" }
  if (n === Infinity) return { $number: "Infinity" }
  if (n === -Infinity) return { $number: "-Infinity" }
  if (Object.is(n, -0)) return { $number: "-0" }
  return n
}

/**
 * A value of the storable domain as tagged JSON. Throws a `TypeError` for a
 * value outside the domain (a function, a class instance): values read from a
 * store never are.
 *
 * @internal
 */
export const encode = (value: unknown): Json => {
  switch (typeof value) {
    case "string":
    case "boolean":
      return value
    case "number":
      return encodeNumber(value)
    case "bigint":
      return { $bigint: value.toString() }
    case "undefined":
      return { $undefined: true }
    case "object": {
      if (value === null) return null
      if (Array.isArray(value)) return Array.from(value, encode)
      if (value instanceof Uint8Array) {
        return { $bytes: toBase64(value) }
      }
      if (value instanceof Date) {
        const time = value.getTime()
        return { $date: Number.isNaN(time) ? null : value.toISOString() }
      }
      if (value instanceof Map) return { $map: Array.from(value, ([k, v]) => [encode(k), encode(v)]) }
      if (value instanceof Set) return { $set: Array.from(value, encode) }
      if (isPlainObject(value)) {
        const out: Record<string, Json> = {}
        const keys = Object.keys(value)
        for (const key of keys) {
          Object.defineProperty(out, key, {
            value: encode((value as Record<string, unknown>)[key]),
            enumerable: true,
            writable: true,
            configurable: true
          })
        }
        return keys.length === 1 && keys[0].startsWith("$") ? { $object: out } : out
      }
    }
  }
  throw new TypeError(`not a storable value: ${Object.prototype.toString.call(value)}`)
}

class TaggedJsonError {
  constructor(readonly message: string, readonly path: string) {}
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/
const INTEGER = /^-?(0|[1-9][0-9]*)$/

/**
 * Bytes from standard base64 (with padding); undefined for anything else.
 *
 * @internal
 */
export const fromBase64 = (text: string): Uint8Array | undefined =>
  text.length % 4 === 0 && BASE64.test(text) ? new Uint8Array(Buffer.from(text, "base64")) : undefined

/**
 * Standard base64 (with padding) of bytes.
 *
 * @internal
 */
export const toBase64 = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64")

const decodeAt = (json: unknown, path: string): unknown => {
  if (json === null || typeof json === "boolean" || typeof json === "string") return json
  if (typeof json === "number") return json
  if (Array.isArray(json)) return json.map((element, i) => decodeAt(element, `${path}[${i}]`))
  if (typeof json !== "object") throw new TaggedJsonError(`not JSON (${typeof json})`, path)
  const record = json as Record<string, unknown>
  const keys = Object.keys(record)
  if (keys.length === 1 && keys[0].startsWith("$")) return decodeTag(keys[0], record[keys[0]], path)
  return objectOf(record, keys, path)
}

const objectOf = (record: Record<string, unknown>, keys: ReadonlyArray<string>, path: string): unknown =>
  // `fromEntries` defines own properties: a key "__proto__" stays a key (which the store then refuses)
  Object.fromEntries(keys.map((key) => [key, decodeAt(record[key], `${path}${segment(key)}`)]))

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/

/** `.name`, or `["odd name"]`, as in the store's own error messages. */
const segment = (key: string): string => IDENTIFIER.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`

const decodeTag = (tag: string, body: unknown, path: string): unknown => {
  const at = `${path}.${tag}`
  switch (tag) {
    case "$number":
      switch (body) {
        case "NaN":
          return NaN
        case "Infinity":
          return Infinity
        case "-Infinity":
          return -Infinity
        case "-0":
          return -0
      }
      throw new TaggedJsonError("expected \"NaN\", \"Infinity\", \"-Infinity\" or \"-0\"", at)
    case "$bigint":
      if (typeof body === "string" && INTEGER.test(body)) return BigInt(body)
      throw new TaggedJsonError("expected an integer as a string of decimal digits", at)
    case "$date": {
      if (body === null) return new Date(NaN)
      const time = typeof body === "string" ? Date.parse(body) : NaN
      if (Number.isNaN(time)) throw new TaggedJsonError("expected an ISO 8601 date string or null", at)
      return new Date(time)
    }
    case "$bytes": {
      const bytes = typeof body === "string" ? fromBase64(body) : undefined
      if (bytes !== undefined) return bytes
      throw new TaggedJsonError("expected a base64 string", at)
    }
    case "$map": {
      if (!Array.isArray(body)) throw new TaggedJsonError("expected an array of [key, value] pairs", at)
      return new Map(body.map((entry, i) => {
        if (!Array.isArray(entry) || entry.length !== 2) {
          throw new TaggedJsonError("expected a [key, value] pair", `${at}[${i}]`)
        }
        return [decodeAt(entry[0], `${at}[${i}][0]`), decodeAt(entry[1], `${at}[${i}][1]`)]
      }))
    }
    case "$set":
      if (!Array.isArray(body)) throw new TaggedJsonError("expected an array", at)
      return new Set(body.map((element, i) => decodeAt(element, `${at}[${i}]`)))
    case "$undefined":
      if (body === true) return undefined
      throw new TaggedJsonError("expected true", at)
    case "$object":
      if (typeof body !== "object" || body === null || Array.isArray(body)) {
        throw new TaggedJsonError("expected an object", at)
      }
      return objectOf(body as Record<string, unknown>, Object.keys(body), at)
  }
  throw new TaggedJsonError(
    `unknown tag ${JSON.stringify(tag)} (an object whose only key starts with "$" is a tag: ` +
      `${TAGS.join(", ")}; write {"$object": {...}} for a plain object)`,
    path
  )
}

/**
 * Parsed JSON in tagged form back to a value; Left(reason) naming the place
 * (`$.a[2].$bigint: expected ...`).
 *
 * @internal
 */
export const decode = (json: unknown): Either.Either<unknown, string> => {
  try {
    return Either.right(decodeAt(json, "$"))
  } catch (error) {
    if (error instanceof TaggedJsonError) return Either.left(`${error.path}: ${error.message}`)
    if (error instanceof RangeError) return Either.left("nested too deep")
    throw error
  }
}

/**
 * JSON text in tagged form to a value; Left(reason).
 *
 * @internal
 */
export const parse = (text: string): Either.Either<unknown, string> => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    return Either.left(`not JSON: ${error instanceof Error ? error.message : String(error)}`)
  }
  return decode(json)
}

/** The width `pretty` keeps a container on one line within. @internal */
export const PRETTY_WIDTH = 80

/**
 * Compact JSON with a space after `:` and `,`, for `pretty`'s one-line
 * containers; undefined as soon as it would be longer than `budget` (so that
 * a large value is never rendered flat just to be measured).
 */
const flatWithin = (json: Json, budget: number): string | undefined => {
  if (json === null || typeof json !== "object") {
    const text = JSON.stringify(json)
    return text.length <= budget ? text : undefined
  }
  const parts: Array<string> = []
  let length = 2
  const add = (text: string | undefined): boolean => {
    if (text === undefined) return false
    length += text.length + (parts.length === 0 ? 0 : 2)
    parts.push(text)
    return length <= budget
  }
  if (Array.isArray(json)) {
    for (const element of json as ReadonlyArray<Json>) {
      if (!add(flatWithin(element, budget - length))) return undefined
    }
    return `[${parts.join(", ")}]`
  }
  const record = json as Record<string, Json>
  for (const key of Object.keys(record)) {
    const label = `${JSON.stringify(key)}: `
    const value = flatWithin(record[key], budget - length - label.length)
    if (!add(value === undefined ? undefined : label + value)) return undefined
  }
  return parts.length === 0 ? "{}" : `{ ${parts.join(", ")} }`
}

/**
 * JSON for people: a container that fits on the rest of its line stays on
 * one line (`{ "$bigint": "123" }`), a larger one is broken over lines and
 * indented by two spaces.
 *
 * @internal
 */
export const pretty = (json: Json, indent = 0, used = 0): string => {
  const flat = flatWithin(json, Math.max(PRETTY_WIDTH - indent - used, 0))
  if (flat !== undefined) return flat
  if (json === null || typeof json !== "object") return JSON.stringify(json)
  const inner = " ".repeat(indent + 2)
  if (Array.isArray(json)) {
    const items = (json as ReadonlyArray<Json>).map((element) => inner + pretty(element, indent + 2))
    return items.length === 0 ? "[]" : `[\n${items.join(",\n")}\n${" ".repeat(indent)}]`
  }
  const record = json as Record<string, Json>
  const items = Object.keys(record).map((key) => {
    const label = `${JSON.stringify(key)}: `
    return inner + label + pretty(record[key], indent + 2, label.length)
  })
  return items.length === 0 ? "{}" : `{\n${items.join(",\n")}\n${" ".repeat(indent)}}`
}

/**
 * A value as tagged JSON text: on one line, or for people (`pretty`).
 *
 * @internal
 */
export const stringify = (value: unknown, options?: { readonly pretty?: boolean }): string =>
  options?.pretty === true ? pretty(encode(value)) : JSON.stringify(encode(value))

// -----------------------------------------------------------------------------
// human formatting
// -----------------------------------------------------------------------------

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"]

/**
 * Bytes for people: `512 B`, `1.5 KiB`, `64.0 MiB`.
 *
 * @internal
 */
export const bytes = (n: number): string => {
  let value = n
  let unit = 0
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024
    unit++
  }
  return unit === 0 ? `${n} B` : `${value.toFixed(1)} ${UNITS[unit]}`
}

/**
 * Elapsed time for people: `0:07`, `12:34`, `1:02:03`.
 *
 * @internal
 */
export const elapsed = (millis: number): string => {
  const total = Math.floor(millis / 1000)
  const h = Math.floor(total / 3600)
  const m = Math.floor((total % 3600) / 60)
  const s = String(total % 60).padStart(2, "0")
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`
}

/**
 * The size column of a key: bytes for values and binaries, elements for logs.
 *
 * @internal
 */
export const sizeOf = (meta: KonserveStore.Meta): string =>
  meta.type === "log" ? `${meta.size} element${meta.size === 1 ? "" : "s"}` : `${meta.size} B`

/**
 * The header of `keys --long`.
 *
 * @internal
 */
export const LONG_HEADER = `${"KIND".padEnd(7)}${"SIZE".padStart(14)}  ${"LAST WRITE".padEnd(24)}  ${
  "EXPIRES".padEnd(24)
}  KEY`

/**
 * One row of `keys --long`: kind, size, last write, expiry, then the key
 * (last, so that the columns stay aligned while the listing streams), as
 * plain `keys` prints it (`keyLines.ts`).
 *
 * @internal
 */
export const longRow = (meta: KonserveStore.Meta): string =>
  `${meta.type.padEnd(7)}${sizeOf(meta).padStart(14)}  ${meta.lastWrite.toISOString().padEnd(24)}  ${
    (meta.expiresAt === undefined ? "-" : meta.expiresAt.toISOString()).padEnd(24)
  }  ${KeyLines.render(meta.key)}`

/**
 * A `Meta` as JSON (dates as ISO strings, the user meta in tagged form).
 *
 * @internal
 */
export const metaJson = (meta: KonserveStore.Meta): Json => ({
  key: meta.key,
  type: meta.type,
  size: meta.size,
  lastWrite: meta.lastWrite.toISOString(),
  version: meta.version,
  expiresAt: meta.expiresAt === undefined ? null : meta.expiresAt.toISOString(),
  meta: meta.user === undefined ? null : encode(meta.user)
})
