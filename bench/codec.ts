/**
 * The value codec's serializer, measured: cbor-x against cborg, each set up to
 * carry the whole storable domain (Map with any keys, Set, Date, bigint of any
 * size, -0, NaN, Uint8Array, nested undefined), then the codec as shipped
 * (domain check + cbor-x + header + compression above 4 KiB).
 *
 * Run: `npx tsx bench/codec.ts`. Prints the median time per operation.
 */
import * as CborX from "cbor-x"
import { Buffer } from "node:buffer"
import * as Os from "node:os"
import { performance } from "node:perf_hooks"
import * as Zlib from "node:zlib"
import * as Codec from "../src/internal/codec.js"
import { deepEqual } from "../test/utils/deepEqual.js"

interface Serializer {
  readonly name: string
  readonly encode: (value: unknown) => Uint8Array
  readonly decode: (bytes: Uint8Array) => unknown
}

// -----------------------------------------------------------------------------
// cbor-x, as configured in src/internal/codec.ts (without the -0 / far-Date paths)
// -----------------------------------------------------------------------------

const cborxEncoder = new CborX.Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false })
const cborxDecoder = new CborX.Decoder({ useRecords: false, mapsAsObjects: true, copyBuffers: true })

const cborx: Serializer = {
  name: "cbor-x",
  encode: (value) => cborxEncoder.encode(value),
  decode: (bytes) => cborxDecoder.decode(bytes)
}

// -----------------------------------------------------------------------------
// cborg: it has no tags by default, sorts map keys and cannot nest custom
// encoders, so the whole value is turned into tokens here; tags 2/3 for every
// bigint (cborg reads small integers back as numbers), 1 for Date, 258 for Set,
// 259 (over a flat key/value array) for Map; map sorting off to keep key order.
// cborg is not a dependency of the library: it is loaded only when installed.
// -----------------------------------------------------------------------------

type CborgTypeName =
  | "uint"
  | "negint"
  | "bytes"
  | "string"
  | "array"
  | "map"
  | "tag"
  | "float"
  | "true"
  | "false"
  | "null"
  | "undefined"

/** The part of cborg's API used here (declared locally so the bench compiles without cborg). */
interface CborgModule {
  readonly Token: new(type: object, value?: unknown) => object
  readonly Type: Readonly<Record<CborgTypeName, object>>
  readonly encode: (value: unknown, options: {
    readonly typeEncoders: Readonly<Record<string, (value: unknown) => unknown>>
    readonly mapSorter: undefined
  }) => Uint8Array
  readonly decode: (bytes: Uint8Array, options: { readonly tags: ReadonlyArray<(inner: never) => unknown> }) => unknown
}

const loadCborg = async (): Promise<CborgModule | undefined> => {
  const specifier: string = "cborg"
  try {
    return (await import(specifier)) as CborgModule
  } catch {
    return undefined
  }
}

const bigintBytes = (n: bigint): Uint8Array => {
  const out: Array<number> = []
  while (n > 0n) {
    out.push(Number(n & 0xffn))
    n >>= 8n
  }
  return Uint8Array.from(out.reverse())
}

const bytesBigint = (bytes: Uint8Array): bigint => {
  let n = 0n
  for (const byte of bytes) n = (n << 8n) | BigInt(byte)
  return n
}

const makeCborg = ({ Token, Type, decode, encode }: CborgModule): Serializer => {
  type Tokens = object | ReadonlyArray<Tokens>
  const toTokens = (value: unknown): Tokens => {
    switch (typeof value) {
      case "string":
        return new Token(Type.string, value)
      case "number":
        if (Number.isSafeInteger(value) && !Object.is(value, -0)) {
          return new Token(value >= 0 ? Type.uint : Type.negint, value)
        }
        return new Token(Type.float, value)
      case "boolean":
        return new Token(value ? Type.true : Type.false, value)
      case "undefined":
        return new Token(Type.undefined, undefined)
      case "bigint":
        return value >= 0n
          ? [new Token(Type.tag, 2), new Token(Type.bytes, bigintBytes(value))]
          : [new Token(Type.tag, 3), new Token(Type.bytes, bigintBytes(-1n - value))]
    }
    if (value === null) return new Token(Type.null, null)
    if (value instanceof Uint8Array) return new Token(Type.bytes, value)
    if (value instanceof Date) return [new Token(Type.tag, 1), new Token(Type.float, value.getTime() / 1000)]
    if (Array.isArray(value)) return [new Token(Type.array, value.length), value.map(toTokens)]
    if (value instanceof Set) {
      return [new Token(Type.tag, 258), new Token(Type.array, value.size), [...value].map(toTokens)]
    }
    if (value instanceof Map) {
      const flat: Array<Tokens> = []
      for (const [k, v] of value) flat.push(toTokens(k), toTokens(v))
      return [new Token(Type.tag, 259), new Token(Type.array, flat.length), flat]
    }
    const record = value as Record<string, unknown>
    const entries: Array<Tokens> = []
    for (const key in record) entries.push([new Token(Type.string, key), toTokens(record[key])])
    return [new Token(Type.map, entries.length), entries]
  }
  const typeEncoders = Object.fromEntries(
    ["Object", "Array", "Map", "Set", "Date", "bigint", "number", "Uint8Array", "Buffer", "string", "boolean", "null"]
      .map((name) => [name, toTokens])
  )
  const tags: Array<(inner: never) => unknown> = []
  tags[1] = (seconds: number) => new Date(Math.round(seconds * 1000))
  tags[2] = (bytes: Uint8Array) => bytesBigint(bytes)
  tags[3] = (bytes: Uint8Array) => -1n - bytesBigint(bytes)
  tags[258] = (elements: Array<unknown>) => new Set(elements)
  tags[259] = (flat: Array<unknown>) => {
    const map = new Map<unknown, unknown>()
    for (let i = 0; i < flat.length; i += 2) map.set(flat[i], flat[i + 1])
    return map
  }
  return {
    name: "cborg",
    encode: (value) => encode(value, { typeEncoders, mapSorter: undefined }),
    decode: (bytes) => decode(bytes, { tags })
  }
}

// -----------------------------------------------------------------------------
// the shipped codec
// -----------------------------------------------------------------------------

const shipped: Serializer = {
  name: "codec (shipped)",
  encode: (value) => {
    const encoded = Codec.encode(value)
    if (encoded._tag === "Left") throw new Error(encoded.left)
    return encoded.right
  },
  decode: (bytes) => {
    const decoded = Codec.decode(bytes)
    if (decoded._tag === "Left") throw new Error(decoded.left)
    return decoded.right
  }
}

// -----------------------------------------------------------------------------
// data
// -----------------------------------------------------------------------------

/** mulberry32: deterministic data, run after run. */
const random = (() => {
  let state = 0x2545f491
  return (): number => {
    state = (state + 0x6d2b79f5) | 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
})()

const WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo"]
const words = (n: number): string =>
  Array.from({ length: n }, () => WORDS[Math.floor(random() * WORDS.length)]).join(" ")
const int = (max: number): number => Math.floor(random() * max)

const item = (i: number) => ({
  id: i,
  sku: `SKU-${100000 + i}`,
  name: words(3),
  description: words(8),
  price: Math.round(random() * 100000) / 100,
  quantity: int(1000),
  active: random() < 0.5,
  created: new Date(1_600_000_000_000 + int(100_000_000_000)),
  tags: [words(1), words(1), words(1)],
  attributes: new Map<unknown, unknown>([["color", words(1)], ["size", int(50)], [int(10), words(1)]]),
  dimensions: { width: random() * 10, height: random() * 10, depth: random() * 10, unit: "cm" }
})

/** About 1 KB of CBOR: one record with a little of everything. */
const small = {
  id: "user-000042",
  name: "Ada Lovelace",
  email: "ada@example.com",
  age: 36,
  balance: 1234.56,
  verified: true,
  createdAt: new Date("2024-05-01T12:34:56.789Z"),
  roles: ["admin", "editor", "viewer"],
  address: { street: "12 St James's Square", city: "London", postcode: "SW1Y 4JH", country: "GB" },
  preferences: new Map<unknown, unknown>([["theme", "dark"], ["language", "en-GB"], [1, "first"]]),
  flags: new Set(["beta", "newsletter"]),
  avatar: Uint8Array.from({ length: 64 }, (_, i) => i),
  counter: 12345678901234567890n,
  history: Array.from({ length: 12 }, (_, i) => ({
    at: new Date(1_700_000_000_000 + i * 86_400_000),
    action: words(2),
    amount: i * 12.5
  }))
}

/** About 1 MB of CBOR: an array of records with strings, numbers, dates, maps, nested objects. */
const large = Array.from({ length: 3600 }, (_, i) => item(i))

// -----------------------------------------------------------------------------
// correctness over the domain
// -----------------------------------------------------------------------------

const domainCases: ReadonlyArray<readonly [string, unknown]> = [
  ["-0", -0],
  ["NaN, ±Infinity", [NaN, Infinity, -Infinity]],
  ["bigint 5n, -5n", [5n, -5n]],
  ["bigint 2^64 - 1, -(2^64)", [2n ** 64n - 1n, -(2n ** 64n)]],
  ["bigint ±2^200 + 1", [2n ** 200n + 1n, -(2n ** 200n) - 1n]],
  ["Map with object, array, number keys", new Map<unknown, unknown>([[{ a: 1 }, 1], [[1, 2], 2], [3, 3], ["3", 4]])],
  ["Set", new Set<unknown>([1, "1", { a: 1 }, [1]])],
  ["Date", new Date(1_234_567_890_123)],
  ["Date far (year 144350)", new Date(4_493_071_508_923_610)],
  ["invalid Date", new Date(NaN)],
  ["Uint8Array", new Uint8Array([0, 1, 255])],
  ["Buffer -> Uint8Array", Buffer.from([1, 2, 3])],
  ["object key order", { b: 1, a: 2, c: { z: 1, y: 2 } }],
  ["nested undefined", [undefined, { u: undefined }]]
]

const checkDomain = (serializer: Serializer): Array<string> => {
  const failures: Array<string> = []
  for (const [name, value] of domainCases) {
    try {
      const back = serializer.decode(serializer.encode(value))
      if (!deepEqual(back, value)) failures.push(name)
      else if (value instanceof Uint8Array && Object.getPrototypeOf(back) !== Uint8Array.prototype) {
        failures.push(`${name} (read back as ${(back as object).constructor.name})`)
      }
    } catch (error) {
      failures.push(`${name} (${error instanceof Error ? error.message : String(error)})`)
    }
  }
  return failures
}

// -----------------------------------------------------------------------------
// timing
// -----------------------------------------------------------------------------

const median = (xs: Array<number>): number => {
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]
}

/** Median time of one call of `f`, in microseconds. */
const time = (f: () => unknown, opsPerSample: number, samples: number): number => {
  for (let i = 0; i < Math.max(3, opsPerSample); i++) f()
  const results: Array<number> = []
  for (let s = 0; s < samples; s++) {
    const start = performance.now()
    for (let i = 0; i < opsPerSample; i++) f()
    results.push(((performance.now() - start) * 1000) / opsPerSample)
  }
  return median(results)
}

const format = (us: number): string => us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(1)} µs`

const row = (serializer: string, data: string, bytes: number, enc: number, dec: number): void =>
  console.log(
    `  ${serializer.padEnd(16)} ${data.padEnd(6)} ${String(bytes).padStart(9)} ${format(enc).padStart(10)} ${
      format(dec).padStart(10)
    }`
  )

const run = async (): Promise<void> => {
  const cborgModule = await loadCborg()
  const serializers = cborgModule === undefined ? [cborx, shipped] : [cborx, makeCborg(cborgModule), shipped]
  console.log(`Node ${process.version}, ${Os.cpus().length} cores (${Os.cpus()[0]?.model ?? "?"})`)
  console.log(`cbor-x native string acceleration: ${CborX.isNativeAccelerationEnabled}`)
  console.log()
  console.log("Domain round-trips (failures):")
  if (cborgModule === undefined) {
    console.log("  (cborg is not installed: skipped; `npm i --no-save cborg@4.2.15` to compare)")
  }
  for (const serializer of serializers) {
    const failures = checkDomain(serializer)
    console.log(`  ${serializer.name.padEnd(16)} ${failures.length === 0 ? "none" : failures.join("; ")}`)
  }
  console.log()
  const datasets = [
    { name: "small", value: small, ops: 2000, samples: 21 },
    { name: "large", value: large, ops: 1, samples: 21 }
  ]
  console.log("Medians per operation:")
  console.log(
    `  ${"serializer".padEnd(16)} ${"data".padEnd(6)} ${"bytes".padStart(9)} ${"encode".padStart(10)} ${
      "decode".padStart(10)
    }`
  )
  for (const { name, ops, samples, value } of datasets) {
    for (const serializer of serializers) {
      const bytes = serializer.encode(value)
      const enc = time(() => serializer.encode(value), ops, samples)
      const dec = time(() => serializer.decode(bytes), ops, samples)
      row(serializer.name, name, bytes.byteLength, enc, dec)
    }
    const body = cborx.encode(value)
    if (body.byteLength > Codec.COMPRESSION_THRESHOLD) {
      const deflated = Zlib.deflateSync(body, { level: Codec.COMPRESSION_LEVEL })
      const enc = time(() => Zlib.deflateSync(body, { level: Codec.COMPRESSION_LEVEL }), ops, samples)
      const dec = time(() => Zlib.inflateSync(deflated), ops, samples)
      row(`(of which zlib)`, name, deflated.byteLength, enc, dec)
    }
  }
}

await run()
