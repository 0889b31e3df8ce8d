/**
 * Decoding is linear (API.md, "Behaviour that every implementation keeps"):
 * the codec refuses what `encode` never writes before cbor-x builds it —
 * shared references, packed values, records, counts the bytes cannot hold —
 * so that no stored bytes cost more time or memory than their size (issue 14,
 * item 4). The store-level cases (a value, a meta) are in test/reader.test.ts.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import { Buffer } from "node:buffer"
import { scan } from "../src/internal/cborScan.js"
import * as Codec from "../src/internal/codec.js"
import { sharedPairs } from "./utils/hostileBytes.js"
import { storableValues } from "./utils/values.js"

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from("01010000" + s, "hex"))

const timed = <A>(f: () => A): { readonly result: A; readonly ms: number } => {
  const start = performance.now()
  const result = f()
  return { result, ms: performance.now() - start }
}

describe("decoding is linear", () => {
  for (const levels of [20, 24, 30]) {
    it(`${levels} levels of self-referencing pairs (shared references, tags 28/29) fail with a reason, at once`, () => {
      const bytes = sharedPairs(levels)
      expect(bytes.byteLength).toBeLessThan(200)
      const { ms, result } = timed(() => Codec.decode(bytes, { maxBytes: 64 * 1024 * 1024 }))
      expect(result).toEqual(
        Either.left("corrupt CBOR body: a CBOR shared reference (tag 28), which this library never writes")
      )
      // before the fix: 20 levels ~0.1 s, 24 ~1-2 s, 30 minutes (each level doubles it)
      expect(ms).toBeLessThan(2000)
    })
  }

  it("a reference alone (tag 29) is refused too", () => {
    expect(Codec.decode(hex("d81d00"))).toEqual(
      Either.left("corrupt CBOR body: a CBOR shared reference (tag 29), which this library never writes")
    )
  })

  const neverWritten: ReadonlyArray<readonly [string, string, RegExp]> = [
    ["a packed table (tag 51)", "d83382816161808080", /a CBOR tag 51, /],
    ["a packed reference (tag 6)", "c600", /a CBOR tag 6, /],
    ["a packed value (simple value 0)", "8280e0", /a CBOR simple value at byte 2, /],
    ["a one-byte simple value", "f820", /a CBOR simple value at byte 0, /],
    ["a record definition (tag 0xdfff)", "d9dfff83190e0081616101", /a CBOR tag 57343, /],
    ["a record reference (tag 0xe000)", "d9e0008101", /a CBOR tag 57344, /],
    ["bundled strings (tag 0xdff9)", "d9dff98261616162", /a CBOR tag 57337, /],
    ["a legacy record (tag 105)", "d86983190e0081616101", /a CBOR tag 105, /],
    ["a string reference (tag 25)", "d81900", /a CBOR tag 25, /],
    ["a map claiming more entries than bytes left", "a5616101", /a map of 5 entries at byte 1, with 3 bytes left/],
    ["an array claiming more items than bytes left", "8a0101", /an array of 10 items at byte 1, with 2 bytes left/]
  ]
  for (const [name, body, reason] of neverWritten) {
    it(`${name}: refused before cbor-x reads it`, () => {
      const decoded = Codec.decode(hex(body))
      if (Either.isRight(decoded)) throw new Error("expected decode to fail")
      expect(decoded.left).toMatch(reason)
    })
  }

  it.prop("everything encode writes passes the scan", [storableValues().top], ([value]) => {
    const encoded = Either.getOrThrow(Codec.encode(value))
    // compressed bodies are scanned after inflating, as decode does
    expect(Either.isRight(Codec.decode(encoded))).toBe(true)
    if (encoded[2] === Codec.COMPRESSION_NONE) expect(scan(encoded.subarray(Codec.HEADER_SIZE))).toBeUndefined()
  }, { fastCheck: { numRuns: 300 } })

  it.prop(
    "random bytes: the scan never throws, and what it passes cbor-x decodes or refuses without throwing",
    [FastCheck.uint8Array({ maxLength: 200 })],
    ([body]) => {
      expect(() => scan(body)).not.toThrow()
      expect(() => Codec.decode(Uint8Array.from([1, 1, 0, 0, ...body]))).not.toThrow()
    },
    { fastCheck: { numRuns: 2000 } }
  )
})
