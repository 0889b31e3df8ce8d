/**
 * The storable domain of the compliance suite: one value of every kind,
 * values outside the domain, and the arbitraries of its property tests
 * (values, trees walked by paths, invalid keys).
 */
import * as Effect from "effect/Effect"
import * as FastCheck from "effect/FastCheck"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as KonserveStore from "../../src/KonserveStore.js"
import { storableValues } from "../utils/values.js"
import type { Store } from "./helpers.js"
import { increment, utf8Bytes } from "./helpers.js"

/** One value of every kind of the domain, with a label. */
export const domainValues: ReadonlyArray<readonly [string, unknown]> = [
  ["null", null],
  ["true", true],
  ["false", false],
  ["zero", 0],
  ["negative zero", -0],
  ["integer", 42],
  ["negative integer", -7],
  ["float", 3.141592653589793],
  ["MAX_SAFE_INTEGER", Number.MAX_SAFE_INTEGER],
  ["MIN_VALUE", Number.MIN_VALUE],
  ["MAX_VALUE", Number.MAX_VALUE],
  ["2^53 + 2 (a float beyond safe integers)", 2 ** 53 + 2],
  ["NaN", NaN],
  ["Infinity", Infinity],
  ["-Infinity", -Infinity],
  ["bigint 0n", 0n],
  ["bigint -5n", -5n],
  ["bigint 2^63 - 1", 2n ** 63n - 1n],
  ["bigint 2^64", 2n ** 64n],
  ["bigint above 2^64", 2n ** 100n + 7n],
  ["negative bigint below -2^64", -(2n ** 90n) - 3n],
  ["empty string", ""],
  ["ascii string", "hello"],
  ["unicode string", "héllo wörld € 𝄞 😀 日本語 \u0000 \t\n"],
  ["long string", "x".repeat(10_000)],
  ["empty bytes", new Uint8Array(0)],
  ["bytes", Uint8Array.from([0, 1, 127, 128, 255])],
  ["date", new Date("2024-02-29T12:34:56.789Z")],
  ["epoch date", new Date(0)],
  ["date before the epoch", new Date(-123_456_789)],
  ["empty array", []],
  ["array", [1, "two", null, [3, [4]], true]],
  ["empty object", {}],
  ["object", { a: 1, "b c": "d", "": "empty key", "1": "numeric-like key", nested: { deeper: { deepest: true } } }],
  ["empty map", new Map()],
  ["map with string keys", new Map<string, unknown>([["a", 1], ["b", { c: 2 }]])],
  [
    "map with non-string keys",
    new Map<unknown, unknown>([
      [1, "one"],
      [2n, "big two"],
      [true, "true"],
      [null, "null"],
      [new Date(5), "date"],
      [[1, 2], "array"],
      [{ x: 1 }, "object"],
      [new Uint8Array([9]), "bytes"],
      [new Map([["k", 1]]), "map"]
    ])
  ],
  ["empty set", new Set()],
  ["set", new Set<unknown>([1, "a", null, [1], 2n])],
  [
    "nested mix of everything",
    {
      list: [new Map<unknown, unknown>([[1n, new Set([new Date(1), new Uint8Array([1, 2])])]]), { n: NaN, z: -0 }],
      big: 2n ** 70n,
      when: new Date("1999-12-31T23:59:59.999Z"),
      inf: [Infinity, -Infinity],
      text: "ünïcödé"
    }
  ]
]

class NotPlain {
  readonly x = 1
}

/** Values outside the domain, with a label. */
export const outOfDomain = (): ReadonlyArray<readonly [string, unknown]> => {
  const cyclicObject: Record<string, unknown> = { a: 1 }
  cyclicObject.self = cyclicObject
  const cyclicArray: Array<unknown> = [1]
  cyclicArray.push(cyclicArray)
  const cyclicMap = new Map<unknown, unknown>()
  cyclicMap.set("me", cyclicMap)
  return [
    ["undefined", undefined],
    ["a function", () => 1],
    ["a symbol", Symbol("s")],
    ["a class instance", new NotPlain()],
    ["a cyclic object", cyclicObject],
    ["a cyclic array", cyclicArray],
    ["a cyclic map", cyclicMap],
    ["a function nested in an object", { a: [1, { f: () => 2 }] }],
    ["a symbol nested in a map", new Map([["s", Symbol("t")]])],
    ["a class instance nested in an array", [new NotPlain()]]
  ]
}

export const safeObjectKey = FastCheck.string({ maxLength: 6 }).filter((k) => k !== "__proto__")

/** Any storable value, nested: the shared arbitrary of `test/utils/values.ts`. */
export const valueArbitrary: FastCheck.Arbitrary<unknown> = storableValues().top

/** Trees whose every container can be walked by a path: objects, arrays, and Maps with string or number keys. */
export const treeArbitrary: FastCheck.Arbitrary<unknown> = FastCheck.letrec<{ node: unknown }>((tie) => ({
  node: FastCheck.oneof(
    { depthSize: "small", maxDepth: 4 },
    FastCheck.oneof(FastCheck.integer(), FastCheck.string({ maxLength: 4 }), FastCheck.constant(null)),
    FastCheck.dictionary(safeObjectKey, tie("node"), { maxKeys: 4, noNullPrototype: true }),
    FastCheck.array(tie("node"), { maxLength: 4 }),
    FastCheck.array(
      FastCheck.tuple(FastCheck.oneof(safeObjectKey, FastCheck.integer({ min: -5, max: 50 })), tie("node")),
      { maxLength: 3 }
    ).map((es) => new Map<unknown, unknown>(es))
  )
})).node

export const isPlainObject = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u) && Object.getPrototypeOf(u) === Object.prototype

/**
 * A path into `tree`: walks existing containers by `picks`, then, when it
 * stops at an object or a Map, adds fresh property names (which `assocIn`
 * must create as objects).
 */
export const choosePath = (
  tree: unknown,
  picks: ReadonlyArray<number>,
  tail: ReadonlyArray<string>
): Array<string | number> => {
  const steps: Array<string | number> = []
  let node = tree
  for (const pick of picks) {
    if (Array.isArray(node) && node.length > 0) {
      const i = pick % node.length
      steps.push(i)
      node = node[i]
    } else if (node instanceof Map && node.size > 0) {
      const k = Array.from(node.keys())[pick % node.size] as string | number
      steps.push(k)
      node = node.get(k)
    } else if (isPlainObject(node) && Object.keys(node).length > 0) {
      const names = Object.keys(node)
      const k = names[pick % names.length]
      steps.push(k)
      node = node[k]
    } else {
      break
    }
  }
  if (isPlainObject(node) || node instanceof Map) {
    tail.forEach((name, i) => steps.push(`new:${i}:${name}`))
  }
  return steps
}

/** The model of `assocIn`: a copy of `node` with `value` at `steps`, creating objects where missing. */
export const setIn = (node: unknown, steps: ReadonlyArray<string | number>, value: unknown): unknown => {
  if (steps.length === 0) return value
  const [step, ...rest] = steps
  if (Array.isArray(node) && typeof step === "number") {
    const copy = node.slice()
    copy[step] = setIn(node[step], rest, value)
    return copy
  }
  if (node instanceof Map) {
    const copy = new Map(node)
    copy.set(step, setIn(node.get(step), rest, value))
    return copy
  }
  const object = isPlainObject(node) ? node : {}
  return { ...object, [step]: setIn(object[step], rest, value) }
}

export const invalidKeyArbitrary: FastCheck.Arbitrary<unknown> = FastCheck.oneof(
  FastCheck.constant(""),
  FastCheck.string({ unit: "binary", minLength: 1025, maxLength: 1100 }),
  FastCheck.integer({ min: 342, max: 400 }).map((n) => "€".repeat(n)),
  FastCheck.constantFrom("é", "€", "😀").map((c) => "a".repeat(1025 - utf8Bytes(c)) + c),
  FastCheck.integer(),
  FastCheck.double(),
  FastCheck.boolean(),
  FastCheck.bigInt(),
  FastCheck.constant(null),
  FastCheck.constant(undefined),
  FastCheck.array(FastCheck.string(), { maxLength: 2 }),
  FastCheck.dictionary(safeObjectKey, FastCheck.string(), { maxKeys: 2, noNullPrototype: true })
)

// ---------------------------------------------------------------------------
// invalid keys: every operation
// ---------------------------------------------------------------------------

/**
 * Every operation given the invalid key `bad` (among valid ones where the
 * operation takes several keys). `fresh` keys must not be written; `existing`
 * must not be removed; `onCall` records calls of `update`'s `f`.
 */
export const invalidKeyOperations = (
  bad: unknown,
  fresh: () => string,
  existing: string,
  onCall: () => void
): ReadonlyArray<readonly [string, Effect.Effect<unknown, unknown, Store>]> => {
  const k = bad as string
  const f = (current: Option.Option<unknown>) => {
    onCall()
    return increment(current)
  }
  const typed = KonserveStore.forSchema(Schema.Number)
  const operations: Array<readonly [string, Effect.Effect<unknown, unknown, Store>]> = [
    ["get", KonserveStore.get(k)],
    ["getIn", KonserveStore.getIn([k, "a"])],
    ["getIn of the key alone", KonserveStore.getIn([k])],
    ["getMeta", KonserveStore.getMeta(k)],
    ["exists", KonserveStore.exists(k)],
    ["assoc", KonserveStore.assoc(k, 1)],
    ["assoc ifAbsent", KonserveStore.assoc(k, 1, { ifAbsent: true })],
    ["assocIn", KonserveStore.assocIn([k, "a", "b"], 1)],
    ["update", KonserveStore.update(k, f)],
    ["updateIn", KonserveStore.updateIn([k, "a"], f)],
    ["dissoc", KonserveStore.dissoc(k)],
    ["dissoc ifVersion", KonserveStore.dissoc(k, { ifVersion: "AAAAAAAAAAAAAAAA" })],
    // nothing is older than the epoch: a gc that did not check its keep would succeed, removing nothing
    ["gc with the key in keep", KonserveStore.gc({ keep: [existing, k], olderThan: new Date(0) })],
    ["multiGet", KonserveStore.multiGet([existing, k])],
    ["multiAssoc (atomic)", KonserveStore.multiAssoc([[fresh(), 1], [k, 2], [fresh(), 3]])],
    ["multiAssoc (not atomic)", KonserveStore.multiAssoc([[fresh(), 1], [k, 2], [fresh(), 3]], { atomic: false })],
    ["multiAssoc (Map form)", KonserveStore.multiAssoc(new Map([[fresh(), 1], [k, 2]]))],
    ["multiDissoc (atomic)", KonserveStore.multiDissoc([existing, k])],
    ["multiDissoc (not atomic)", KonserveStore.multiDissoc([existing, k], { atomic: false })],
    ["append", KonserveStore.append(k, 1)],
    ["log", KonserveStore.log(k)],
    ["reduceLog", KonserveStore.reduceLog(k, 0, (acc) => acc + 1)],
    ["bassoc of bytes", KonserveStore.bassoc(k, new Uint8Array([1, 2, 3]))],
    ["bassoc of a string", KonserveStore.bassoc(k, "text")],
    ["bassoc of a Stream", KonserveStore.bassoc(k, Stream.make(new Uint8Array([1])))],
    ["bget", KonserveStore.bget(k)],
    ["forSchema get", Effect.flatMap(typed, (t) => t.get(k))],
    ["forSchema assoc", Effect.flatMap(typed, (t) => t.assoc(k, 1))],
    ["forSchema update", Effect.flatMap(typed, (t) => t.update(k, (n) => Option.getOrElse(n, () => 0) + 1))],
    ["forSchema multiGet", Effect.flatMap(typed, (t) => t.multiGet([existing, k]))],
    ["forSchema multiAssoc", Effect.flatMap(typed, (t) => t.multiAssoc([[fresh(), 1], [k, 2]]))],
    ["forSchema getIn", Effect.flatMap(typed, (t) => t.getIn([k, "a"]))],
    ["forSchema getIn of the key alone", Effect.flatMap(typed, (t) => t.getIn([k]))],
    ["forSchema assocIn", Effect.flatMap(typed, (t) => t.assocIn([k, "a", "b"], 1))],
    ["forSchema assocIn of the key alone", Effect.flatMap(typed, (t) => t.assocIn([k], 1))],
    ["forSchema updateIn", Effect.flatMap(typed, (t) => t.updateIn([k, "a"], f))],
    ["forSchema updateIn of the key alone", Effect.flatMap(typed, (t) => t.updateIn([k], f))],
    ["forSchema append", Effect.flatMap(typed, (t) => t.append(k, 1))],
    ["forSchema log", Effect.flatMap(typed, (t) => t.log(k))],
    ["forSchema reduceLog", Effect.flatMap(typed, (t) => t.reduceLog(k, 0, (acc, n) => acc + n))],
    ["forSchema dissoc", Effect.flatMap(typed, (t) => t.dissoc(k))],
    ["forSchema exists", Effect.flatMap(typed, (t) => t.exists(k))],
    ["forSchema getMeta", Effect.flatMap(typed, (t) => t.getMeta(k))],
    ["forSchema multiDissoc", Effect.flatMap(typed, (t) => t.multiDissoc([existing, k]))]
  ]
  if (typeof bad === "string") {
    operations.push(["multiAssoc (record form)", KonserveStore.multiAssoc({ [fresh()]: 1, [bad]: 2 })])
  }
  return operations
}
