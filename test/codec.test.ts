import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Option from "effect/Option"
import { Buffer } from "node:buffer"
import { randomBytes } from "node:crypto"
import * as Zlib from "node:zlib"
import * as Codec from "../src/internal/codec.js"
import { deepEqual } from "./utils/deepEqual.js"
import { storableValues } from "./utils/values.js"

// -----------------------------------------------------------------------------
// helpers
// -----------------------------------------------------------------------------

const encodeOk = (value: unknown): Uint8Array => {
  const encoded = Codec.encode(value)
  if (Either.isLeft(encoded)) throw new Error(`expected encode to succeed, got: ${encoded.left}`)
  return encoded.right
}

const decodeOk = (bytes: Uint8Array): unknown => {
  const decoded = Codec.decode(bytes)
  if (Either.isLeft(decoded)) throw new Error(`expected decode to succeed, got: ${decoded.left}`)
  return decoded.right
}

const roundTrip = (value: unknown): unknown => decodeOk(encodeOk(value))

const encodeError = (value: unknown): string => {
  const encoded = Codec.encode(value)
  if (Either.isRight(encoded)) throw new Error("expected encode to fail")
  return encoded.left
}

const decodeError = (bytes: Uint8Array): string => {
  const decoded = Codec.decode(bytes)
  if (Either.isRight(decoded)) throw new Error(`expected decode to fail, got ${String(decoded.right)}`)
  return decoded.left
}

/** Header + raw body, for hand-made inputs. */
const framed = (header: ReadonlyArray<number>, body: Uint8Array | ReadonlyArray<number>): Uint8Array => {
  const out = new Uint8Array(header.length + body.length)
  out.set(header)
  out.set(body, header.length)
  return out
}

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, "hex"))

/** Deterministic bytes that deflate cannot shrink. */
const noise = (length: number): Uint8Array => {
  const out = new Uint8Array(length)
  let state = 0x9e3779b9
  for (let i = 0; i < length; i++) {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    out[i] = state & 0xff
  }
  return out
}

// -----------------------------------------------------------------------------
// arbitraries over the whole domain
// -----------------------------------------------------------------------------

const { nested, top } = storableValues()

// -----------------------------------------------------------------------------
// deepEqual (the helper the other suites rely on must be able to say "no")
// -----------------------------------------------------------------------------

describe("deepEqual", () => {
  it("tells apart what the codec must keep apart", () => {
    expect(deepEqual(-0, 0)).toBe(false)
    expect(deepEqual(NaN, NaN)).toBe(true)
    expect(deepEqual(1, 1n)).toBe(false)
    expect(deepEqual(new Date(1), new Date(1))).toBe(true)
    expect(deepEqual(new Date(1), new Date(2))).toBe(false)
    expect(deepEqual(new Date(NaN), new Date(NaN))).toBe(true)
    expect(deepEqual(new Date(1), 1)).toBe(false)
    expect(deepEqual(new Uint8Array([1, 2]), Buffer.from([1, 2]))).toBe(true)
    expect(deepEqual(new Uint8Array([1, 2]), new Uint8Array([1, 3]))).toBe(false)
    expect(deepEqual(new Uint8Array([1, 2]), new Int8Array([1, 2]))).toBe(false)
    expect(deepEqual(new Uint8Array([1, 2]), [1, 2])).toBe(false)
    expect(deepEqual({ a: 1, b: 2 }, { a: 1, b: 2 })).toBe(true)
    expect(deepEqual({ a: 1, b: 2 }, { b: 2, a: 1 })).toBe(false)
    expect(deepEqual({ u: undefined }, {})).toBe(false)
    expect(deepEqual(Object.assign(Object.create(null), { a: 1 }), { a: 1 })).toBe(true)
    expect(deepEqual([1, [2]], [1, [2]])).toBe(true)
    expect(deepEqual([1, [2]], [1, [3]])).toBe(false)
    expect(deepEqual([], {})).toBe(false)
    expect(deepEqual(new Map([[{ a: 1 }, 1]]), new Map([[{ a: 1 }, 1]]))).toBe(true)
    expect(deepEqual(new Map([[{ a: 1 }, 1]]), new Map([[{ a: 2 }, 1]]))).toBe(false)
    expect(deepEqual(new Map([[{ a: 1 }, 1]]), new Map([[{ a: 1 }, 2]]))).toBe(false)
    expect(deepEqual(new Map([["a", 1]]), { a: 1 })).toBe(false)
    expect(deepEqual(new Set([[1], [1]]), new Set([[1], [1]]))).toBe(true)
    expect(deepEqual(new Set([[1], [1]]), new Set([[1], [2]]))).toBe(false)
    expect(deepEqual(new Set([1]), [1])).toBe(false)
  })
})

// -----------------------------------------------------------------------------
// round trips
// -----------------------------------------------------------------------------

describe("round trip", () => {
  const cases: ReadonlyArray<readonly [string, unknown]> = [
    ["null", null],
    ["booleans", [true, false]],
    ["-0", -0],
    ["-0 nested", { a: [1, -0, 2.5] }],
    ["NaN and infinities", [NaN, Infinity, -Infinity]],
    ["numbers of every width", [0, 23, 24, 255, 256, 65535, 65536, 2 ** 32, 2 ** 53 - 1, -(2 ** 53), 0.1, 1e308]],
    ["small bigints", [0n, 5n, -5n]],
    ["64-bit bigints", [2n ** 64n - 1n, -(2n ** 64n), 2n ** 63n]],
    ["huge bigints", [2n ** 200n + 12345n, -(2n ** 300n) - 1n]],
    ["strings", ["", "a", "héllo", "😀 emoji", "x".repeat(100_000)]],
    ["bytes", new Uint8Array([0, 1, 255])],
    ["empty bytes", new Uint8Array(0)],
    ["a Date", new Date(1_234_567_890_123)],
    ["an invalid Date", new Date(NaN)],
    ["Dates at the ends of the range", [new Date(8.64e15), new Date(-8.64e15), new Date(8.64e15 - 1)]],
    ["a Date tag 1 would round", new Date(4_493_071_508_923_610)],
    [
      "Map with keys of every kind",
      new Map<unknown, unknown>([[{ a: 1 }, 1], [[1, 2], 2], [3, 3], ["3", 4], [null, 5]])
    ],
    ["Map with structurally equal keys", new Map<unknown, unknown>([[{ a: 1 }, "first"], [{ a: 1 }, "second"]])],
    ["Set", new Set<unknown>([1, "1", { a: 1 }, [1], new Set([2])])],
    ["nested undefined", [undefined, { u: undefined }, new Map([[undefined, undefined]])]],
    ["empty containers", [[], {}, new Map(), new Set()]],
    ["object key order", { b: 1, a: 2, 10: 3, 2: 4, c: { z: 1, y: 2 } }],
    ["awkward property names", { "": 1, "a b": 2, "constructor": 3, "hasOwnProperty": 4, "toString": 5 }],
    ["a deep value", JSON.parse("[".repeat(Codec.MAX_DEPTH) + "]".repeat(Codec.MAX_DEPTH))]
  ]

  for (const [name, value] of cases) {
    it(name, () => {
      expect(deepEqual(roundTrip(value), value)).toBe(true)
    })
  }

  it("keeps the kinds: bigint stays bigint, number stays number, -0 keeps its sign", () => {
    const back = roundTrip([5n, 5, -0, 2 ** 60]) as Array<unknown>
    expect(typeof back[0]).toBe("bigint")
    expect(typeof back[1]).toBe("number")
    expect(Object.is(back[2], -0)).toBe(true)
    expect(back[3]).toBe(2 ** 60)
  })

  it("reads a Buffer back as a plain Uint8Array", () => {
    const back = roundTrip({ b: Buffer.from([1, 2, 3]) }) as { b: Uint8Array }
    expect(Object.getPrototypeOf(back.b)).toBe(Uint8Array.prototype)
    expect(Array.from(back.b)).toEqual([1, 2, 3])
  })

  it("reads bytes back as plain Uint8Arrays even from a Buffer of stored bytes", () => {
    const back = decodeOk(Buffer.from(encodeOk([new Uint8Array([7])]))) as Array<Uint8Array>
    expect(Object.getPrototypeOf(back[0])).toBe(Uint8Array.prototype)
  })

  it("reads a null-prototype object back as an ordinary object with the same entries", () => {
    const value = Object.assign(Object.create(null) as object, { x: 1, y: [2] })
    const back = roundTrip(value)
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype)
    expect(back).toEqual({ x: 1, y: [2] })
  })

  it("reads array holes back as undefined", () => {
    // eslint-disable-next-line no-sparse-arrays
    const back = roundTrip([1, , 3]) as Array<unknown>
    expect(back.length).toBe(3)
    expect(1 in back).toBe(true)
    expect(back[1]).toBeUndefined()
  })

  it("ignores symbol-keyed properties", () => {
    const back = roundTrip({ a: 1, [Symbol("s")]: () => 1 })
    expect(Object.getOwnPropertySymbols(back)).toEqual([])
    expect(back).toEqual({ a: 1 })
  })

  it("writes a value seen twice (not a cycle) twice and reads back two copies", () => {
    const shared = { n: 1 }
    const back = roundTrip({ a: shared, b: [shared], c: new Map([[shared, shared]]) }) as {
      a: { n: number }
      b: Array<{ n: number }>
    }
    expect(back).toEqual({ a: { n: 1 }, b: [{ n: 1 }], c: new Map([[{ n: 1 }, { n: 1 }]]) })
    expect(back.a).not.toBe(back.b[0])
  })

  it("never aliases: decoded bytes are fresh copies of neither the input nor the stored bytes", () => {
    const input = new Uint8Array([1, 2, 3])
    const stored = encodeOk({ bytes: input })
    const first = decodeOk(stored) as { bytes: Uint8Array }
    expect(first.bytes).not.toBe(input)
    expect(first.bytes.buffer).not.toBe(input.buffer)
    expect(first.bytes.buffer).not.toBe(stored.buffer)
    first.bytes[0] = 99
    input[1] = 99
    const second = decodeOk(stored) as { bytes: Uint8Array }
    expect(Array.from(second.bytes)).toEqual([1, 2, 3])
  })

  it("returns a fresh value on every decode", () => {
    const stored = encodeOk({ list: [1] })
    const a = decodeOk(stored) as { list: Array<number> }
    const b = decodeOk(stored) as { list: Array<number> }
    expect(a).not.toBe(b)
    a.list.push(2)
    expect(b.list).toEqual([1])
  })

  it("encodes the same value to the same bytes", () => {
    const value = { a: [1, 2n, "x", new Date(5), new Map([[1, new Set([2])]])] }
    expect(encodeOk(value)).toEqual(encodeOk(value))
  })

  it.prop("decode(encode(v)) is deeply equal to v, over the whole domain", [top], ([value]) => {
    const back = roundTrip(value)
    if (!deepEqual(back, value)) {
      throw new Error(`round trip changed the value: ${String(back)}`)
    }
  }, { fastCheck: { numRuns: 500 } })

  it.prop("nested undefined round-trips anywhere", [nested], ([value]) => {
    expect(deepEqual(roundTrip([value]), [value])).toBe(true)
  }, { fastCheck: { numRuns: 200 } })
})

// -----------------------------------------------------------------------------
// out of the domain
// -----------------------------------------------------------------------------

class Point {
  constructor(readonly x: number) {}
}

class MyDate extends Date {}
class MyArray extends Array<number> {}
class MyMap extends Map<string, number> {}

describe("out of the domain", () => {
  const rejected: ReadonlyArray<readonly [string, unknown, string]> = [
    ["undefined at the top", undefined, "undefined at $ (only nested undefined is storable)"],
    ["a function at a path", { a: { b: [0, 1, () => 1] } }, "a function at $.a.b[2]"],
    ["a symbol", [Symbol("s")], "a symbol at $[0]"],
    ["a class instance", { p: new Point(1) }, "an instance of Point at $.p"],
    ["a RegExp", /x/, "an instance of RegExp at $"],
    ["an Error", { e: new Error("boom") }, "an instance of Error at $.e"],
    ["a WeakMap", [new WeakMap()], "an instance of WeakMap at $[0]"],
    ["a Promise", { p: Promise.resolve(1) }, "an instance of Promise at $.p"],
    ["an Int16Array", new Int16Array(2), "an instance of Int16Array at $"],
    ["a Uint8ClampedArray", new Uint8ClampedArray(2), "an instance of Uint8ClampedArray at $"],
    ["an ArrayBuffer", new ArrayBuffer(2), "an instance of ArrayBuffer at $"],
    ["a DataView", new DataView(new ArrayBuffer(2)), "an instance of DataView at $"],
    ["a boxed string", { s: new String("x") }, "an instance of String at $.s"],
    ["a Date subclass", new MyDate(0), "an instance of MyDate at $"],
    ["an Array subclass", MyArray.from([1]), "an instance of MyArray at $"],
    ["a Map subclass", new MyMap(), "an instance of MyMap at $"],
    ["an anonymous prototype", Object.create({}), "an object with a non-plain prototype at $"],
    ["an Option", { o: Option.some(1) }, "an Option (Option.some/none) at $.o"],
    ["Option.none", [Option.none()], "an Option (Option.some/none) at $[0]"],
    ["an Either", Either.right(1), "an Either (Either.right/left) at $"],
    ["an Effect", { e: Effect.succeed(1) }, "an Effect at $.e"],
    ["a bad Map key", new Map([[() => 1, 1]]), "a function at $.keys()[0]"],
    ["a bad Map value under a string key", new Map([["k", Symbol()]]), "a symbol at $.get(\"k\")"],
    ["a bad Map value under a number key", new Map([[3, Symbol()]]), "a symbol at $.get(3)"],
    [
      "a bad Map value under an object key",
      new Map<unknown, unknown>([[{}, 1], [{}, Symbol()]]),
      "a symbol at $.values()[1]"
    ],
    ["a bad Set element", { s: new Set([1, Symbol()]) }, "a symbol at $.s.values()[1]"],
    ["an odd property name", { "a b": { "c": () => 1 } }, "a function at $[\"a b\"].c"],
    [
      "long keys, cut short in the path",
      { ["k".repeat(100)]: new Map([["m".repeat(100), { ["x y".repeat(50)]: Symbol() }]]) },
      `a symbol at $.${"k".repeat(40)}....get("${"m".repeat(40)}"...)["${"x y".repeat(13)}x"...]`
    ],
    ["a lone surrogate", { s: "ok\uD800" }, "a string with an unpaired UTF-16 surrogate at $.s"],
    [
      "a lone surrogate in a property name",
      { ["\uDC00"]: 1 },
      "a property name with an unpaired UTF-16 surrogate at $[\"\\udc00\"]"
    ],
    [
      "an own __proto__ property",
      { a: JSON.parse("{\"__proto__\": 1}") },
      "a property named \"__proto__\" at $.a.__proto__"
    ],
    [
      "nesting deeper than MAX_DEPTH",
      JSON.parse("[".repeat(Codec.MAX_DEPTH + 1) + "]".repeat(Codec.MAX_DEPTH + 1)),
      `a value nested deeper than ${Codec.MAX_DEPTH} levels at $${"[0]".repeat(Codec.MAX_DEPTH)}`
    ]
  ]

  for (const [name, value, reason] of rejected) {
    it(name, () => {
      expect(encodeError(value)).toBe(reason)
    })
  }

  it("rejects a cycle through an object", () => {
    const a: Record<string, unknown> = { x: 1 }
    a.self = { inner: a }
    expect(encodeError({ root: a })).toBe("a cycle at $.root.self.inner: it refers back to its ancestor $.root")
  })

  it("rejects a cycle through an array at the top", () => {
    const a: Array<unknown> = []
    a.push(a)
    expect(encodeError(a)).toBe("a cycle at $[0]: it refers back to its ancestor $")
  })

  it("rejects a cycle through a Map value, a Map key and a Set", () => {
    const m = new Map<unknown, unknown>()
    m.set("me", m)
    expect(encodeError(m)).toBe("a cycle at $.get(\"me\"): it refers back to its ancestor $")
    const k = new Map<unknown, unknown>()
    k.set(k, 1)
    expect(encodeError(k)).toBe("a cycle at $.keys()[0]: it refers back to its ancestor $")
    const s = new Set<unknown>()
    s.add(s)
    expect(encodeError([s])).toBe("a cycle at $[0].values()[0]: it refers back to its ancestor $[0]")
  })

  it("turns a throwing getter into a Left", () => {
    const value = {
      get boom(): number {
        throw new Error("getter failed")
      }
    }
    expect(encodeError(value)).toBe("the value could not be walked: getter failed")
  })

  it.prop("rejects a function planted anywhere, naming it", [top, FastCheck.nat()], ([value, seed]) => {
    // plant into the first container found along a pseudo-random walk, or wrap
    const planted = plant(value, seed)
    expect(encodeError(planted)).toMatch(/^a function at \$/)
  }, { fastCheck: { numRuns: 200 } })
})

/** Returns a copy of `value` with a function put into one of its containers (or into a new array around it). */
const plant = (value: unknown, seed: number): unknown => {
  const f = () => 1
  if (Array.isArray(value)) {
    if (value.length > 0 && seed % 2 === 0) {
      const i = seed % value.length
      return value.map((x, j) => j === i ? plant(x, seed >>> 1) : x)
    }
    return [...value, f]
  }
  if (value instanceof Map) return new Map([...value, ["planted", f]])
  if (value instanceof Set) return new Set([...value, f])
  if (typeof value === "object" && value !== null && Object.getPrototypeOf(value) !== Uint8Array.prototype) {
    if (!(value instanceof Date)) return { ...value, planted: f }
  }
  return [value, f]
}

// -----------------------------------------------------------------------------
// header and compression
// -----------------------------------------------------------------------------

describe("header", () => {
  it("is version 1, CBOR, no compression, no encryption for a small value", () => {
    const bytes = encodeOk({ a: 1 })
    expect(Array.from(bytes.subarray(0, Codec.HEADER_SIZE))).toEqual([1, 1, 0, 0])
    // the rest is plain CBOR: a one-entry map (0xb9 0x0001), "a", 1
    expect(Buffer.from(bytes.subarray(Codec.HEADER_SIZE)).toString("hex")).toBe("b90001616101")
  })

  it("compresses a compressible body above the threshold, with deflate", () => {
    const value = { text: "konserve ".repeat(2000) }
    const bytes = encodeOk(value)
    expect(bytes[2]).toBe(Codec.COMPRESSION_DEFLATE)
    expect(bytes.byteLength).toBeLessThan(2000)
    expect(Buffer.from(Zlib.inflateSync(bytes.subarray(Codec.HEADER_SIZE))).byteLength).toBeGreaterThan(18_000)
    expect(deepEqual(decodeOk(bytes), value)).toBe(true)
  })

  it("does not compress a body above the threshold that deflate cannot shrink", () => {
    const value = noise(20_000)
    const bytes = encodeOk(value)
    expect(bytes[2]).toBe(Codec.COMPRESSION_NONE)
    expect(bytes.byteLength).toBe(Codec.HEADER_SIZE + 3 + 20_000) // byte string header: 0x59 + 2 length bytes
    expect(deepEqual(decodeOk(bytes), value)).toBe(true)
  })

  it("compresses only above the threshold", () => {
    // a text string of n < 65536 bytes is n + 3 bytes of CBOR
    const at = encodeOk("a".repeat(Codec.COMPRESSION_THRESHOLD - 3))
    expect(at.byteLength).toBe(Codec.HEADER_SIZE + Codec.COMPRESSION_THRESHOLD)
    expect(at[2]).toBe(Codec.COMPRESSION_NONE)
    const above = encodeOk("a".repeat(Codec.COMPRESSION_THRESHOLD - 2))
    expect(above[2]).toBe(Codec.COMPRESSION_DEFLATE)
    expect(above.byteLength).toBeLessThan(200)
  })

  it.prop("a compressed encoding is always smaller than the uncompressed one", [
    top,
    FastCheck.integer({ min: 0, max: 6000 })
  ], ([value, noiseBytes]) => {
    const big = [value, "padding ".repeat(600), noise(noiseBytes)]
    const bytes = encodeOk(big)
    if (bytes[2] === Codec.COMPRESSION_DEFLATE) {
      const body = Zlib.inflateSync(bytes.subarray(Codec.HEADER_SIZE))
      expect(bytes.byteLength - Codec.HEADER_SIZE).toBeLessThan(body.byteLength)
      expect(body.byteLength).toBeGreaterThan(Codec.COMPRESSION_THRESHOLD)
    }
    expect(deepEqual(decodeOk(bytes), big)).toBe(true)
  }, { fastCheck: { numRuns: 50 } })
})

describe("decoding bad bytes", () => {
  const good = encodeOk({ a: [1, 2, 3], s: "text" })

  const bad: ReadonlyArray<readonly [string, Uint8Array, string | RegExp]> = [
    ["no bytes", new Uint8Array(0), "truncated: 0 bytes, the header alone is 4"],
    ["a short header", new Uint8Array([1, 1, 0]), "truncated: 3 bytes, the header alone is 4"],
    ["a header and no body", new Uint8Array([1, 1, 0, 0]), /^corrupt CBOR body: /],
    ["an unknown version", framed([2, 1, 0, 0], [0xf6]), "unknown format version 2 (this library reads version 1)"],
    ["version 0", framed([0, 1, 0, 0], [0xf6]), "unknown format version 0 (this library reads version 1)"],
    ["an unknown serializer", framed([1, 2, 0, 0], [0xf6]), "unknown serializer id 2 (known: 1 = CBOR)"],
    ["an unknown compression", framed([1, 1, 7, 0], [0xf6]), "unknown compression id 7 (known: 0 = none, 1 = deflate)"],
    ["an encryption id", framed([1, 1, 0, 1], [0xf6]), "unknown encryption id 1 (known: 0 = none)"],
    ["a truncated body", good.subarray(0, good.byteLength - 1), /^corrupt CBOR body: /],
    ["a trailing byte", framed(Array.from(good), [0]), /^corrupt CBOR body: /],
    ["a reserved CBOR token", framed([1, 1, 0, 0], [0x1c]), /^corrupt CBOR body: /],
    ["compression flag over a plain body", framed([1, 1, 1, 0], good.subarray(4)), /^corrupt compressed body: /],
    ["undefined at the top", framed([1, 1, 0, 0], [0xf7]), /outside the storable domain: undefined at \$/],
    [
      "an Error (tag 27)",
      framed([1, 1, 0, 0], hex("d81b8263466f6f6162")),
      /^corrupt CBOR body: a CBOR tag 27, which this library never writes$/
    ],
    [
      "an unknown tag",
      framed([1, 1, 0, 0], hex("d9ea6001")),
      /^corrupt CBOR body: a CBOR tag 60000, which this library never writes$/
    ],
    [
      "a typed array (tag 72)",
      framed([1, 1, 0, 0], hex("d8484401020304")),
      /^corrupt CBOR body: a CBOR tag 72, which this library never writes$/
    ]
  ]

  for (const [name, bytes, reason] of bad) {
    it(name, () => {
      const error = decodeError(bytes)
      if (typeof reason === "string") expect(error).toBe(reason)
      else expect(error).toMatch(reason)
    })
  }

  it("rejects a corrupt compressed body", () => {
    const bytes = encodeOk({ text: "konserve ".repeat(2000) })
    expect(bytes[2]).toBe(Codec.COMPRESSION_DEFLATE)
    const corrupt = Uint8Array.from(bytes)
    corrupt[corrupt.byteLength - 1] ^= 0xff // the Adler-32 checksum
    expect(decodeError(corrupt)).toMatch(/^corrupt compressed body: /)
    expect(decodeError(bytes.subarray(0, bytes.byteLength - 10))).toMatch(/^corrupt compressed body: /)
    expect(decodeError(framed(Array.from(bytes), [1, 2, 3]))).toBe("corrupt compressed body: 3 trailing bytes")
  })

  it.prop("rejects every proper prefix of an encoding", [top, FastCheck.double({ min: 0, max: 1 })], ([value, at]) => {
    const bytes = encodeOk(value)
    const cut = Math.floor(at * (bytes.byteLength - 1))
    expect(Either.isLeft(Codec.decode(bytes.subarray(0, cut)))).toBe(true)
  }, { fastCheck: { numRuns: 300 } })

  it.prop(
    "rejects an unknown id in any header byte",
    [top, FastCheck.integer({ min: 0, max: 3 }), FastCheck.integer({ min: 2, max: 255 })],
    ([value, index, id]) => {
      const bytes = Uint8Array.from(encodeOk(value))
      bytes[index] = index === 3 ? id - 1 : id
      expect(decodeError(bytes)).toMatch(/^unknown (format version|serializer id|compression id|encryption id) /)
    },
    { fastCheck: { numRuns: 100 } }
  )
})

describe("hostile bytes: bounded memory, never a throw", () => {
  it("a decompression bomb fails at the limit, without inflating it", () => {
    // 256 MiB of zeros deflate to ~260 KB: one stored item
    const body = Zlib.deflateSync(Buffer.alloc(256 * 1024 * 1024), { level: 9 })
    const bomb = framed([1, 1, 1, 0], body)
    expect(bomb.byteLength).toBeLessThan(400_000)
    const before = process.memoryUsage().rss
    expect(Codec.decode(bomb, { maxBytes: 1024 * 1024 })).toEqual(
      Either.left(`the compressed body inflates past ${1024 * 1024 - Codec.HEADER_SIZE} bytes (the limit)`)
    )
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * 1024 * 1024)
  })

  it("a stored value over the limit fails before it is decoded; one at the limit decodes", () => {
    const bytes = encodeOk("x".repeat(1000))
    expect(Either.isLeft(Codec.decode(bytes, { maxBytes: bytes.byteLength - 1 }))).toBe(true)
    expect(Codec.decode(bytes, { maxBytes: bytes.byteLength })).toEqual(Either.right("x".repeat(1000)))
  })

  it("sizes count the encoded bytes before compression", () => {
    const compressible = Either.getOrThrow(Codec.encodeSized("x".repeat(100_000)))
    expect(compressible.bytes[2]).toBe(Codec.COMPRESSION_DEFLATE)
    expect(compressible.size).toBe(Codec.HEADER_SIZE + 5 + 100_000) // text header: 0x7a + 4 length bytes
    expect(compressible.bytes.byteLength).toBeLessThan(1_000)
    const random = Either.getOrThrow(Codec.encodeSized(new Uint8Array(randomBytes(4000))))
    expect(random.size).toBe(random.bytes.byteLength)
    // a compressed value decodes within a limit of its size, not one of its stored bytes
    expect(Either.isRight(Codec.decode(compressible.bytes, { maxBytes: compressible.size }))).toBe(true)
    expect(Either.isLeft(Codec.decode(compressible.bytes, { maxBytes: compressible.size - 1 }))).toBe(true)
  })

  const adversarial: ReadonlyArray<readonly [string, Uint8Array]> = [
    ["an array that claims 2^32 - 1 elements", framed([1, 1, 0, 0], hex("9affffffff"))],
    ["an array that claims 2^64 - 1 elements", framed([1, 1, 0, 0], hex("9bffffffffffffffff"))],
    ["a string that claims 2^32 - 1 bytes", framed([1, 1, 0, 0], hex("7affffffff"))],
    ["a map that claims 2^32 - 1 pairs", framed([1, 1, 0, 0], hex("baffffffff"))],
    ["a byte string that claims 2^32 - 1 bytes", framed([1, 1, 0, 0], hex("5affffffff"))],
    ["arrays nested 100,000 deep", framed([1, 1, 0, 0], new Uint8Array(100_000).fill(0x81))],
    ["indefinite arrays nested 100,000 deep", framed([1, 1, 0, 0], new Uint8Array(100_000).fill(0x9f))],
    ["tags nested 100,000 deep", framed([1, 1, 0, 0], new Uint8Array(100_000).fill(0xc6))],
    ["a break code alone", framed([1, 1, 0, 0], hex("ff"))],
    ["a Set tag around a number", framed([1, 1, 0, 0], hex("d9010201"))],
    ["a Map tag around a string", framed([1, 1, 0, 0], hex("d9010361"))]
  ]
  for (const [name, bytes] of adversarial) {
    it(`${name}: a Left, no throw, bounded memory`, () => {
      const before = process.memoryUsage().rss
      expect(Either.isLeft(Codec.decode(bytes, { maxBytes: 64 * 1024 * 1024 }))).toBe(true)
      expect(process.memoryUsage().rss - before).toBeLessThan(256 * 1024 * 1024)
    })
  }

  it.prop(
    "random bytes behind a valid header decode to a storable value or a Left, never a throw",
    [FastCheck.uint8Array({ maxLength: 300 }), FastCheck.constantFrom(0, 1)],
    ([body, compression]) => {
      const bytes = framed([1, 1, compression, 0], compression === 1 ? Zlib.deflateSync(body) : body)
      const result = Codec.decode(bytes, { maxBytes: 1024 * 1024 })
      if (Either.isRight(result)) expect(Either.isRight(Codec.encode(result.right))).toBe(true)
    },
    { fastCheck: { numRuns: 2000 } }
  )

  it.prop(
    "a valid encoding with random bytes flipped decodes to a storable value or a Left",
    [top, FastCheck.array(FastCheck.tuple(FastCheck.nat(), FastCheck.integer({ min: 0, max: 255 })), { maxLength: 8 })],
    ([value, flips]) => {
      const bytes = Uint8Array.from(encodeOk(value))
      for (const [at, byte] of flips) {
        bytes[Codec.HEADER_SIZE + (at % Math.max(1, bytes.byteLength - Codec.HEADER_SIZE))] = byte
      }
      const result = Codec.decode(bytes, { maxBytes: 1024 * 1024 })
      if (Either.isRight(result)) expect(Either.isRight(Codec.encode(result.right))).toBe(true)
    },
    { fastCheck: { numRuns: 500 } }
  )
})
