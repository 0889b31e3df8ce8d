/**
 * fast-check arbitraries of storable values over the whole domain the codec
 * keeps (null, booleans, every double with NaN, ±Infinity and -0, bigints
 * beyond 64 bits, strings of any code units, Dates valid or not, bytes,
 * arrays, plain objects, Maps, Sets, `undefined` inside containers), shared
 * by the codec's and the export format's round-trip properties.
 */
import * as FastCheck from "effect/FastCheck"

/** Property names: any well-formed string but "__proto__" (rejected by the codec). */
export const propertyName = FastCheck.string({ unit: "binary", maxLength: 8 }).filter((key) => key !== "__proto__")

type Tie = (key: "nested") => FastCheck.Arbitrary<unknown>

/**
 * `nested` (anything, `undefined` included) and `top` (what a store holds);
 * `extra` adds leaves and containers of a suite's own (say, strings and keys
 * that look like the export format's tags).
 */
export const storableValues = (extra?: {
  readonly leaves?: ReadonlyArray<FastCheck.Arbitrary<unknown>>
  readonly containers?: (tie: Tie) => ReadonlyArray<FastCheck.Arbitrary<unknown>>
}) =>
  FastCheck.letrec<{ nested: unknown; top: unknown; leaf: unknown; container: unknown }>((tie) => ({
    leaf: FastCheck.oneof(
      FastCheck.constant(null),
      FastCheck.boolean(),
      FastCheck.double(), // NaN, ±Infinity and -0 included
      FastCheck.integer(),
      FastCheck.constantFrom(-0, 0, NaN, Infinity, -Infinity, Number.MAX_VALUE, Number.MIN_VALUE),
      FastCheck.bigInt(), // beyond 64 bits, both signs
      FastCheck.bigInt({ min: -(2n ** 64n), max: 2n ** 64n }),
      FastCheck.string({ unit: "binary" }),
      FastCheck.date({ noInvalidDate: false }), // the whole Date range, invalid Dates too
      FastCheck.uint8Array({ maxLength: 16 }),
      ...(extra?.leaves ?? [])
    ),
    container: FastCheck.oneof(
      FastCheck.array(tie("nested"), { maxLength: 4 }),
      FastCheck.dictionary(propertyName, tie("nested"), { maxKeys: 4, noNullPrototype: false }),
      FastCheck.array(FastCheck.tuple(tie("nested"), tie("nested")), { maxLength: 4 }).map((entries) =>
        new Map(entries)
      ),
      FastCheck.array(tie("nested"), { maxLength: 4 }).map((elements) => new Set(elements)),
      ...(extra?.containers?.(tie as Tie) ?? [])
    ),
    nested: FastCheck.oneof(
      { depthSize: "small", withCrossShrink: true },
      tie("leaf"),
      FastCheck.constant(undefined),
      tie("container")
    ),
    top: FastCheck.oneof({ depthSize: "small", withCrossShrink: true }, tie("leaf"), tie("container"))
  }))
