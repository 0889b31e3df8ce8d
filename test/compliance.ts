/**
 * The compliance suite: the one set of tests that every backend of the
 * `KonserveStore` contract (`/API.md`) runs. A backend's test file calls
 * `compliance(name, makeLayer)`; `makeLayer()` must return a layer of a
 * fresh, isolated, empty store on every call.
 *
 * Tests share a store per `layer(...)` block and isolate themselves with
 * unique keys; tests that must see the whole store (`keys`, the platform
 * `KeyValueStore`'s `clear`/`size`, "nothing written" properties) get a
 * block, and so a store, of their own.
 */
import * as PlatformError from "@effect/platform/Error"
import * as KeyValueStore from "@effect/platform/KeyValueStore"
import type { Vitest } from "@effect/vitest"
import { assert, describe, expect, it, layer } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as FastCheck from "effect/FastCheck"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import { inspect } from "node:util"
import * as KonserveError from "../src/KonserveError.js"
import * as KonserveStore from "../src/KonserveStore.js"
import { changesSuite } from "./compliance/changes.js"
import { transactSuite } from "./compliance/transact.js"
import { deepEqual } from "./utils/deepEqual.js"

type Store = KonserveStore.KonserveStore
type It = Vitest.MethodsNonLive<Store>
type LayerOptions = { readonly maxValueBytes?: number }

// ---------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------

const runId = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`
let sequence = 0

/** A key no other test of this run uses. */
const uniqueKey = (label: string): string => `${label}/${runId}/${(sequence++).toString(36)}`

const show = (u: unknown): string =>
  inspect(u, { depth: 8, maxArrayLength: 20, maxStringLength: 120, breakLength: 160 })

const utf8 = new TextEncoder()
const utf8Bytes = (s: string): number => utf8.encode(s).byteLength

/** The failure of an effect that must fail (a success or a defect fails the test). */
const failureOf = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<E, never, R> =>
  Effect.flatMap(Effect.exit(self), (exit) => {
    if (Exit.isSuccess(exit)) {
      return Effect.dieMessage(`expected a failure, got a success: ${show(exit.value)}`)
    }
    const failure = Cause.failureOption(exit.cause)
    return Option.isSome(failure)
      ? Effect.succeed(failure.value)
      : Effect.dieMessage(`expected a typed failure, got: ${Cause.pretty(exit.cause)}`)
  })

/** The failure of an effect that must fail with the tagged error `tag`. */
const expectTag = <const T extends string, A, E, R>(
  self: Effect.Effect<A, E, R>,
  tag: T
): Effect.Effect<Extract<E, { readonly _tag: T }>, never, R> =>
  Effect.map(failureOf(self), (error) => {
    assert.strictEqual((error as { readonly _tag?: unknown })._tag, tag, `expected ${tag}, got ${show(error)}`)
    return error as Extract<E, { readonly _tag: T }>
  })

const assertEqual = (actual: unknown, expected: unknown, label = "value"): void => {
  assert.isTrue(deepEqual(actual, expected), `${label}: expected ${show(expected)}, got ${show(actual)}`)
}

const assertSome = <A>(actual: Option.Option<A>, label = "value"): A => {
  if (Option.isNone(actual)) {
    return assert.fail(`${label}: expected some, got none`)
  }
  return actual.value
}

const assertSomeEqual = (actual: Option.Option<unknown>, expected: unknown, label = "value"): void => {
  assertEqual(assertSome(actual, label), expected, label)
}

const assertNone = (actual: Option.Option<unknown>, label = "value"): void => {
  assert.isTrue(Option.isNone(actual), `${label}: expected none, got ${show(actual)}`)
}

const assertBytes = (actual: unknown, expected: Uint8Array, label = "bytes"): void => {
  assert.isTrue(actual instanceof Uint8Array, `${label}: expected a Uint8Array, got ${show(actual)}`)
  const bytes = actual as Uint8Array
  assert.strictEqual(bytes.byteLength, expected.byteLength, `${label}: length`)
  for (let i = 0; i < expected.byteLength; i++) {
    if (bytes[i] !== expected[i]) {
      assert.fail(`${label}: first difference at byte ${i}: expected ${expected[i]}, got ${bytes[i]}`)
    }
  }
}

const concatBytes = (chunks: ReadonlyArray<Uint8Array>): Uint8Array => {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0))
  let offset = 0
  for (const chunk of chunks) {
    out.set(chunk, offset)
    offset += chunk.byteLength
  }
  return out
}

const collectBytes = <E, R>(stream: Stream.Stream<Uint8Array, E, R>): Effect.Effect<Uint8Array, E, R> =>
  Effect.map(Stream.runCollect(stream), (chunks) => concatBytes(Chunk.toReadonlyArray(chunks)))

/** `size` deterministic pseudo-random bytes (xorshift32), different for each seed. */
const randomBytes = (size: number, seed = 1): Uint8Array => {
  const out = new Uint8Array(size)
  let x = (seed * 2654435761) >>> 0 || 1
  for (let i = 0; i < size; i++) {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    out[i] = x & 0xff
  }
  return out
}

/** A string of exactly `size` UTF-8 bytes mixing 1-, 2-, 3- and 4-byte characters. */
const textOfBytes = (size: number): string => {
  const pieces = ["a", "é", "€", "😀", "z", "\n", "日"]
  const out: Array<string> = []
  let n = 0
  let i = 0
  while (n < size) {
    const piece = pieces[i++ % pieces.length]
    const bytes = utf8Bytes(piece)
    if (n + bytes > size) {
      out.push("a".repeat(size - n))
      n = size
    } else {
      out.push(piece)
      n += bytes
    }
  }
  return out.join("")
}

/** Splits bytes into chunks of cycling, odd sizes (views into the same buffer), with an empty chunk among them. */
const chunksOf = (bytes: Uint8Array): Array<Uint8Array> => {
  const sizes = [1, 7, 4093, 65536, 13, 100003]
  const chunks: Array<Uint8Array> = []
  let offset = 0
  let i = 0
  while (offset < bytes.byteLength) {
    const end = Math.min(bytes.byteLength, offset + sizes[i++ % sizes.length])
    chunks.push(bytes.subarray(offset, end))
    if (chunks.length === 2) chunks.push(new Uint8Array(0))
    offset = end
  }
  return chunks
}

const asyncIterableOf = async function*(chunks: ReadonlyArray<Uint8Array>): AsyncGenerator<Uint8Array> {
  for (const chunk of chunks) {
    yield chunk
  }
}

const readableStreamOf = (chunks: ReadonlyArray<Uint8Array>): ReadableStream<Uint8Array> => {
  let i = 0
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (i < chunks.length) {
        controller.enqueue(chunks[i++])
      } else {
        controller.close()
      }
    }
  })
}

const shapes = ["Uint8Array", "string", "Stream", "AsyncIterable", "ReadableStream"] as const
type Shape = typeof shapes[number]

/** A fresh `BinaryInput` of one shape holding exactly `size` bytes, and those bytes. */
const binaryInput = (
  shape: Shape,
  size: number,
  seed = 1
): { readonly input: KonserveStore.BinaryInput; readonly bytes: Uint8Array } => {
  if (shape === "string") {
    const text = textOfBytes(size)
    return { input: text, bytes: utf8.encode(text) }
  }
  const bytes = randomBytes(size, seed)
  switch (shape) {
    case "Uint8Array":
      return { input: bytes.slice(), bytes }
    case "Stream":
      return { input: Stream.fromIterable(chunksOf(bytes)), bytes }
    case "AsyncIterable":
      return { input: asyncIterableOf(chunksOf(bytes)), bytes }
    case "ReadableStream":
      return { input: readableStreamOf(chunksOf(bytes)), bytes }
  }
}

class StreamBoom extends Data.TaggedError("StreamBoom")<{ readonly reason: string }> {}

const listKeys: Effect.Effect<ReadonlyArray<KonserveStore.Meta>, KonserveError.KonserveError, Store> = Effect.map(
  Stream.runCollect(KonserveStore.keys),
  Chunk.toReadonlyArray
)

const keyNames: Effect.Effect<ReadonlyArray<string>, KonserveError.KonserveError, Store> = Effect.map(
  listKeys,
  (metas) => metas.map((meta) => meta.key).sort()
)

/** Everything observable of the store's keys, to compare before and after an operation. */
const snapshot: Effect.Effect<string, KonserveError.KonserveError, Store> = Effect.map(
  listKeys,
  (metas) =>
    JSON.stringify(
      metas
        .map((m) => [m.key, m.type, m.version, m.size, m.lastWrite.getTime(), m.expiresAt?.getTime() ?? null])
        .sort((a, b) => (String(a[0]) < String(b[0]) ? -1 : 1))
    )
)

const getMetaSome = (key: string) =>
  Effect.map(KonserveStore.getMeta(key), (meta) => assertSome(meta, `meta of ${key}`))

const bgetSome = (key: string) => Effect.map(KonserveStore.bget(key), (binary) => assertSome(binary, `bget ${key}`))

const countOf = (keys: ReadonlyArray<string>, key: string): number => keys.filter((k) => k === key).length

const increment = (current: Option.Option<unknown>): number =>
  Option.match(current, { onNone: () => 1, onSome: (n) => (n as number) + 1 })

const range = (n: number): Array<number> => Array.from({ length: n }, (_, i) => i)

/** Sets the TestClock to the wall clock (never backwards) and returns that time. */
const startClock = Effect.gen(function*() {
  const current = yield* Clock.currentTimeMillis
  const now = Math.max(Date.now(), current + 1)
  yield* TestClock.setTime(now)
  return now
})

const MiB = 1024 * 1024

// ---------------------------------------------------------------------------
// the storable domain
// ---------------------------------------------------------------------------

/** One value of every kind of the domain, with a label. */
const domainValues: ReadonlyArray<readonly [string, unknown]> = [
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
const outOfDomain = (): ReadonlyArray<readonly [string, unknown]> => {
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

// ---------------------------------------------------------------------------
// arbitraries
// ---------------------------------------------------------------------------

const safeObjectKey = FastCheck.string({ maxLength: 6 }).filter((k) => k !== "__proto__")

const leafArbitrary: FastCheck.Arbitrary<unknown> = FastCheck.oneof(
  FastCheck.constant(null),
  FastCheck.boolean(),
  FastCheck.double(),
  FastCheck.integer(),
  FastCheck.bigInt({ min: -(2n ** 100n), max: 2n ** 100n }),
  FastCheck.string({ unit: "binary", maxLength: 16 }),
  FastCheck.uint8Array({ maxLength: 16 }),
  FastCheck.date({ noInvalidDate: true })
)

/** Any storable value, nested. */
const valueArbitrary: FastCheck.Arbitrary<unknown> = FastCheck.letrec<{
  value: unknown
  array: Array<unknown>
  object: Record<string, unknown>
  map: Map<unknown, unknown>
  set: Set<unknown>
}>((tie) => ({
  value: FastCheck.oneof(
    { depthSize: "small", maxDepth: 3 },
    leafArbitrary,
    tie("array"),
    tie("object"),
    tie("map"),
    tie("set")
  ),
  array: FastCheck.array(tie("value"), { maxLength: 4 }),
  object: FastCheck.dictionary(safeObjectKey, tie("value"), { maxKeys: 4, noNullPrototype: true }),
  map: FastCheck.array(FastCheck.tuple(tie("value"), tie("value")), { maxLength: 3 }).map((es) => new Map(es)),
  set: FastCheck.array(tie("value"), { maxLength: 3 }).map((xs) => new Set(xs))
})).value

/** Trees whose every container can be walked by a path: objects, arrays, and Maps with string or number keys. */
const treeArbitrary: FastCheck.Arbitrary<unknown> = FastCheck.letrec<{ node: unknown }>((tie) => ({
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

const isPlainObject = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u) && Object.getPrototypeOf(u) === Object.prototype

/**
 * A path into `tree`: walks existing containers by `picks`, then, when it
 * stops at an object or a Map, adds fresh property names (which `assocIn`
 * must create as objects).
 */
const choosePath = (
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
const setIn = (node: unknown, steps: ReadonlyArray<string | number>, value: unknown): unknown => {
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

const invalidKeyArbitrary: FastCheck.Arbitrary<unknown> = FastCheck.oneof(
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
const invalidKeyOperations = (
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

// ---------------------------------------------------------------------------
// the suite
// ---------------------------------------------------------------------------

/**
 * Registers the whole compliance suite for one backend. `makeLayer()` must
 * return a layer of a fresh, isolated, empty store each time it is called
 * (MemoryStore: a new store; DynamoDB: a new prefix or table). The
 * `maxValueBytes` of those stores is whatever `makeLayer(options)` is given.
 */
export const compliance = (
  name: string,
  makeLayer: (options?: LayerOptions) => Layer.Layer<KonserveStore.KonserveStore, unknown>,
  options?: { readonly timeout?: number }
): void => {
  const timeout = options?.timeout
  const layerOptions = timeout === undefined ? {} : { timeout: Duration.millis(timeout) }
  const propOptions = (numRuns: number) => ({
    ...(timeout === undefined ? {} : { timeout }),
    fastCheck: { numRuns }
  })
  /** A block of tests sharing one fresh store. */
  const block = (title: string, f: (it: It) => void, store: Layer.Layer<Store, unknown> = makeLayer()): void =>
    layer(store, layerOptions)(title, f)

  describe(`${name}: KonserveStore compliance`, () => {
    changesSuite(block, timeout, propOptions)
    transactSuite(block, timeout)
    // -----------------------------------------------------------------------
    block("core: get, assoc, exists, dissoc", (it) => {
      it.effect("get of a missing key is none, exists is false, getMeta is none", () =>
        Effect.gen(function*() {
          const key = uniqueKey("missing")
          assertNone(yield* KonserveStore.get(key), "get")
          assertNone(yield* KonserveStore.getMeta(key), "getMeta")
          expect(yield* KonserveStore.exists(key)).toBe(false)
        }), timeout)

      it.effect(
        "assoc then get (read-your-writes) and exists; dissoc is true then false",
        () =>
          Effect.gen(function*() {
            const key = uniqueKey("core")
            yield* KonserveStore.assoc(key, { name: "banana", n: 1 })
            assertSomeEqual(yield* KonserveStore.get(key), { name: "banana", n: 1 })
            expect(yield* KonserveStore.exists(key)).toBe(true)
            expect(yield* KonserveStore.dissoc(key)).toBe(true)
            assertNone(yield* KonserveStore.get(key), "get after dissoc")
            expect(yield* KonserveStore.exists(key)).toBe(false)
            expect(yield* KonserveStore.dissoc(key)).toBe(false)
          }),
        timeout
      )

      it.effect(
        "assoc overwrites the previous value; the service and its accessors agree",
        () =>
          Effect.gen(function*() {
            const store = yield* KonserveStore.KonserveStore
            const key = uniqueKey("overwrite")
            yield* store.assoc(key, 1)
            yield* KonserveStore.assoc(key, [2])
            assertSomeEqual(yield* store.get(key), [2])
            assertSomeEqual(yield* KonserveStore.get(key), [2])
          }),
        timeout
      )

      it.effect(
        "a value of every kind of the domain round-trips through get and multiGet",
        () =>
          Effect.gen(function*() {
            const keys = new Map<string, unknown>()
            for (const [label, value] of domainValues) {
              const key = uniqueKey(`domain-${label}`)
              keys.set(key, value)
              yield* KonserveStore.assoc(key, value)
              assertSomeEqual(yield* KonserveStore.get(key), value, label)
            }
            const many = yield* KonserveStore.multiGet(keys.keys())
            expect(many.size).toBe(keys.size)
            for (const [key, value] of keys) {
              assertEqual(many.get(key), value, `multiGet ${key}`)
            }
          }),
        timeout
      )

      it.effect("-0, NaN and bigints keep their exact kind", () =>
        Effect.gen(function*() {
          const key = uniqueKey("kinds")
          yield* KonserveStore.assoc(key, [-0, NaN, 1n, 2n ** 65n, 1])
          const read = assertSome(yield* KonserveStore.get(key)) as ReadonlyArray<unknown>
          expect(Object.is(read[0], -0)).toBe(true)
          expect(Number.isNaN(read[1])).toBe(true)
          expect(typeof read[2]).toBe("bigint")
          expect(read[3]).toBe(2n ** 65n)
          expect(typeof read[4]).toBe("number")
        }), timeout)

      it.effect("what get returns is a fresh copy: mutating it changes nothing stored", () =>
        Effect.gen(function*() {
          const key = uniqueKey("copy-read")
          const make = () => ({
            list: [1, 2],
            map: new Map([["a", 1]]),
            set: new Set([1]),
            bytes: new Uint8Array([1, 2, 3]),
            date: new Date(1000),
            inner: { n: 1 }
          })
          const original = make()
          yield* KonserveStore.assoc(key, original)
          const first = assertSome(yield* KonserveStore.get(key)) as typeof original
          first.list.push(3)
          first.map.set("b", 2)
          first.set.add(2)
          first.bytes[0] = 99
          first.date.setTime(5)
          first.inner.n = 2
          ;(first as Record<string, unknown>).added = true
          assertSomeEqual(yield* KonserveStore.get(key), make(), "after mutating a read")
          const inner = assertSome(yield* KonserveStore.getIn([key, "inner"])) as { n: number }
          inner.n = 3
          assertSomeEqual(yield* KonserveStore.getIn([key, "inner", "n"]), 1, "after mutating a getIn result")
        }), timeout)

      it.effect(
        "what assoc stores is a copy: mutating the written value afterwards changes nothing stored",
        () =>
          Effect.gen(function*() {
            const key = uniqueKey("copy-write")
            const value = { list: [1, 2], map: new Map([["a", 1]]), bytes: new Uint8Array([1, 2, 3]) }
            yield* KonserveStore.assoc(key, value)
            value.list.push(3)
            value.map.set("b", 2)
            value.bytes[0] = 99
            assertSomeEqual(yield* KonserveStore.get(key), {
              list: [1, 2],
              map: new Map([["a", 1]]),
              bytes: new Uint8Array([1, 2, 3])
            })
          }),
        timeout
      )

      it.effect(
        "keys of 1024 UTF-8 bytes are valid; keys that extend each other are distinct",
        () =>
          Effect.gen(function*() {
            const ascii = "a".repeat(1024 - runId.length) + runId
            const euro = "€".repeat(341) + "a"
            expect(utf8Bytes(ascii)).toBe(1024)
            expect(utf8Bytes(euro)).toBe(1024)
            yield* KonserveStore.assoc(ascii, "ascii")
            yield* KonserveStore.assoc(euro, "euro")
            assertSomeEqual(yield* KonserveStore.get(ascii), "ascii")
            assertSomeEqual(yield* KonserveStore.get(euro), "euro")
            const base = uniqueKey("t")
            yield* KonserveStore.multiAssoc([[base, 0], [`${base}/x`, 1], [`${base}2`, 2]])
            expect(yield* KonserveStore.dissoc(base)).toBe(true)
            assertNone(yield* KonserveStore.get(base))
            assertSomeEqual(yield* KonserveStore.get(`${base}/x`), 1)
            assertSomeEqual(yield* KonserveStore.get(`${base}2`), 2)
            yield* KonserveStore.multiDissoc([ascii, euro])
          }),
        timeout
      )

      it.effect("a value larger than one DynamoDB item (400 KB) is stored transparently", () =>
        Effect.gen(function*() {
          const key = uniqueKey("large")
          const value = { text: textOfBytes(900_000), bytes: randomBytes(700_000, 7), list: range(20_000) }
          yield* KonserveStore.assoc(key, value)
          assertSomeEqual(yield* KonserveStore.get(key), value)
          const meta = yield* getMetaSome(key)
          expect(meta.size).toBeGreaterThan(700_000) // the random bytes alone do not compress
          expect(yield* KonserveStore.dissoc(key)).toBe(true)
          assertNone(yield* KonserveStore.get(key))
        }), timeout)

      it.effect(
        "a read overlapping a rewrite of the same key sees the old or the new value whole",
        () =>
          Effect.gen(function*() {
            const key = uniqueKey("overlap")
            const a = { bytes: randomBytes(600_000, 81), tag: "a" }
            const b = { bytes: randomBytes(600_000, 82), tag: "b" }
            yield* KonserveStore.assoc(key, a)
            const writer = Effect.forEach(range(6), (i) => KonserveStore.assoc(key, i % 2 === 0 ? b : a), {
              discard: true
            })
            const reader = Effect.forEach(range(12), () => Effect.either(KonserveStore.get(key)))
            const [, reads] = yield* Effect.all([writer, reader], { concurrency: "unbounded" })
            for (const read of reads) {
              if (Either.isLeft(read)) {
                assert.isTrue(KonserveError.isKonserveError(read.left), `an untyped failure: ${show(read.left)}`)
              } else {
                const value = assertSome(read.right)
                assert.isTrue(deepEqual(value, a) || deepEqual(value, b), "a read saw a mix or a truncated value")
              }
            }
          }),
        timeout
      )

      it.scoped("stores made by makeLayer are isolated from each other", () =>
        Effect.gen(function*() {
          const other = yield* Layer.build(makeLayer())
          const key = uniqueKey("isolated")
          yield* KonserveStore.assoc(key, "here")
          assertNone(yield* Effect.provide(KonserveStore.get(key), other), "the other store sees the key")
          expect(yield* Effect.provide(keyNames, other)).toEqual([])
          yield* Effect.provide(KonserveStore.assoc(key, "there"), other)
          assertSomeEqual(yield* KonserveStore.get(key), "here")
          assertSomeEqual(yield* Effect.provide(KonserveStore.get(key), other), "there")
        }), timeout)
    })

    // -----------------------------------------------------------------------
    block("paths: getIn, assocIn, update, updateIn", (it) => {
      it.effect(
        "assocIn creates missing intermediate objects, on a missing key and inside a value",
        () =>
          Effect.gen(function*() {
            const fresh = uniqueKey("assocIn-fresh")
            yield* KonserveStore.assocIn([fresh, "a", "b", "c"], 1)
            assertSomeEqual(yield* KonserveStore.get(fresh), { a: { b: { c: 1 } } })
            const existing = uniqueKey("assocIn-existing")
            yield* KonserveStore.assoc(existing, { keep: true, a: { x: 1 } })
            yield* KonserveStore.assocIn([existing, "a", "y", "z"], "new")
            assertSomeEqual(yield* KonserveStore.get(existing), { keep: true, a: { x: 1, y: { z: "new" } } })
            yield* KonserveStore.assocIn([existing, "a", "x"], [1, 2])
            assertSomeEqual(yield* KonserveStore.get(existing), { keep: true, a: { x: [1, 2], y: { z: "new" } } })
          }),
        timeout
      )

      it.effect("getIn walks object properties, array indices and Map keys", () =>
        Effect.gen(function*() {
          const key = uniqueKey("getIn")
          yield* KonserveStore.assoc(key, {
            user: { name: "ann", tags: ["a", "b", { deep: true }] },
            byId: new Map<unknown, unknown>([[7, { name: "seven" }], ["s", [10, 20]]])
          })
          assertSomeEqual(yield* KonserveStore.getIn([key, "user", "name"]), "ann")
          assertSomeEqual(yield* KonserveStore.getIn([key, "user", "tags", 1]), "b")
          assertSomeEqual(yield* KonserveStore.getIn([key, "user", "tags", 2, "deep"]), true)
          assertSomeEqual(yield* KonserveStore.getIn([key, "byId", 7, "name"]), "seven")
          assertSomeEqual(yield* KonserveStore.getIn([key, "byId", "s", 1]), 20)
          assertSomeEqual(yield* KonserveStore.getIn([key, "user"]), { name: "ann", tags: ["a", "b", { deep: true }] })
        }), timeout)

      it.effect("getIn on a missing path is none", () =>
        Effect.gen(function*() {
          const key = uniqueKey("getIn-missing")
          assertNone(yield* KonserveStore.getIn([uniqueKey("nope"), "a"]), "missing key")
          yield* KonserveStore.assoc(key, { a: { b: 1 }, list: [1, 2], m: new Map([[1, "x"]]), n: 5 })
          assertNone(yield* KonserveStore.getIn([key, "x"]), "missing property")
          assertNone(yield* KonserveStore.getIn([key, "a", "c"]), "missing nested property")
          assertNone(yield* KonserveStore.getIn([key, "list", 2]), "index out of range")
          assertNone(yield* KonserveStore.getIn([key, "m", 2]), "missing Map key")
          assertNone(yield* KonserveStore.getIn([key, "m", "1"]), "a string step does not find a number Map key")
          assertNone(yield* KonserveStore.getIn([key, "n", "x"]), "through a number")
          assertNone(yield* KonserveStore.getIn([key, "a", "b", "c"]), "through a leaf")
        }), timeout)

      it.effect("assocIn through Map keys and array indices keeps the Map and the array", () =>
        Effect.gen(function*() {
          const key = uniqueKey("assocIn-kinds")
          yield* KonserveStore.assoc(key, {
            m: new Map<unknown, unknown>([[1, { x: 1 }], ["s", 2]]),
            list: [10, 20, 30]
          })
          yield* KonserveStore.assocIn([key, "m", 1, "x"], 5)
          yield* KonserveStore.assocIn([key, "m", "s"], 3)
          yield* KonserveStore.assocIn([key, "list", 1], 21)
          const value = assertSome(yield* KonserveStore.get(key)) as { m: unknown; list: unknown }
          assert.isTrue(value.m instanceof Map, "the Map stays a Map")
          assertEqual(value.m, new Map<unknown, unknown>([[1, { x: 5 }], ["s", 3]]), "map")
          assert.isTrue(Array.isArray(value.list), "the array stays an array")
          assertEqual(value.list, [10, 21, 30], "list")
        }), timeout)

      it.effect("a path of the key alone acts on the whole value", () =>
        Effect.gen(function*() {
          const key = uniqueKey("path-key")
          yield* KonserveStore.assocIn([key], { whole: 1 })
          assertSomeEqual(yield* KonserveStore.getIn([key]), { whole: 1 })
          assertSomeEqual(yield* KonserveStore.get(key), { whole: 1 })
          const updated = yield* KonserveStore.updateIn([key], () => ({ whole: 2 }))
          assertSomeEqual(updated.before, { whole: 1 }, "before")
          assertEqual(updated.after, { whole: 2 }, "after")
          assertSomeEqual(yield* KonserveStore.get(key), { whole: 2 })
        }), timeout)

      it.effect("update resolves to { before, after }; f receives the current value", () =>
        Effect.gen(function*() {
          const key = uniqueKey("update")
          yield* KonserveStore.assoc(key, 41)
          const seen: Array<Option.Option<unknown>> = []
          const result = yield* KonserveStore.update(key, (current) => {
            seen.push(current)
            return increment(current)
          })
          assertSomeEqual(result.before, 41, "before")
          expect(result.after).toBe(42)
          assertSomeEqual(seen[seen.length - 1], 41, "what f received")
          assertSomeEqual(yield* KonserveStore.get(key), 42)
        }), timeout)

      it.effect(
        "update of a missing key: f receives none, before is none, the key is created",
        () =>
          Effect.gen(function*() {
            const key = uniqueKey("update-missing")
            const seen: Array<Option.Option<unknown>> = []
            const result = yield* KonserveStore.update(key, (current) => {
              seen.push(current)
              return { created: true }
            })
            expect(seen.length).toBeGreaterThan(0)
            assertNone(seen[0], "what f received")
            assertNone(result.before, "before")
            assertEqual(result.after, { created: true }, "after")
            assertSomeEqual(yield* KonserveStore.get(key), { created: true })
          }),
        timeout
      )

      it.effect(
        "updateIn([key, \"n\"], inc) gives the old and the new n and keeps the rest",
        () =>
          Effect.gen(function*() {
            const key = uniqueKey("c")
            yield* KonserveStore.assoc(key, { n: 1, other: "x" })
            const result = yield* KonserveStore.updateIn([key, "n"], increment)
            assertSomeEqual(result.before, 1, "before")
            expect(result.after).toBe(2)
            assertSomeEqual(yield* KonserveStore.get(key), { n: 2, other: "x" })
            const again = yield* KonserveStore.updateIn([key, "n"], increment)
            assertSomeEqual(again.before, 2, "before")
            expect(again.after).toBe(3)
          }),
        timeout
      )

      it.effect(
        "updateIn on a missing path: f receives none and intermediate objects are created",
        () =>
          Effect.gen(function*() {
            const key = uniqueKey("updateIn-missing")
            const seen: Array<Option.Option<unknown>> = []
            const result = yield* KonserveStore.updateIn([key, "a", "b"], (current) => {
              seen.push(current)
              return increment(current)
            })
            assertNone(seen[0], "what f received")
            assertNone(result.before, "before")
            expect(result.after).toBe(1)
            assertSomeEqual(yield* KonserveStore.get(key), { a: { b: 1 } })
            yield* KonserveStore.assoc(key, { a: { other: true } })
            const inside = yield* KonserveStore.updateIn([key, "a", "b"], increment)
            assertNone(inside.before, "before of a missing property")
            assertSomeEqual(yield* KonserveStore.get(key), { a: { other: true, b: 1 } })
          }),
        timeout
      )

      it.effect("updateIn through Map keys and array indices", () =>
        Effect.gen(function*() {
          const key = uniqueKey("updateIn-kinds")
          yield* KonserveStore.assoc(key, { m: new Map<unknown, unknown>([[3, [5, 6]]]) })
          const result = yield* KonserveStore.updateIn([key, "m", 3, 1], increment)
          assertSomeEqual(result.before, 6, "before")
          expect(result.after).toBe(7)
          assertSomeEqual(yield* KonserveStore.get(key), { m: new Map<unknown, unknown>([[3, [5, 7]]]) })
        }), timeout)

      it.effect("concurrent updates of one key lose nothing (20 fibers)", () =>
        Effect.gen(function*() {
          const key = uniqueKey("counter")
          const fibers = 20
          // An update that gives up with ConditionFailed changed nothing, so trying it again is sound.
          const bump = KonserveStore.update(key, increment).pipe(
            Effect.retry({ while: (error) => error._tag === "ConditionFailed", times: 30 })
          )
          const results = yield* Effect.all(range(fibers).map(() => bump), { concurrency: "unbounded" })
          assertSomeEqual(yield* KonserveStore.get(key), fibers, "the counter")
          expect(results.map((r) => r.after as number).sort((a, b) => a - b)).toEqual(range(fibers).map((i) => i + 1))
          expect(results.filter((r) => Option.isNone(r.before)).length).toBe(1)
          for (const r of results) {
            expect(r.after).toBe(Option.getOrElse(r.before as Option.Option<number>, () => 0) + 1)
          }
        }), timeout)

      it.effect("concurrent updateIn of different paths of one key lose nothing", () =>
        Effect.gen(function*() {
          const key = uniqueKey("fields")
          yield* KonserveStore.assoc(key, {})
          yield* Effect.all(
            range(12).map((i) =>
              KonserveStore.updateIn([key, `f${i}`], () => i).pipe(
                Effect.retry({ while: (error) => error._tag === "ConditionFailed", times: 30 })
              )
            ),
            { concurrency: "unbounded" }
          )
          // concurrent writers add the fields in any order: compare them as a set
          const fields = assertSome(yield* KonserveStore.get(key)) as Record<string, unknown>
          expect(Object.keys(fields).sort()).toEqual(range(12).map((i) => `f${i}`).sort())
          range(12).forEach((i) => expect(fields[`f${i}`]).toBe(i))
        }), timeout)

      it.effect.prop(
        "assocIn then getIn over random paths (object keys, indices, Map keys) matches the model (property)",
        {
          tree: FastCheck.option(treeArbitrary, { nil: undefined }),
          picks: FastCheck.array(FastCheck.nat(), { maxLength: 4 }),
          tail: FastCheck.array(FastCheck.string({ maxLength: 3 }), { maxLength: 3 }),
          value: valueArbitrary
        },
        ({ picks, tail, tree, value }) =>
          Effect.gen(function*() {
            const key = uniqueKey("prop-path")
            const steps = choosePath(tree, picks, tail)
            const path: KonserveStore.Path = [key, ...steps]
            if (tree !== undefined) yield* KonserveStore.assoc(key, tree)
            yield* KonserveStore.assocIn(path, value)
            assertSomeEqual(yield* KonserveStore.getIn(path), value, `getIn ${show(steps)}`)
            assertSomeEqual(
              yield* KonserveStore.get(key),
              setIn(tree, steps, value),
              `get after assocIn ${show(steps)}`
            )
            yield* KonserveStore.dissoc(key)
          }),
        propOptions(40)
      )
    })

    // -----------------------------------------------------------------------
    block("conditions and metadata", (it) => {
      it.effect(
        "ifAbsent on an existing key fails with ConditionFailed and changes nothing",
        () =>
          Effect.gen(function*() {
            const key = uniqueKey("ifAbsent")
            yield* KonserveStore.assoc(key, "first")
            const before = yield* getMetaSome(key)
            const error = yield* expectTag(KonserveStore.assoc(key, "second", { ifAbsent: true }), "ConditionFailed")
            expect(error.key).toBe(key)
            expect(error.operation).toMatch(/assoc/)
            expect(error.message).toContain(key)
            assertSomeEqual(yield* KonserveStore.get(key), "first")
            expect((yield* getMetaSome(key)).version).toBe(before.version)
          }),
        timeout
      )

      it.effect("ifAbsent on a missing key writes it", () =>
        Effect.gen(function*() {
          const key = uniqueKey("ifAbsent-ok")
          yield* KonserveStore.assoc(key, "only", { ifAbsent: true })
          assertSomeEqual(yield* KonserveStore.get(key), "only")
          yield* KonserveStore.dissoc(key)
          yield* KonserveStore.assoc(key, "again", { ifAbsent: true })
          assertSomeEqual(yield* KonserveStore.get(key), "again", "after dissoc the key is absent again")
        }), timeout)

      it.effect(
        "ifVersion writes when the version holds and fails with ConditionFailed when stale",
        () =>
          Effect.gen(function*() {
            const key = uniqueKey("ifVersion")
            yield* KonserveStore.assoc(key, 1)
            const v1 = (yield* getMetaSome(key)).version
            yield* KonserveStore.assoc(key, 2, { ifVersion: v1 })
            assertSomeEqual(yield* KonserveStore.get(key), 2)
            const v2 = (yield* getMetaSome(key)).version
            const error = yield* expectTag(KonserveStore.assoc(key, 3, { ifVersion: v1 }), "ConditionFailed")
            expect(error.key).toBe(key)
            assertSomeEqual(yield* KonserveStore.get(key), 2)
            expect((yield* getMetaSome(key)).version).toBe(v2)
          }),
        timeout
      )

      it.effect(
        "ifVersion on a missing key fails with ConditionFailed and writes nothing",
        () =>
          Effect.gen(function*() {
            const key = uniqueKey("ifVersion-missing")
            yield* KonserveStore.assoc(key, 1)
            const version = (yield* getMetaSome(key)).version
            yield* KonserveStore.dissoc(key)
            yield* expectTag(KonserveStore.assoc(key, 2, { ifVersion: version }), "ConditionFailed")
            assertNone(yield* KonserveStore.get(key))
          }),
        timeout
      )

      it.effect(
        "an ifVersion that no write made (made up, far in the future, all zeros) is refused and writes go on working",
        () =>
          Effect.gen(function*() {
            const key = uniqueKey("ifVersion-made-up")
            yield* KonserveStore.assoc(key, 0)
            // from untyped code: not even strings (a 16-digit number looks like a version once made a string)
            const untyped = [1234567890123456, null, { v: 1 }] as unknown as ReadonlyArray<string>
            for (
              const madeUp of [
                "zzzzzzzzzzzzzzzz",
                "________________",
                "AAAAAAAAAAAAAAAA",
                "not a version",
                "",
                ...untyped
              ]
            ) {
              yield* expectTag(KonserveStore.assoc(key, -1, { ifVersion: madeUp }), "ConditionFailed")
              yield* expectTag(KonserveStore.update(key, () => -1, { ifVersion: madeUp }), "ConditionFailed")
              yield* expectTag(KonserveStore.dissoc(key, { ifVersion: madeUp }), "ConditionFailed")
            }
            assertSomeEqual(yield* KonserveStore.get(key), 0)
            // every kind of write of the key still works, many times over, and each changes the version
            const seen = new Set<string>()
            for (let i = 1; i <= 12; i++) {
              yield* KonserveStore.assoc(key, i)
              yield* KonserveStore.update(key, (n) => Option.getOrElse(n as Option.Option<number>, () => 0) * 10)
              seen.add((yield* getMetaSome(key)).version)
            }
            expect(seen.size).toBe(12)
            assertSomeEqual(yield* KonserveStore.get(key), 120)
            expect(yield* KonserveStore.dissoc(key)).toBe(true)
            yield* KonserveStore.assoc(key, "back", { ifAbsent: true })
            assertSomeEqual(yield* KonserveStore.get(key), "back")
          }),
        timeout
      )

      it.effect(
        "dissoc with ifVersion removes the key on its version and fails with ConditionFailed on a stale one",
        () =>
          Effect.gen(function*() {
            const key = uniqueKey("dissoc-ifVersion")
            yield* KonserveStore.assoc(key, 1)
            const stale = (yield* getMetaSome(key)).version
            yield* KonserveStore.assoc(key, 2)
            const current = (yield* getMetaSome(key)).version
            const error = yield* expectTag(KonserveStore.dissoc(key, { ifVersion: stale }), "ConditionFailed")
            expect(error.key).toBe(key)
            expect(error.operation).toBe("dissoc")
            assertSomeEqual(yield* KonserveStore.get(key), 2, "a stale dissoc leaves the value")
            expect((yield* getMetaSome(key)).version, "and writes nothing").toBe(current)
            const store = yield* KonserveStore.KonserveStore
            expect(yield* store.dissoc(key, { ifVersion: current })).toBe(true)
            assertNone(yield* KonserveStore.get(key), "removed on its version")
            expect(yield* KonserveStore.exists(key)).toBe(false)
            // no ifVersion (or an undefined one): the unconditional dissoc
            yield* KonserveStore.assoc(key, 3)
            expect(yield* KonserveStore.dissoc(key, { ifVersion: undefined })).toBe(true)
            expect(yield* KonserveStore.dissoc(key, {})).toBe(false)
          }),
        timeout
      )

      it.effect(
        "dissoc with ifVersion of a missing, removed or expired key, or a made-up version, fails with ConditionFailed",
        () =>
          Effect.gen(function*() {
            yield* startClock
            const key = uniqueKey("dissoc-ifVersion-absent")
            yield* KonserveStore.assoc(key, "v")
            const version = (yield* getMetaSome(key)).version
            for (const madeUp of ["zzzzzzzzzzzzzzzz", "AAAAAAAAAAAAAAAA", "not a version", ""]) {
              yield* expectTag(KonserveStore.dissoc(key, { ifVersion: madeUp }), "ConditionFailed")
            }
            assertSomeEqual(yield* KonserveStore.get(key), "v")
            expect(yield* KonserveStore.dissoc(key)).toBe(true)
            yield* expectTag(KonserveStore.dissoc(key, { ifVersion: version }), "ConditionFailed")
            yield* expectTag(
              KonserveStore.dissoc(uniqueKey("dissoc-ifVersion-never"), { ifVersion: version }),
              "ConditionFailed"
            )
            const expiring = uniqueKey("dissoc-ifVersion-expired")
            yield* KonserveStore.assoc(expiring, "soon gone", { ttl: Duration.seconds(1) })
            const expiringVersion = (yield* getMetaSome(expiring)).version
            yield* TestClock.adjust(Duration.seconds(2))
            yield* expectTag(KonserveStore.dissoc(expiring, { ifVersion: expiringVersion }), "ConditionFailed")
            // an expired key is absent: it may be written again as absent
            yield* KonserveStore.assoc(expiring, "again", { ifAbsent: true })
            assertSomeEqual(yield* KonserveStore.get(expiring), "again")
          }),
        timeout
      )

      it.effect(
        "dissoc with ifVersion removes a chunked value, a binary and a log whole",
        () =>
          Effect.gen(function*() {
            const chunked = uniqueKey("dissoc-ifVersion-chunked")
            const binary = uniqueKey("dissoc-ifVersion-binary")
            const log = uniqueKey("dissoc-ifVersion-log")
            yield* KonserveStore.assoc(chunked, randomBytes(900_000, 81))
            yield* KonserveStore.bassoc(binary, randomBytes(1 * MiB, 82))
            yield* KonserveStore.append(log, "a")
            yield* KonserveStore.append(log, "b")
            for (const key of [chunked, binary, log]) {
              const { version } = yield* getMetaSome(key)
              expect(yield* KonserveStore.dissoc(key, { ifVersion: version }), key).toBe(true)
              expect(yield* KonserveStore.exists(key), key).toBe(false)
              assertNone(yield* KonserveStore.get(key), key)
            }
            assertNone(yield* KonserveStore.bget(binary))
            assertNone(yield* KonserveStore.log(log))
            // the keys are free: written again, they hold only what is written now
            yield* KonserveStore.append(log, "c")
            assertSomeEqual(yield* KonserveStore.log(log), ["c"])
            yield* KonserveStore.assoc(chunked, "small")
            assertSomeEqual(yield* KonserveStore.get(chunked), "small")
          }),
        timeout
      )

      it.effect("update, updateIn, assocIn and bassoc honour ifAbsent and ifVersion", () =>
        Effect.gen(function*() {
          const key = uniqueKey("conditions")
          yield* KonserveStore.assoc(key, { n: 1 })
          const meta = yield* getMetaSome(key)
          yield* KonserveStore.assoc(key, { n: 2 })
          const stale = meta.version
          const f = (current: Option.Option<unknown>) => Option.getOrNull(current)
          yield* expectTag(KonserveStore.update(key, f, { ifAbsent: true }), "ConditionFailed")
          yield* expectTag(KonserveStore.update(key, f, { ifVersion: stale }), "ConditionFailed")
          yield* expectTag(KonserveStore.updateIn([key, "n"], increment, { ifVersion: stale }), "ConditionFailed")
          yield* expectTag(KonserveStore.assocIn([key, "n"], 9, { ifAbsent: true }), "ConditionFailed")
          yield* expectTag(KonserveStore.assocIn([key, "n"], 9, { ifVersion: stale }), "ConditionFailed")
          yield* expectTag(KonserveStore.bassoc(key, "bytes", { ifAbsent: true }), "ConditionFailed")
          yield* expectTag(KonserveStore.bassoc(key, "bytes", { ifVersion: stale }), "ConditionFailed")
          assertSomeEqual(yield* KonserveStore.get(key), { n: 2 }, "nothing changed")
          const current = (yield* getMetaSome(key)).version
          const ok = yield* KonserveStore.updateIn([key, "n"], increment, { ifVersion: current })
          expect(ok.after).toBe(3)
          const fresh = uniqueKey("conditions-fresh")
          const created = yield* KonserveStore.update(fresh, () => "new", { ifAbsent: true })
          assertNone(created.before)
          assertSomeEqual(yield* KonserveStore.get(fresh), "new")
          const binary = uniqueKey("conditions-bin")
          yield* KonserveStore.bassoc(binary, "bin", { ifAbsent: true })
          const binaryVersion = (yield* getMetaSome(binary)).version
          yield* KonserveStore.bassoc(binary, "bin2", { ifVersion: binaryVersion })
          assertBytes(assertSome(yield* KonserveStore.get(binary)), utf8.encode("bin2"))
        }), timeout)

      it.effect("Meta.version changes on every write of the key", () =>
        Effect.gen(function*() {
          const key = uniqueKey("versions")
          const versions: Array<string> = []
          const record = Effect.flatMap(getMetaSome(key), (meta) => Effect.sync(() => versions.push(meta.version)))
          yield* KonserveStore.assoc(key, { n: 0 })
          yield* record
          yield* KonserveStore.assoc(key, { n: 0 }) // the same value again is a write too
          yield* record
          yield* KonserveStore.assocIn([key, "n"], 1)
          yield* record
          yield* KonserveStore.update(key, (v) => Option.getOrNull(v))
          yield* record
          yield* KonserveStore.updateIn([key, "n"], increment)
          yield* record
          yield* KonserveStore.multiAssoc([[key, 5]])
          yield* record
          yield* KonserveStore.multiAssoc([[key, 6]], { atomic: false })
          yield* record
          yield* KonserveStore.bassoc(key, "bytes")
          yield* record
          yield* KonserveStore.dissoc(key)
          yield* KonserveStore.append(key, 1)
          yield* record
          yield* KonserveStore.append(key, 2)
          yield* record
          yield* KonserveStore.dissoc(key)
          yield* KonserveStore.assoc(key, { n: 0 })
          yield* record
          for (const version of versions) expect(typeof version).toBe("string")
          expect(new Set(versions).size, `versions: ${show(versions)}`).toBe(versions.length)
        }), timeout)

      it.effect(
        "getMeta of a value: key, type, lastWrite from the Clock, size in encoded bytes",
        () =>
          Effect.gen(function*() {
            const now = yield* startClock
            const key = uniqueKey("meta")
            // random bytes: incompressible, so the encoded size is the byte count plus a little framing
            yield* KonserveStore.assoc(key, randomBytes(100_000, 5))
            const meta = yield* getMetaSome(key)
            expect(meta.key).toBe(key)
            expect(meta.type).toBe("value")
            assert.instanceOf(meta.lastWrite, Date)
            expect(meta.lastWrite.getTime()).toBe(now)
            expect(Number.isInteger(meta.size)).toBe(true)
            expect(meta.size).toBeGreaterThanOrEqual(100_000)
            expect(meta.size).toBeLessThan(100_000 + 1024)
            expect(meta.expiresAt).toBeUndefined()
            expect(meta.user).toBeUndefined()
            yield* TestClock.adjust(Duration.seconds(5))
            yield* KonserveStore.assoc(key, 1)
            const later = yield* getMetaSome(key)
            expect(later.lastWrite.getTime()).toBe(now + 5000)
            expect(later.size).toBeGreaterThan(0)
            expect(later.size).toBeLessThan(100)
          }),
        timeout
      )

      it.effect("getMeta of a binary has type binary and its byte count as size", () =>
        Effect.gen(function*() {
          const key = uniqueKey("meta-binary")
          yield* KonserveStore.bassoc(key, randomBytes(12_345))
          const meta = yield* getMetaSome(key)
          expect(meta.type).toBe("binary")
          expect(meta.size).toBe(12_345)
          expect(meta.key).toBe(key)
          assert.instanceOf(meta.lastWrite, Date)
        }), timeout)

      it.effect("getMeta of a log has type log and its element count as size", () =>
        Effect.gen(function*() {
          const key = uniqueKey("meta-log")
          yield* KonserveStore.append(key, "a")
          expect((yield* getMetaSome(key)).size).toBe(1)
          yield* KonserveStore.append(key, { big: "x".repeat(1000) })
          yield* KonserveStore.append(key, 3)
          const meta = yield* getMetaSome(key)
          expect(meta.type).toBe("log")
          expect(meta.size).toBe(3)
          expect(meta.key).toBe(key)
        }), timeout)

      it.effect(
        "user meta of every domain kind round-trips; the next write without meta clears it",
        () =>
          Effect.gen(function*() {
            const key = uniqueKey("user-meta")
            const user = {
              owner: "ann",
              n: 1,
              big: 2n ** 70n,
              at: new Date(123),
              tags: new Set(["a"]),
              m: new Map([[1, "x"]]),
              raw: new Uint8Array([1])
            }
            yield* KonserveStore.assoc(key, "v", { meta: user })
            assertEqual((yield* getMetaSome(key)).user, user, "user meta")
            yield* KonserveStore.assoc(key, "w")
            expect((yield* getMetaSome(key)).user).toBeUndefined()
            const binary = uniqueKey("user-meta-binary")
            yield* KonserveStore.bassoc(binary, "b", { meta: { kind: "picture" } })
            assertEqual((yield* bgetSome(binary)).meta.user, { kind: "picture" }, "binary user meta")
            const many = uniqueKey("user-meta-multi")
            yield* KonserveStore.multiAssoc([[many, 1]], { meta: { batch: 7 } })
            assertEqual((yield* getMetaSome(many)).user, { batch: 7 }, "multiAssoc user meta")
          }),
        timeout
      )

      it.effect(
        "user meta outside the domain fails with SerializationError and writes nothing",
        () =>
          Effect.gen(function*() {
            const key = uniqueKey("user-meta-bad")
            yield* expectTag(KonserveStore.assoc(key, 1, { meta: { f: () => 1 } }), "SerializationError")
            assertNone(yield* KonserveStore.get(key))
            yield* expectTag(KonserveStore.bassoc(key, "b", { meta: { s: Symbol("x") } }), "SerializationError")
            assertNone(yield* KonserveStore.get(key))
          }),
        timeout
      )
    })

    // -----------------------------------------------------------------------
    block("gc", (it) => {
      it.effect(
        "gc removes exactly the keys of every kind last written before olderThan and not kept, and resolves to them",
        () =>
          Effect.gen(function*() {
            const start = yield* startClock
            const key = (label: string) => uniqueKey(`gc-${label}`)
            const [value, chunked, binary, log, kept, keptBinary, rewritten, appended, expired] = [
              key("value"),
              key("chunked"),
              key("binary"),
              key("log"),
              key("kept"),
              key("kept-binary"),
              key("rewritten"),
              key("appended"),
              key("expired")
            ]
            yield* KonserveStore.assoc(value, { a: 1 })
            yield* KonserveStore.assoc(chunked, randomBytes(900_000, 91))
            yield* KonserveStore.bassoc(binary, randomBytes(600_000, 92))
            yield* KonserveStore.append(log, 1)
            yield* KonserveStore.append(log, 2)
            yield* KonserveStore.assoc(kept, "kept")
            yield* KonserveStore.bassoc(keptBinary, "kept too")
            yield* KonserveStore.assoc(rewritten, "old")
            yield* KonserveStore.append(appended, "old")
            // expired keys are absent already: not listed, so not removed and not reported
            yield* KonserveStore.assoc(expired, "gone", { ttl: Duration.seconds(1) })
            const olderThan = new Date(start + 60_000)
            yield* TestClock.adjust(Duration.seconds(59))
            const almost = key("almost")
            yield* KonserveStore.assoc(almost, "a millisecond before the cutoff")
            yield* TestClock.adjust(Duration.seconds(1))
            // a last write at olderThan itself is not before it
            const boundary = key("boundary")
            yield* KonserveStore.assoc(boundary, "at the cutoff")
            yield* TestClock.adjust(Duration.minutes(5))
            const fresh = key("fresh")
            yield* KonserveStore.assoc(fresh, "new")
            yield* KonserveStore.assoc(rewritten, "new")
            yield* KonserveStore.append(appended, "new")
            const survivors = [kept, keptBinary, boundary, fresh, rewritten, appended].sort()
            expect(yield* keyNames).toEqual([...survivors, almost, value, chunked, binary, log].sort())

            const removed = yield* KonserveStore.gc({
              keep: new Set([kept, keptBinary, key("never-stored")]),
              olderThan
            })
            expect([...removed].sort()).toEqual([almost, value, chunked, binary, log].sort())
            expect(yield* keyNames).toEqual(survivors)
            for (const gone of [almost, value, chunked, binary, log]) {
              assertNone(yield* KonserveStore.get(gone), gone)
              assertNone(yield* KonserveStore.getMeta(gone), gone)
            }
            assertNone(yield* KonserveStore.bget(binary))
            assertNone(yield* KonserveStore.log(log))
            assertSomeEqual(yield* KonserveStore.get(rewritten), "new")
            assertSomeEqual(yield* KonserveStore.log(appended), ["old", "new"])
            assertSomeEqual(yield* KonserveStore.get(kept), "kept")
            // nothing more to remove; the service's gc and the accessor agree
            expect(yield* KonserveStore.gc({ keep: [kept, keptBinary], olderThan })).toEqual([])
            // keep given by any iterable (a generator), everything else older than now
            const keepOnly = function*() {
              yield kept
            }
            const all = yield* KonserveStore.gc({ keep: keepOnly(), olderThan: new Date(start + 3_600_000) })
            expect([...all].sort()).toEqual(survivors.filter((k) => k !== kept))
            expect(yield* keyNames).toEqual([kept])
            // a removed key may be written again
            yield* KonserveStore.assoc(value, "back", { ifAbsent: true })
            assertSomeEqual(yield* KonserveStore.get(value), "back")
          }),
        timeout
      )
    })

    block("gc: keys changed while it runs, and its options", (it) => {
      it.effect(
        "a key rewritten or removed between gc's listing and its delete survives and is not reported",
        () =>
          Effect.gen(function*() {
            const start = yield* startClock
            const [stays, rewritten, removedMeanwhile] = [
              uniqueKey("gc-race"),
              uniqueKey("gc-race"),
              uniqueKey("gc-race")
            ]
            for (const key of [stays, rewritten, removedMeanwhile]) yield* KonserveStore.assoc(key, "old")
            yield* TestClock.adjust(Duration.minutes(1))
            const store = yield* KonserveStore.KonserveStore
            const seen: Array<readonly [string, string | undefined]> = []
            // the store as gc sees it: another writer acts on two keys after gc listed them, just before its deletes
            const racing: Store = {
              ...store,
              dissoc: (key, options) =>
                Effect.zipRight(
                  Effect.suspend(() => {
                    seen.push([key, options?.ifVersion])
                    return key === rewritten
                      ? store.assoc(key, "rewritten")
                      : key === removedMeanwhile
                      ? Effect.asVoid(store.dissoc(key))
                      : Effect.void
                  }),
                  store.dissoc(key, options)
                )
            }
            const removed = yield* Effect.provideService(
              KonserveStore.gc({ keep: [], olderThan: new Date(start + 1) }),
              KonserveStore.KonserveStore,
              racing
            )
            expect(removed).toEqual([stays])
            // every delete was conditioned on a version
            expect(seen.length).toBe(3)
            for (const [key, version] of seen) expect(typeof version, key).toBe("string")
            assertSomeEqual(yield* KonserveStore.get(rewritten), "rewritten")
            assertNone(yield* KonserveStore.get(stays))
            assertNone(yield* KonserveStore.get(removedMeanwhile))
            expect(yield* keyNames).toEqual([rewritten])
            yield* KonserveStore.dissoc(rewritten)
          }),
        timeout
      )

      it.effect(
        "an olderThan that is not a valid Date, or a keep that is not keys, fails before anything is removed",
        () =>
          Effect.gen(function*() {
            const start = yield* startClock
            const key = uniqueKey("gc-options")
            yield* KonserveStore.assoc(key, 1)
            yield* TestClock.adjust(Duration.minutes(1))
            const later = new Date(start + 1)
            for (const bad of [new Date(Number.NaN), "2024-01-01", start, undefined, null]) {
              const error = yield* expectTag(
                KonserveStore.gc({ keep: [], olderThan: bad as unknown as Date }),
                "DynamoDBError"
              )
              expect(error.code, show(bad)).toBe("InvalidArgument")
              expect(error.operation).toBe("gc")
              expect(error.message, show(bad)).toContain("olderThan")
            }
            for (const bad of [key, undefined, 3]) {
              const error = yield* expectTag(
                KonserveStore.gc({ keep: bad as unknown as Array<string>, olderThan: later }),
                "DynamoDBError"
              )
              expect(error.code, show(bad)).toBe("InvalidArgument")
              expect(error.message, show(bad)).toContain("keep")
            }
            // metas instead of their keys: InvalidKey, not "keep nothing"
            const metas = [yield* getMetaSome(key)]
            const invalid = yield* expectTag(
              KonserveStore.gc({ keep: metas as unknown as Array<string>, olderThan: later }),
              "InvalidKey"
            )
            expect(invalid.key).toBe(metas[0])
            assertSomeEqual(yield* KonserveStore.get(key), 1, "nothing removed")
            expect(yield* KonserveStore.gc({ keep: [key], olderThan: later })).toEqual([])
            expect(yield* KonserveStore.gc({ keep: [], olderThan: later })).toEqual([key])
          }),
        timeout
      )
    })

    // -----------------------------------------------------------------------
    block("keys", (it) => {
      it.effect("an empty store lists no keys", () =>
        Effect.gen(function*() {
          expect(yield* keyNames).toEqual([])
        }), timeout)

      it.effect(
        "keys lists each key once with its Meta, for values, chunked values, binaries and logs",
        () =>
          Effect.gen(function*() {
            const before = yield* keyNames
            const value = uniqueKey("k-value")
            const big = uniqueKey("k-big")
            const binary = uniqueKey("k-binary")
            const log = uniqueKey("k-log")
            const extended = `${value}/x`
            yield* KonserveStore.assoc(value, { a: 1 }, { meta: { m: 1 } })
            yield* KonserveStore.assoc(extended, 2)
            yield* KonserveStore.assoc(big, randomBytes(1_500_000, 9))
            yield* KonserveStore.bassoc(binary, Stream.fromIterable(chunksOf(randomBytes(3 * MiB + 5))))
            yield* KonserveStore.append(log, 1)
            yield* KonserveStore.append(log, 2)
            const metas = yield* listKeys
            const names = metas.map((m) => m.key)
            const ours = [value, extended, big, binary, log]
            expect(names.length).toBe(before.length + ours.length)
            expect([...names].sort()).toEqual([...before, ...ours].sort())
            for (const key of ours) {
              expect(countOf(names, key), key).toBe(1)
              const listed = metas.find((m) => m.key === key)!
              const meta = yield* getMetaSome(key)
              expect(listed.type).toBe(meta.type)
              expect(listed.version).toBe(meta.version)
              expect(listed.size).toBe(meta.size)
              expect(listed.lastWrite.getTime()).toBe(meta.lastWrite.getTime())
              expect(listed.expiresAt).toEqual(meta.expiresAt)
              assertEqual(listed.user, meta.user, `user meta of ${key}`)
            }
            const typeOf = (key: string) => metas.find((m) => m.key === key)!.type
            expect([typeOf(value), typeOf(big), typeOf(binary), typeOf(log)]).toEqual([
              "value",
              "value",
              "binary",
              "log"
            ])
            expect(metas.find((m) => m.key === binary)!.size).toBe(3 * MiB + 5)
            expect(metas.find((m) => m.key === log)!.size).toBe(2)
            // dissoc removes keys of every kind from the listing, chunks included
            for (const key of ours) expect(yield* KonserveStore.dissoc(key)).toBe(true)
            expect(yield* keyNames).toEqual(before)
          }),
        timeout
      )

      it.effect("keys lists 300 keys exactly once each, across every page", () =>
        Effect.gen(function*() {
          const before = yield* keyNames
          const ours = range(300).map((i) => uniqueKey(`page-${i}`))
          yield* KonserveStore.multiAssoc(
            ours.map((key, i) => [key, { i, pad: "p".repeat(5_000) }] as const),
            { atomic: false }
          )
          const after = yield* keyNames
          expect(after).toEqual([...before, ...ours].sort())
          const removed = yield* KonserveStore.multiDissoc(ours, { atomic: false })
          expect([...removed.values()].every((existed) => existed)).toBe(true)
          expect(yield* keyNames).toEqual(before)
        }), timeout)

      it.effect("the keys accessor and the service's keys agree", () =>
        Effect.gen(function*() {
          const store = yield* KonserveStore.KonserveStore
          const key = uniqueKey("agree")
          yield* store.assoc(key, 1)
          const viaService = Chunk.toReadonlyArray(yield* Stream.runCollect(store.keys)).map((m) => m.key).sort()
          expect(viaService).toEqual(yield* keyNames)
          expect(viaService).toContain(key)
          yield* store.dissoc(key)
        }), timeout)
    })

    // -----------------------------------------------------------------------
    block("multi-key operations", (it) => {
      it.effect("multiGet is sparse: missing keys are absent from the map", () =>
        Effect.gen(function*() {
          const a = uniqueKey("mg-a")
          const b = uniqueKey("mg-b")
          const missing = uniqueKey("mg-missing")
          yield* KonserveStore.assoc(a, 1)
          yield* KonserveStore.assoc(b, { two: 2 })
          const got = yield* KonserveStore.multiGet([a, missing, b])
          expect(got.size).toBe(2)
          expect(got.has(missing)).toBe(false)
          assertEqual(got.get(a), 1)
          assertEqual(got.get(b), { two: 2 })
        }), timeout)

      it.effect("multiGet of no keys is empty; a key asked twice appears once", () =>
        Effect.gen(function*() {
          expect((yield* KonserveStore.multiGet([])).size).toBe(0)
          const a = uniqueKey("mg-dup")
          yield* KonserveStore.assoc(a, "x")
          const got = yield* KonserveStore.multiGet([a, a, a])
          expect(got.size).toBe(1)
          expect(got.get(a)).toBe("x")
        }), timeout)

      it.effect("multiGet of 250 keys (200 present) returns exactly the present ones", () =>
        Effect.gen(function*() {
          const keys = range(250).map((i) => uniqueKey(`mg-many-${i}`))
          const present = keys.filter((_, i) => i % 5 !== 0)
          yield* KonserveStore.multiAssoc(present.map((key) => [key, { key }] as const), { atomic: false })
          const got = yield* KonserveStore.multiGet(keys)
          expect(got.size).toBe(200)
          for (const key of present) assertEqual(got.get(key), { key }, key)
          for (const key of keys.filter((_, i) => i % 5 === 0)) expect(got.has(key)).toBe(false)
        }), timeout)

      it.effect("multiGet returns what get returns for binary and log keys", () =>
        Effect.gen(function*() {
          const binary = uniqueKey("mg-binary")
          const log = uniqueKey("mg-log")
          yield* KonserveStore.bassoc(binary, new Uint8Array([1, 2, 3]))
          yield* KonserveStore.append(log, "a")
          yield* KonserveStore.append(log, "b")
          const got = yield* KonserveStore.multiGet([binary, log])
          assertBytes(got.get(binary), new Uint8Array([1, 2, 3]))
          assertEqual(got.get(log), ["a", "b"])
        }), timeout)

      it.effect(
        "multiAssoc writes an array of pairs, a record and a Map (atomic by default)",
        () =>
          Effect.gen(function*() {
            const [a, b, c, d, e] = range(5).map((i) => uniqueKey(`ma-${i}`))
            yield* KonserveStore.multiAssoc([[a, 1], [b, { two: 2 }]])
            yield* KonserveStore.multiAssoc({ [c]: [3], [d]: new Map([[4, "four"]]) })
            yield* KonserveStore.multiAssoc(new Map<string, unknown>([[e, 5n]]))
            const got = yield* KonserveStore.multiGet([a, b, c, d, e])
            assertEqual(
              got,
              new Map<unknown, unknown>([[a, 1], [b, { two: 2 }], [c, [3]], [d, new Map([[4, "four"]])], [
                e,
                5n
              ]])
            )
          }),
        timeout
      )

      it.effect("multiAssoc of nothing succeeds and multiDissoc of nothing is empty", () =>
        Effect.gen(function*() {
          yield* KonserveStore.multiAssoc([])
          yield* KonserveStore.multiAssoc({})
          expect((yield* KonserveStore.multiDissoc([])).size).toBe(0)
        }), timeout)

      it.effect("atomic multiAssoc of exactly 100 keys succeeds", () =>
        Effect.gen(function*() {
          const keys = range(100).map((i) => uniqueKey(`ma-100-${i}`))
          yield* KonserveStore.multiAssoc(keys.map((key, i) => [key, i] as const))
          const got = yield* KonserveStore.multiGet(keys)
          expect(got.size).toBe(100)
          keys.forEach((key, i) => expect(got.get(key)).toBe(i))
        }), timeout)

      it.effect(
        "atomic multiAssoc of 101 keys fails with TransactionLimitExceeded and writes nothing",
        () =>
          Effect.gen(function*() {
            const keys = range(101).map((i) => uniqueKey(`ma-101-${i}`))
            const error = yield* expectTag(
              KonserveStore.multiAssoc(keys.map((key) => [key, 1] as const)),
              "TransactionLimitExceeded"
            )
            expect(error.items).toBe(101)
            expect(error.limit).toBe(100)
            expect(error.operation).toMatch(/multiAssoc/)
            expect(error.message).toContain("101")
            expect((yield* KonserveStore.multiGet(keys)).size).toBe(0)
            const record = yield* expectTag(
              KonserveStore.multiAssoc(Object.fromEntries(keys.map((key) => [key, 1])), { atomic: true }),
              "TransactionLimitExceeded"
            )
            expect(record.items).toBe(101)
            expect((yield* KonserveStore.multiGet(keys)).size).toBe(0)
          }),
        timeout
      )

      it.effect("multiAssoc with atomic: false writes any number of keys (250)", () =>
        Effect.gen(function*() {
          const keys = range(250).map((i) => uniqueKey(`ma-250-${i}`))
          yield* KonserveStore.multiAssoc(keys.map((key, i) => [key, { i }] as const), { atomic: false })
          const got = yield* KonserveStore.multiGet(keys)
          expect(got.size).toBe(250)
          keys.forEach((key, i) => assertEqual(got.get(key), { i }, key))
        }), timeout)

      it.effect(
        "multiAssoc with an out-of-domain value fails with SerializationError and writes nothing",
        () =>
          Effect.gen(function*() {
            for (const atomic of [true, false]) {
              const [a, bad, c] = range(3).map((i) => uniqueKey(`ma-bad-${i}`))
              const error = yield* expectTag(
                KonserveStore.multiAssoc([[a, 1], [bad, { f: () => 1 }], [c, 3]], { atomic }),
                "SerializationError"
              )
              expect(error.key).toBe(bad)
              expect(error.message.length).toBeGreaterThan(0)
              expect((yield* KonserveStore.multiGet([a, bad, c])).size, `atomic: ${atomic}`).toBe(0)
            }
          }),
        timeout
      )

      it.effect(
        "atomic multiAssoc with ifAbsent where one key exists fails with ConditionFailed and writes nothing",
        () =>
          Effect.gen(function*() {
            const [a, existing, c] = range(3).map((i) => uniqueKey(`ma-ifabsent-${i}`))
            yield* KonserveStore.assoc(existing, "old")
            const version = (yield* getMetaSome(existing)).version
            const error = yield* expectTag(
              KonserveStore.multiAssoc([[a, 1], [existing, "new"], [c, 3]], { ifAbsent: true }),
              "ConditionFailed"
            )
            expect(error.key).toBe(existing)
            const got = yield* KonserveStore.multiGet([a, existing, c])
            assertEqual(got, new Map([[existing, "old"]]))
            expect((yield* getMetaSome(existing)).version).toBe(version)
            yield* KonserveStore.multiAssoc([[a, 1], [c, 3]], { ifAbsent: true })
            assertEqual(yield* KonserveStore.multiGet([a, c]), new Map([[a, 1], [c, 3]]))
          }),
        timeout
      )

      it.effect(
        "atomic multiAssoc of large values (chunked) is all-or-nothing whatever their sizes",
        () =>
          Effect.gen(function*() {
            const keys = range(3).map((i) => uniqueKey(`ma-large-${i}`))
            const values = keys.map((_, i) => ({ bytes: randomBytes(600_000 + i, 90 + i), i }))
            yield* KonserveStore.multiAssoc(keys.map((key, i) => [key, values[i]] as const))
            const got = yield* KonserveStore.multiGet(keys)
            keys.forEach((key, i) => assertEqual(got.get(key), values[i], key))
            const fresh = uniqueKey("ma-large-fresh")
            yield* expectTag(
              KonserveStore.multiAssoc([[fresh, values[0]], [keys[1], "replaced"]], { ifAbsent: true }),
              "ConditionFailed"
            )
            assertNone(yield* KonserveStore.get(fresh), "the large value of a cancelled transaction")
            assertSomeEqual(yield* KonserveStore.get(keys[1]), values[1])
          }),
        timeout
      )

      it.effect("multiDissoc maps each key to whether it existed, atomic and not", () =>
        Effect.gen(function*() {
          for (const atomic of [undefined, true, false]) {
            const [a, b, missing] = range(3).map((i) => uniqueKey(`md-${i}`))
            yield* KonserveStore.assoc(a, 1)
            yield* KonserveStore.bassoc(b, "binary")
            const removed = yield* KonserveStore.multiDissoc(
              [a, b, missing],
              atomic === undefined ? undefined : { atomic }
            )
            assertEqual(removed, new Map([[a, true], [b, true], [missing, false]]), `atomic: ${atomic}`)
            expect((yield* KonserveStore.multiGet([a, b, missing])).size).toBe(0)
          }
          const log = uniqueKey("md-log")
          yield* KonserveStore.append(log, 1)
          assertEqual(yield* KonserveStore.multiDissoc([log]), new Map([[log, true]]))
          assertNone(yield* KonserveStore.log(log))
        }), timeout)

      it.effect(
        "atomic multiDissoc of 101 keys fails with TransactionLimitExceeded and removes nothing",
        () =>
          Effect.gen(function*() {
            const keys = range(101).map((i) => uniqueKey(`md-101-${i}`))
            yield* KonserveStore.multiAssoc(keys.map((key) => [key, 1] as const), { atomic: false })
            const error = yield* expectTag(KonserveStore.multiDissoc(keys), "TransactionLimitExceeded")
            expect(error.items).toBe(101)
            expect(error.limit).toBe(100)
            expect(error.operation).toMatch(/multiDissoc/)
            expect((yield* KonserveStore.multiGet(keys)).size).toBe(101)
            const removed = yield* KonserveStore.multiDissoc(keys, { atomic: false })
            expect(removed.size).toBe(101)
            expect([...removed.values()].every((existed) => existed)).toBe(true)
            expect((yield* KonserveStore.multiGet(keys)).size).toBe(0)
          }),
        timeout
      )

      it.effect("multiDissoc with atomic: false removes any number of keys (150)", () =>
        Effect.gen(function*() {
          const keys = range(150).map((i) => uniqueKey(`md-150-${i}`))
          yield* KonserveStore.multiAssoc(keys.slice(0, 120).map((key) => [key, 1] as const), { atomic: false })
          const removed = yield* KonserveStore.multiDissoc(keys, { atomic: false })
          expect(removed.size).toBe(150)
          keys.forEach((key, i) => expect(removed.get(key), key).toBe(i < 120))
          expect((yield* KonserveStore.multiGet(keys)).size).toBe(0)
        }), timeout)
    })

    // -----------------------------------------------------------------------
    block("append logs", (it) => {
      it.effect(
        "append keeps order; log returns the elements; reduceLog folds them in order",
        () =>
          Effect.gen(function*() {
            const key = uniqueKey("log")
            for (const element of ["a", "b", "c", "d"]) yield* KonserveStore.append(key, element)
            assertSomeEqual(yield* KonserveStore.log(key), ["a", "b", "c", "d"])
            expect(yield* KonserveStore.reduceLog(key, "", (acc, element) => acc + String(element))).toBe("abcd")
            expect(yield* KonserveStore.reduceLog(key, 0, (acc) => acc + 1)).toBe(4)
          }),
        timeout
      )

      it.effect(
        "log of a missing key is none; reduceLog of a missing key is the initial value",
        () =>
          Effect.gen(function*() {
            const key = uniqueKey("log-missing")
            assertNone(yield* KonserveStore.log(key))
            let calls = 0
            const initial = { untouched: true }
            const result = yield* KonserveStore.reduceLog(key, initial, (acc) => {
              calls++
              return acc
            })
            expect(result).toBe(initial)
            expect(calls).toBe(0)
          }),
        timeout
      )

      it.effect("log elements of every domain kind round-trip", () =>
        Effect.gen(function*() {
          const key = uniqueKey("log-domain")
          const elements = domainValues.map(([, value]) => value)
          for (const element of elements) yield* KonserveStore.append(key, element)
          assertSomeEqual(yield* KonserveStore.log(key), elements)
        }), timeout)

      it.effect(
        "log elements larger than one DynamoDB item (400 KB) are stored transparently",
        () =>
          Effect.gen(function*() {
            const key = uniqueKey("log-large")
            const big = randomBytes(600_000, 95)
            yield* KonserveStore.append(key, "small")
            yield* KonserveStore.append(key, { big })
            yield* KonserveStore.append(key, "after")
            assertSomeEqual(yield* KonserveStore.log(key), ["small", { big }, "after"])
            expect((yield* getMetaSome(key)).size).toBe(3)
            expect(yield* KonserveStore.dissoc(key)).toBe(true)
            assertNone(yield* KonserveStore.log(key))
          }),
        timeout
      )

      it.effect("concurrent appends (20 fibers) are all present, each once", () =>
        Effect.gen(function*() {
          const key = uniqueKey("log-concurrent")
          yield* Effect.all(
            range(20).map((i) =>
              KonserveStore.append(key, i).pipe(
                Effect.retry({ while: (error) => error._tag === "ConditionFailed", times: 30 })
              )
            ),
            { concurrency: "unbounded" }
          )
          const elements = assertSome(yield* KonserveStore.log(key)) as ReadonlyArray<number>
          expect([...elements].sort((a, b) => a - b)).toEqual(range(20))
          expect((yield* getMetaSome(key)).size).toBe(20)
        }), timeout)

      it.effect("get of a log key yields the array of its elements", () =>
        Effect.gen(function*() {
          const key = uniqueKey("log-get")
          yield* KonserveStore.append(key, { n: 1 })
          yield* KonserveStore.append(key, 2n)
          assertSomeEqual(yield* KonserveStore.get(key), [{ n: 1 }, 2n])
          expect(yield* KonserveStore.exists(key)).toBe(true)
        }), timeout)

      it.effect("log of a value key or a binary key is none", () =>
        Effect.gen(function*() {
          const value = uniqueKey("log-of-value")
          const binary = uniqueKey("log-of-binary")
          yield* KonserveStore.assoc(value, [1, 2])
          yield* KonserveStore.bassoc(binary, "bytes")
          assertNone(yield* KonserveStore.log(value), "log of a value")
          assertNone(yield* KonserveStore.log(binary), "log of a binary")
          expect(yield* KonserveStore.reduceLog(value, "init", (acc) => acc + "!")).toBe("init")
        }), timeout)

      it.effect(
        "append to a key holding a value or a binary fails with ConditionFailed and changes nothing",
        () =>
          Effect.gen(function*() {
            const value = uniqueKey("append-value")
            const binary = uniqueKey("append-binary")
            yield* KonserveStore.assoc(value, [1, 2])
            yield* KonserveStore.bassoc(binary, new Uint8Array([7]))
            const error = yield* expectTag(KonserveStore.append(value, 3), "ConditionFailed")
            expect(error.key).toBe(value)
            expect(error.operation).toMatch(/append/)
            yield* expectTag(KonserveStore.append(binary, 3), "ConditionFailed")
            assertSomeEqual(yield* KonserveStore.get(value), [1, 2])
            expect((yield* getMetaSome(value)).type).toBe("value")
            assertBytes(assertSome(yield* KonserveStore.get(binary)), new Uint8Array([7]))
          }),
        timeout
      )

      it.effect(
        "append of an out-of-domain element fails with SerializationError and appends nothing",
        () =>
          Effect.gen(function*() {
            const key = uniqueKey("append-bad")
            yield* KonserveStore.append(key, 1)
            for (const [label, element] of outOfDomain()) {
              const error = yield* expectTag(KonserveStore.append(key, element), "SerializationError")
              expect(error.key, label).toBe(key)
            }
            assertSomeEqual(yield* KonserveStore.log(key), [1])
            const fresh = uniqueKey("append-bad-fresh")
            yield* expectTag(KonserveStore.append(fresh, () => 1), "SerializationError")
            assertNone(yield* KonserveStore.log(fresh))
            expect(yield* KonserveStore.exists(fresh)).toBe(false)
          }),
        timeout
      )

      it.effect("dissoc removes a log; assoc over a log replaces it with a value", () =>
        Effect.gen(function*() {
          const key = uniqueKey("log-replace")
          yield* KonserveStore.append(key, 1)
          yield* KonserveStore.assoc(key, "value now")
          assertNone(yield* KonserveStore.log(key))
          assertSomeEqual(yield* KonserveStore.get(key), "value now")
          expect((yield* getMetaSome(key)).type).toBe("value")
          yield* KonserveStore.dissoc(key)
          yield* KonserveStore.append(key, "x")
          expect(yield* KonserveStore.dissoc(key)).toBe(true)
          assertNone(yield* KonserveStore.log(key))
          yield* KonserveStore.append(key, "fresh")
          assertSomeEqual(yield* KonserveStore.log(key), ["fresh"], "a log made again starts empty")
        }), timeout)
    })

    // -----------------------------------------------------------------------
    block("binaries", (it) => {
      const sizes: ReadonlyArray<readonly [string, number]> = [
        ["0 bytes", 0],
        ["1 byte", 1],
        ["~3 MiB", 3 * MiB + 12_345]
      ]
      for (const shape of shapes) {
        for (const [label, size] of sizes) {
          it.effect(
            `bassoc from ${shape} of ${label}: bget yields exactly those bytes, get one Uint8Array`,
            () =>
              Effect.gen(function*() {
                const key = uniqueKey(`bin-${shape}`)
                const { bytes, input } = binaryInput(shape, size, size + 3)
                yield* KonserveStore.bassoc(key, input)
                const binary = yield* bgetSome(key)
                expect(binary.size).toBe(bytes.byteLength)
                expect(binary.meta.key).toBe(key)
                expect(binary.meta.type).toBe("binary")
                expect(binary.meta.size).toBe(bytes.byteLength)
                assertBytes(yield* collectBytes(binary.stream), bytes, "bget stream")
                assertBytes(assertSome(yield* KonserveStore.get(key)), bytes, "get")
                expect(yield* KonserveStore.exists(key)).toBe(true)
                expect(yield* KonserveStore.dissoc(key)).toBe(true)
                assertNone(yield* KonserveStore.bget(key))
              }),
            timeout
          )
        }
      }

      it.effect("the string input is stored as its UTF-8 bytes", () =>
        Effect.gen(function*() {
          const key = uniqueKey("bin-utf8")
          yield* KonserveStore.bassoc(key, "h€llo 😀")
          assertBytes(assertSome(yield* KonserveStore.get(key)), utf8.encode("h€llo 😀"))
          expect((yield* bgetSome(key)).size).toBe(utf8Bytes("h€llo 😀"))
        }), timeout)

      it.effect("a binary's stream can be run twice with the same bytes", () =>
        Effect.gen(function*() {
          const key = uniqueKey("bin-twice")
          const bytes = randomBytes(1_000_000, 11)
          yield* KonserveStore.bassoc(key, bytes)
          const binary = yield* bgetSome(key)
          assertBytes(yield* collectBytes(binary.stream), bytes, "first run")
          assertBytes(yield* collectBytes(binary.stream), bytes, "second run")
        }), timeout)

      it.effect("bytes given to bassoc and bytes read back are copies", () =>
        Effect.gen(function*() {
          const key = uniqueKey("bin-copy")
          const bytes = new Uint8Array([1, 2, 3])
          yield* KonserveStore.bassoc(key, bytes)
          bytes[0] = 99
          const read = assertSome(yield* KonserveStore.get(key)) as Uint8Array
          assertBytes(read, new Uint8Array([1, 2, 3]), "after mutating the input")
          read[1] = 99
          const chunks = yield* Stream.runCollect((yield* bgetSome(key)).stream)
          Chunk.forEach(chunks, (chunk) => chunk.fill(0))
          assertBytes(assertSome(yield* KonserveStore.get(key)), new Uint8Array([1, 2, 3]), "after mutating reads")
        }), timeout)

      it.effect("bget of a value key, a log key or a missing key is none", () =>
        Effect.gen(function*() {
          const value = uniqueKey("bget-value")
          const log = uniqueKey("bget-log")
          yield* KonserveStore.assoc(value, new Uint8Array([1, 2]))
          yield* KonserveStore.append(log, new Uint8Array([1, 2]))
          assertNone(yield* KonserveStore.bget(value), "bget of a value (even of bytes)")
          assertNone(yield* KonserveStore.bget(log), "bget of a log")
          assertNone(yield* KonserveStore.bget(uniqueKey("bget-missing")), "bget of a missing key")
        }), timeout)

      it.effect(
        "bassoc over a value replaces it with a binary, assoc over a binary with a value",
        () =>
          Effect.gen(function*() {
            const key = uniqueKey("bin-replace")
            yield* KonserveStore.assoc(key, { v: 1 })
            yield* KonserveStore.bassoc(key, new Uint8Array([5]))
            expect((yield* getMetaSome(key)).type).toBe("binary")
            assertBytes(assertSome(yield* KonserveStore.get(key)), new Uint8Array([5]))
            yield* KonserveStore.assoc(key, { v: 2 })
            assertNone(yield* KonserveStore.bget(key))
            assertSomeEqual(yield* KonserveStore.get(key), { v: 2 })
            yield* KonserveStore.bassoc(key, randomBytes(2 * MiB, 3))
            yield* KonserveStore.bassoc(key, "small again")
            assertBytes(assertSome(yield* KonserveStore.get(key)), utf8.encode("small again"))
          }),
        timeout
      )

      it.effect(
        "bassoc from a failing Stream fails with the stream's own error and keeps the old value",
        () =>
          Effect.gen(function*() {
            const key = uniqueKey("bin-failing")
            const old = randomBytes(600_000, 21)
            yield* KonserveStore.bassoc(key, old)
            const version = (yield* getMetaSome(key)).version
            const failing = Stream.fromIterable(chunksOf(randomBytes(2 * MiB, 22))).pipe(
              Stream.concat(Stream.fail(new StreamBoom({ reason: "disk on fire" })))
            )
            const error = yield* failureOf(KonserveStore.bassoc(key, failing))
            assert.instanceOf(error, StreamBoom)
            expect((error as StreamBoom).reason).toBe("disk on fire")
            assertBytes(yield* collectBytes((yield* bgetSome(key)).stream), old, "the old binary")
            expect((yield* getMetaSome(key)).version).toBe(version)
            expect(countOf(yield* keyNames, key)).toBe(1)
            const fresh = uniqueKey("bin-failing-fresh")
            yield* failureOf(KonserveStore.bassoc(fresh, Stream.fail(new StreamBoom({ reason: "at once" }))))
            expect(yield* KonserveStore.exists(fresh)).toBe(false)
            expect(countOf(yield* keyNames, fresh)).toBe(0)
          }),
        timeout
      )

      it.effect(
        "an interrupted bassoc leaves the old value intact and the key listed once",
        () =>
          Effect.gen(function*() {
            const key = uniqueKey("bin-interrupted")
            const old = randomBytes(500_000, 31)
            yield* KonserveStore.bassoc(key, old)
            const version = (yield* getMetaSome(key)).version
            const pulled = yield* Deferred.make<void>()
            const endless = Stream.fromIterable(chunksOf(randomBytes(2 * MiB, 32))).pipe(
              Stream.concat(Stream.drain(Stream.fromEffect(Deferred.succeed(pulled, undefined)))),
              Stream.concat(Stream.never)
            )
            const fiber = yield* Effect.fork(KonserveStore.bassoc(key, endless))
            yield* Deferred.await(pulled)
            yield* Fiber.interrupt(fiber)
            assertBytes(yield* collectBytes((yield* bgetSome(key)).stream), old, "the old binary")
            expect((yield* getMetaSome(key)).version).toBe(version)
            expect(countOf(yield* keyNames, key)).toBe(1)
          }),
        timeout
      )

      it.effect(
        "a read overlapping a rewrite of a binary sees the old or the new bytes whole",
        () =>
          Effect.gen(function*() {
            const key = uniqueKey("bin-overlap")
            const a = randomBytes(1_200_000, 41)
            const b = randomBytes(1_200_000, 42)
            yield* KonserveStore.bassoc(key, a)
            const writer = Effect.forEach(range(4), (i) => KonserveStore.bassoc(key, i % 2 === 0 ? b : a), {
              discard: true
            })
            const read = Effect.flatMap(bgetSome(key), (binary) => collectBytes(binary.stream))
            const reader = Effect.forEach(range(8), () => Effect.either(read))
            const [, reads] = yield* Effect.all([writer, reader], { concurrency: "unbounded" })
            for (const result of reads) {
              if (Either.isLeft(result)) {
                assert.isTrue(KonserveError.isKonserveError(result.left), `an untyped failure: ${show(result.left)}`)
              } else {
                assert.isTrue(deepEqual(result.right, a) || deepEqual(result.right, b), "a read saw mixed bytes")
              }
            }
          }),
        timeout
      )
    })

    // -----------------------------------------------------------------------
    const limit = MiB
    block("maxValueBytes (a store with maxValueBytes: 1 MiB)", (it) => {
      it.effect("bassoc of exactly maxValueBytes succeeds", () =>
        Effect.gen(function*() {
          const key = uniqueKey("limit-exact")
          const bytes = randomBytes(limit, 51)
          yield* KonserveStore.bassoc(key, Stream.fromIterable(chunksOf(bytes)))
          expect((yield* bgetSome(key)).size).toBe(limit)
          assertBytes(assertSome(yield* KonserveStore.get(key)), bytes)
        }), timeout)

      for (const shape of shapes) {
        it.effect(
          `bassoc from ${shape} over maxValueBytes fails with ItemTooLarge and keeps the old value`,
          () =>
            Effect.gen(function*() {
              const key = uniqueKey(`limit-${shape}`)
              const old = randomBytes(1000, 52)
              yield* KonserveStore.bassoc(key, old)
              const version = (yield* getMetaSome(key)).version
              const streamed = shape === "Stream" || shape === "AsyncIterable" || shape === "ReadableStream"
              const size = streamed ? 2 * limit : limit + 1
              const { input } = binaryInput(shape, size, 53)
              const error = yield* expectTag(KonserveStore.bassoc(key, input), "ItemTooLarge")
              expect(error.key).toBe(key)
              expect(error.limit).toBe(limit)
              if (streamed) {
                expect(error.size).toBeGreaterThan(limit)
                expect(error.size).toBeLessThanOrEqual(size)
              } else {
                expect(error.size).toBe(limit + 1)
              }
              expect(error.message).toContain(String(limit))
              expect(error.message).toContain(key)
              assertBytes(yield* collectBytes((yield* bgetSome(key)).stream), old, "the old binary")
              expect((yield* getMetaSome(key)).version).toBe(version)
              expect(countOf(yield* keyNames, key)).toBe(1)
            }),
          timeout
        )
      }

      it.effect(
        "sizes count encoded bytes before compression: a 2 MiB run of one letter is too large, whatever it deflates to",
        () =>
          Effect.gen(function*() {
            const key = uniqueKey("limit-compressible")
            const tooLarge = yield* expectTag(KonserveStore.assoc(key, "x".repeat(2 * limit)), "ItemTooLarge")
            expect(tooLarge.size).toBeGreaterThan(2 * limit)
            yield* expectTag(KonserveStore.append(key, "x".repeat(2 * limit)), "ItemTooLarge")
            yield* expectTag(KonserveStore.update(key, () => "x".repeat(2 * limit)), "ItemTooLarge")
            assertNone(yield* KonserveStore.get(key))
            // Meta.size is the size before compression too
            yield* KonserveStore.assoc(key, "x".repeat(100_000))
            expect((yield* getMetaSome(key)).size).toBe(4 + 5 + 100_000) // header, text head (0x7a + 4 bytes), text
          }),
        timeout
      )

      it.effect(
        "assoc of a value whose encoding exceeds maxValueBytes fails with ItemTooLarge",
        () =>
          Effect.gen(function*() {
            const key = uniqueKey("limit-value")
            yield* KonserveStore.assoc(key, "old")
            const error = yield* expectTag(KonserveStore.assoc(key, randomBytes(limit + 10, 54)), "ItemTooLarge")
            expect(error.key).toBe(key)
            expect(error.limit).toBe(limit)
            expect(error.size).toBeGreaterThan(limit)
            assertSomeEqual(yield* KonserveStore.get(key), "old")
            const fresh = uniqueKey("limit-value-fresh")
            yield* expectTag(KonserveStore.assoc(fresh, { bytes: randomBytes(limit, 55) }), "ItemTooLarge")
            expect(yield* KonserveStore.exists(fresh)).toBe(false)
          }),
        timeout
      )

      it.effect(
        "update, assocIn and atomic multiAssoc over maxValueBytes fail with ItemTooLarge and change nothing",
        () =>
          Effect.gen(function*() {
            const key = uniqueKey("limit-update")
            yield* KonserveStore.assoc(key, { small: true })
            yield* expectTag(KonserveStore.update(key, () => randomBytes(limit + 1, 56)), "ItemTooLarge")
            yield* expectTag(KonserveStore.assocIn([key, "big"], randomBytes(limit + 1, 57)), "ItemTooLarge")
            assertSomeEqual(yield* KonserveStore.get(key), { small: true })
            const fresh = uniqueKey("limit-multi")
            yield* expectTag(
              KonserveStore.multiAssoc([[fresh, 1], [key, randomBytes(limit + 1, 58)]]),
              "ItemTooLarge"
            )
            assertNone(yield* KonserveStore.get(fresh))
            assertSomeEqual(yield* KonserveStore.get(key), { small: true })
          }),
        timeout
      )
    }, makeLayer({ maxValueBytes: limit }))

    // -----------------------------------------------------------------------
    block("TTL", (it) => {
      it.effect("ttl: Duration.infinity means no expiry, for every kind of write", () =>
        Effect.gen(function*() {
          yield* startClock
          const value = uniqueKey("ttl-infinity")
          const binary = uniqueKey("ttl-infinity-binary")
          const many = uniqueKey("ttl-infinity-many")
          yield* KonserveStore.assoc(value, 1, { ttl: Duration.infinity })
          yield* KonserveStore.update(value, () => 2, { ttl: Duration.infinity })
          yield* KonserveStore.bassoc(binary, "bytes", { ttl: Duration.infinity })
          yield* KonserveStore.multiAssoc([[many, 3]], { ttl: Duration.infinity })
          yield* TestClock.adjust(Duration.days(365 * 100))
          for (const key of [value, binary, many]) {
            expect((yield* getMetaSome(key)).expiresAt, key).toBeUndefined()
            expect(yield* KonserveStore.exists(key), key).toBe(true)
          }
          assertSomeEqual(yield* KonserveStore.get(value), 2)
        }), timeout)

      it.effect(
        "a key with a ttl reads present until just before expiry and absent at expiry, everywhere",
        () =>
          Effect.gen(function*() {
            const t0 = yield* startClock
            const value = uniqueKey("ttl-value")
            const binary = uniqueKey("ttl-binary")
            const forever = uniqueKey("ttl-forever")
            yield* KonserveStore.assoc(value, { a: 1 }, { ttl: Duration.seconds(10) })
            yield* KonserveStore.bassoc(binary, randomBytes(700_000, 61), { ttl: "10 seconds" })
            yield* KonserveStore.assoc(forever, "stays")
            const valueMeta = yield* getMetaSome(value)
            assert.instanceOf(valueMeta.expiresAt, Date)
            expect(valueMeta.expiresAt!.getTime()).toBe(t0 + 10_000)
            expect((yield* getMetaSome(binary)).expiresAt?.getTime()).toBe(t0 + 10_000)
            expect((yield* getMetaSome(forever)).expiresAt).toBeUndefined()

            const check = (present: boolean) =>
              Effect.gen(function*() {
                const label = present ? "before expiry" : "at expiry"
                for (const key of [value, binary]) {
                  expect(Option.isSome(yield* KonserveStore.get(key)), `get ${label}`).toBe(present)
                  expect(Option.isSome(yield* KonserveStore.getMeta(key)), `getMeta ${label}`).toBe(present)
                  expect(yield* KonserveStore.exists(key), `exists ${label}`).toBe(present)
                  expect(countOf(yield* keyNames, key), `keys ${label}`).toBe(present ? 1 : 0)
                }
                expect(Option.isSome(yield* KonserveStore.getIn([value, "a"])), `getIn ${label}`).toBe(present)
                expect(Option.isSome(yield* KonserveStore.bget(binary)), `bget ${label}`).toBe(present)
                const many = yield* KonserveStore.multiGet([value, binary, forever])
                expect([...many.keys()].sort(), `multiGet ${label}`).toEqual(
                  (present ? [value, binary, forever] : [forever]).sort()
                )
                assertSomeEqual(yield* KonserveStore.get(forever), "stays", `a key without ttl ${label}`)
              })

            yield* check(true)
            yield* TestClock.adjust(Duration.millis(9_999))
            yield* check(true)
            yield* TestClock.adjust(Duration.millis(1))
            yield* check(false)
            yield* TestClock.adjust(Duration.days(400))
            yield* check(false)
          }),
        timeout
      )

      it.effect(
        "an expired key counts as absent: ifAbsent writes, update sees none, dissoc is false",
        () =>
          Effect.gen(function*() {
            yield* startClock
            const [a, b, c, d, e] = range(5).map((i) => uniqueKey(`ttl-absent-${i}`))
            yield* KonserveStore.multiAssoc([[a, "old"], [b, 41], [c, "old"], [d, "old"], [e, "old"]], { ttl: 1000 })
            expect((yield* getMetaSome(e)).expiresAt).toBeInstanceOf(Date)
            yield* TestClock.adjust(Duration.seconds(1))
            yield* KonserveStore.assoc(a, "new", { ifAbsent: true })
            assertSomeEqual(yield* KonserveStore.get(a), "new")
            expect((yield* getMetaSome(a)).expiresAt, "a write without ttl does not expire").toBeUndefined()
            const updated = yield* KonserveStore.update(b, increment)
            assertNone(updated.before, "update of an expired key")
            expect(updated.after).toBe(1)
            expect(yield* KonserveStore.dissoc(c)).toBe(false)
            yield* KonserveStore.multiAssoc([[d, "new"]], { ifAbsent: true })
            assertSomeEqual(yield* KonserveStore.get(d), "new")
            yield* KonserveStore.append(e, "first")
            assertSomeEqual(yield* KonserveStore.log(e), ["first"], "append to an expired key starts a new log")
            yield* TestClock.adjust(Duration.days(1))
            assertSomeEqual(yield* KonserveStore.get(a), "new", "the rewritten key does not inherit the ttl")
            assertSomeEqual(yield* KonserveStore.log(e), ["first"], "the new log does not inherit the ttl")
          }),
        timeout
      )

      it.effect(
        "ttl applies to update, assocIn and bassoc; a later write without ttl removes it",
        () =>
          Effect.gen(function*() {
            const t0 = yield* startClock
            const key = uniqueKey("ttl-writes")
            yield* KonserveStore.update(key, () => ({ n: 1 }), { ttl: Duration.minutes(1) })
            expect((yield* getMetaSome(key)).expiresAt?.getTime()).toBe(t0 + 60_000)
            yield* KonserveStore.assocIn([key, "n"], 2, { ttl: Duration.minutes(2) })
            expect((yield* getMetaSome(key)).expiresAt?.getTime()).toBe(t0 + 120_000)
            yield* KonserveStore.assoc(key, 3)
            expect((yield* getMetaSome(key)).expiresAt).toBeUndefined()
            yield* TestClock.adjust(Duration.minutes(5))
            assertSomeEqual(yield* KonserveStore.get(key), 3)
            const binary = uniqueKey("ttl-binary-small")
            yield* KonserveStore.bassoc(binary, "b", { ttl: 50 })
            yield* TestClock.adjust(Duration.millis(49))
            expect(yield* KonserveStore.exists(binary)).toBe(true)
            yield* TestClock.adjust(Duration.millis(1))
            expect(yield* KonserveStore.exists(binary)).toBe(false)
            assertNone(yield* KonserveStore.bget(binary))
          }),
        timeout
      )
    })

    // -----------------------------------------------------------------------
    block("SerializationError", (it) => {
      it.effect(
        "a meta too large for one item fails with SerializationError before anything is written",
        () =>
          Effect.gen(function*() {
            const key = uniqueKey("big-meta")
            const meta = { blob: "m".repeat(320 * 1024) }
            for (
              const write of [
                KonserveStore.assoc(key, 1, { meta }),
                KonserveStore.update(key, () => 1, { meta }),
                KonserveStore.bassoc(key, "b", { meta }),
                KonserveStore.multiAssoc([[key, 1]], { meta }),
                KonserveStore.multiAssoc([[key, 1]], { meta, atomic: false })
              ]
            ) {
              const error = yield* expectTag(write, "SerializationError")
              expect(error.message).toContain("meta")
            }
            assertNone(yield* KonserveStore.get(key))
            // a large meta that fits one item is fine
            yield* KonserveStore.assoc(key, 1, { meta: { blob: "m".repeat(200 * 1024) } })
            expect((yield* getMetaSome(key)).user).toEqual({ blob: "m".repeat(200 * 1024) })
          }),
        timeout
      )

      it.effect(
        "an atomic multiAssoc that cannot fit one transaction (100 × 45 KB metas) fails before writing",
        () =>
          Effect.gen(function*() {
            const keys = Array.from({ length: 100 }, (_, i) => uniqueKey(`tx-meta-${i}`))
            const meta = { note: randomBytes(45_000, 71) } // incompressible: metas are stored compressed when they shrink
            const error = yield* expectTag(
              KonserveStore.multiAssoc(keys.map((key) => [key, { small: true }] as const), { meta }),
              "TransactionLimitExceeded"
            )
            expect(error.items).toBe(100)
            expect(error.limit).toBe(100)
            expect(error.bytes).toBeGreaterThan(4_000_000)
            expect(yield* KonserveStore.multiGet(keys)).toEqual(new Map())
            // fewer keys with the same metas fit, and so do all of them one by one
            yield* KonserveStore.multiAssoc(keys.slice(0, 60).map((key) => [key, { small: true }] as const), { meta })
            yield* KonserveStore.multiAssoc(keys.map((key) => [key, { small: true }] as const), { meta, atomic: false })
            expect((yield* KonserveStore.multiGet(keys)).size).toBe(100)
          }),
        timeout
      )

      it.effect(
        "assocIn and updateIn with a path deeper than 512 fail with SerializationError and write nothing",
        () =>
          Effect.gen(function*() {
            const key = uniqueKey("deep-path")
            yield* KonserveStore.assoc(key, { a: 1 })
            for (const depth of [513, 20_000]) {
              const steps = Array.from({ length: depth }, (_, i) => `s${i}`)
              const error = yield* expectTag(KonserveStore.assocIn([key, ...steps], 1), "SerializationError")
              expect(error.message).toContain("512")
              yield* expectTag(KonserveStore.updateIn([key, ...steps], () => 1), "SerializationError")
            }
            assertSomeEqual(yield* KonserveStore.get(key), { a: 1 })
            // a deep path to read is just a path that is not there
            assertNone(yield* KonserveStore.getIn([key, ...Array.from({ length: 20_000 }, () => "a")]))
            // 512 steps with a scalar leaf: the deepest value there is, and it round-trips
            const deepest = Array.from({ length: 511 }, (_, i) => i % 2 === 0 ? "x" : "y")
            yield* KonserveStore.assocIn([uniqueKey("deepest"), ...deepest], 1)
          }),
        timeout
      )

      it.effect(
        "values outside the domain fail with SerializationError on every write and write nothing",
        () =>
          Effect.gen(function*() {
            const existing = uniqueKey("ser-existing")
            yield* KonserveStore.assoc(existing, { keep: 1 })
            const version = (yield* getMetaSome(existing)).version
            for (const [label, bad] of outOfDomain()) {
              const fresh = uniqueKey("ser-fresh")
              const writes: ReadonlyArray<
                readonly [string, string, Effect.Effect<unknown, KonserveError.KonserveError, Store>]
              > = [
                ["assoc", fresh, KonserveStore.assoc(fresh, bad)],
                ["assoc over a value", existing, KonserveStore.assoc(existing, bad)],
                ["assocIn", existing, KonserveStore.assocIn([existing, "keep"], bad)],
                ["update", existing, KonserveStore.update(existing, () => bad)],
                ["updateIn", existing, KonserveStore.updateIn([existing, "keep"], () => bad)],
                ["multiAssoc", fresh, KonserveStore.multiAssoc([[fresh, bad]])]
              ]
              for (const [operation, key, write] of writes) {
                if (label === "undefined" && (operation === "assocIn" || operation === "updateIn")) continue
                const error = yield* expectTag(write, "SerializationError")
                expect(error.key, `${operation} of ${label}`).toBe(key)
                expect(error.message.length).toBeGreaterThan(0)
              }
              expect(yield* KonserveStore.exists(fresh), label).toBe(false)
            }
            assertSomeEqual(yield* KonserveStore.get(existing), { keep: 1 })
            expect((yield* getMetaSome(existing)).version).toBe(version)
          }),
        timeout
      )

      it.effect(
        "a negative, NaN or zero ttl fails with SerializationError on every write that takes one, writing nothing",
        () =>
          Effect.gen(function*() {
            const existing = uniqueKey("ttl-bad-existing")
            yield* KonserveStore.assoc(existing, { n: 1 })
            const version = (yield* getMetaSome(existing)).version
            const typed = KonserveStore.forSchema(Schema.Struct({ n: Schema.Number }))
            // Effect makes Duration.seconds(-5) Duration.zero: zero is refused with the negatives (docs/values.md)
            const bad: ReadonlyArray<Duration.DurationInput> = [
              "-5 seconds",
              Duration.seconds(-5),
              -5000,
              NaN,
              "0 seconds"
            ]
            for (const ttl of bad) {
              const fresh = uniqueKey("ttl-bad-fresh")
              const writes: ReadonlyArray<
                readonly [string, Effect.Effect<unknown, KonserveError.KonserveError, Store>]
              > = [
                ["assoc", KonserveStore.assoc(fresh, 1, { ttl })],
                ["assoc over a value", KonserveStore.assoc(existing, 2, { ttl })],
                ["assocIn", KonserveStore.assocIn([existing, "n"], 2, { ttl })],
                ["update", KonserveStore.update(existing, () => ({ n: 2 }), { ttl })],
                ["updateIn", KonserveStore.updateIn([existing, "n"], () => 2, { ttl })],
                ["multiAssoc", KonserveStore.multiAssoc([[fresh, 1]], { ttl })],
                ["multiAssoc atomic: false", KonserveStore.multiAssoc([[fresh, 1]], { ttl, atomic: false })],
                ["bassoc", KonserveStore.bassoc(fresh, "bytes", { ttl })],
                ["bassoc of a stream", KonserveStore.bassoc(fresh, Stream.make(new Uint8Array([1, 2])), { ttl })],
                ["typed assoc", Effect.flatMap(typed, (t) => t.assoc(fresh, { n: 1 }, { ttl }))],
                ["typed update", Effect.flatMap(typed, (t) => t.update(existing, () => ({ n: 2 }), { ttl }))],
                ["typed multiAssoc", Effect.flatMap(typed, (t) => t.multiAssoc([[fresh, { n: 1 }]], { ttl }))]
              ]
              for (const [operation, write] of writes) {
                const error = yield* expectTag(write, "SerializationError")
                expect(error.message, `${operation}, ttl ${String(ttl)}`).toMatch(
                  /ttl .*(negative|zero|not a Duration)/
                )
              }
              expect(yield* KonserveStore.exists(fresh), String(ttl)).toBe(false)
            }
            assertSomeEqual(yield* KonserveStore.get(existing), { n: 1 })
            expect((yield* getMetaSome(existing)).version).toBe(version)
            // the smallest ttl there is still writes, and Duration.infinity means none
            yield* KonserveStore.assoc(existing, { n: 3 }, { ttl: "1 minute" })
            expect((yield* getMetaSome(existing)).expiresAt).toBeInstanceOf(Date)
          }),
        timeout
      )

      it.effect("update whose f returns undefined fails with SerializationError", () =>
        Effect.gen(function*() {
          const key = uniqueKey("ser-undefined")
          yield* KonserveStore.assoc(key, 1)
          yield* expectTag(KonserveStore.update(key, () => undefined), "SerializationError")
          assertSomeEqual(yield* KonserveStore.get(key), 1)
        }), timeout)

      it.effect(
        "update or updateIn whose f returns an Option, an Either or an Effect fails with SerializationError saying so",
        () =>
          Effect.gen(function*() {
            const key = uniqueKey("ser-wrapped")
            yield* KonserveStore.assoc(key, { a: 1 })
            const { version } = yield* getMetaSome(key)
            const cases: ReadonlyArray<readonly [string, (current: Option.Option<unknown>) => unknown, string]> = [
              ["the Option it received", (current) => current, "returned an Option (Option.some/none)"],
              ["Option.some", (current) => Option.map(current, () => 2), "returned an Option (Option.some/none)"],
              ["Option.none", () => Option.none(), "returned an Option (Option.some/none)"],
              ["Either.right", () => Either.right(2), "returned an Either"],
              ["Effect.succeed", () => Effect.succeed(2), "returned an Effect"]
            ]
            for (const [label, f, says] of cases) {
              for (
                const [operation, write] of [
                  ["update", KonserveStore.update(key, f)],
                  ["updateIn", KonserveStore.updateIn([key, "a"], f)]
                ] as const
              ) {
                const error = yield* expectTag(write, "SerializationError")
                expect(error.key, `${operation} of ${label}`).toBe(key)
                expect(error.message, `${operation} of ${label}`).toContain(`${operation}'s function ${says}`)
                if (says.includes("Effect")) {
                  expect(error.message, `${operation} of ${label}`).toContain(
                    `${operation} takes a pure function — run the effect first`
                  )
                } else {
                  expect(error.message, `${operation} of ${label}`).toContain("return the new value itself")
                }
              }
            }
            assertSomeEqual(yield* KonserveStore.get(key), { a: 1 }, "unchanged")
            expect((yield* getMetaSome(key)).version, "nothing written").toBe(version)
            // nested, the codec names it too
            const nested = yield* expectTag(KonserveStore.assoc(key, { o: Option.some(1) }), "SerializationError")
            expect(nested.message).toContain("an Option (Option.some/none) at $.o")
          }),
        timeout
      )
    })

    // -----------------------------------------------------------------------
    block("InvalidKey", (it) => {
      const invalidKeys: ReadonlyArray<readonly [string, unknown]> = [
        ["the empty string", ""],
        ["1025 one-byte characters", "a".repeat(1025)],
        ["342 × \"€\" (1026 UTF-8 bytes, 342 UTF-16 units)", "€".repeat(342)],
        ["1023 × \"a\" + \"é\" (1025 UTF-8 bytes)", "a".repeat(1023) + "é"],
        ["a number", 42],
        ["null", null],
        ["undefined", undefined],
        ["an object", { key: "a" }],
        ["an array", ["a"]],
        ["a bigint", 1n],
        ["a symbol", Symbol("key")]
      ]
      for (const [label, bad] of invalidKeys) {
        it.effect(
          `${label} fails with InvalidKey in every operation and nothing is written`,
          () =>
            Effect.gen(function*() {
              const existing = uniqueKey("invalid-existing")
              yield* KonserveStore.assoc(existing, "keep")
              const before = yield* snapshot
              let calls = 0
              const fresh: Array<string> = []
              const operations = invalidKeyOperations(
                bad,
                () => {
                  const key = uniqueKey("invalid-fresh")
                  fresh.push(key)
                  return key
                },
                existing,
                () => calls++
              )
              for (const [operation, effect] of operations) {
                const error = yield* expectTag(
                  Effect.mapError(effect, (e) => e as KonserveError.KonserveError),
                  "InvalidKey"
                )
                assert.isTrue(deepEqual(error.key, bad), `${operation}: InvalidKey.key is ${show(error.key)}`)
                expect(typeof error.reason, operation).toBe("string")
                expect(error.reason.length, operation).toBeGreaterThan(0)
                expect(error.message.length, operation).toBeGreaterThan(0)
              }
              expect(calls, "update's f ran").toBe(0)
              expect(yield* snapshot).toBe(before)
              expect((yield* KonserveStore.multiGet(fresh)).size).toBe(0)
              assertSomeEqual(yield* KonserveStore.get(existing), "keep")
              yield* KonserveStore.dissoc(existing)
            }),
          timeout
        )
      }

      it.effect("an empty path fails with InvalidKey", () =>
        Effect.gen(function*() {
          const before = yield* snapshot
          const empty = [] as unknown as KonserveStore.Path
          yield* expectTag(KonserveStore.getIn(empty), "InvalidKey")
          yield* expectTag(KonserveStore.assocIn(empty, 1), "InvalidKey")
          yield* expectTag(KonserveStore.updateIn(empty, () => 1), "InvalidKey")
          expect(yield* snapshot).toBe(before)
        }), timeout)

      it.effect.prop(
        "random invalid keys are always rejected and nothing is written (property)",
        { bad: invalidKeyArbitrary, pick: FastCheck.nat() },
        ({ bad, pick }) =>
          Effect.gen(function*() {
            const before = yield* snapshot
            const operations = invalidKeyOperations(
              bad,
              () => uniqueKey("prop-fresh"),
              uniqueKey("prop-missing"),
              () => {}
            )
            const [operation, effect] = operations[pick % operations.length]
            const error = yield* failureOf(effect)
            assert.strictEqual((error as { _tag?: unknown })._tag, "InvalidKey", `${operation}: ${show(error)}`)
            expect(yield* snapshot).toBe(before)
          }),
        propOptions(40)
      )

      it.effect.prop(
        "any string of 1 to 1024 UTF-8 bytes is a valid key that round-trips and is listed (property)",
        { key: FastCheck.string({ unit: "binary", minLength: 1, maxLength: 200 }), value: valueArbitrary },
        ({ key, value }) =>
          Effect.gen(function*() {
            yield* KonserveStore.assoc(key, value)
            assertSomeEqual(yield* KonserveStore.get(key), value, show(key))
            expect(countOf(yield* keyNames, key)).toBe(1)
            expect(yield* KonserveStore.dissoc(key)).toBe(true)
          }),
        propOptions(30)
      )
    })

    // -----------------------------------------------------------------------
    block("properties over the value domain", (it) => {
      it.effect.prop(
        "any storable value round-trips through assoc/get, multiAssoc/multiGet and append/log (property)",
        { value: valueArbitrary },
        ({ value }) =>
          Effect.gen(function*() {
            const key = uniqueKey("prop-value")
            yield* KonserveStore.assoc(key, value)
            assertSomeEqual(yield* KonserveStore.get(key), value, "get")
            const other = uniqueKey("prop-multi")
            yield* KonserveStore.multiAssoc([[other, value]])
            assertEqual((yield* KonserveStore.multiGet([other])).get(other), value, "multiGet")
            const log = uniqueKey("prop-log")
            yield* KonserveStore.append(log, value)
            assertSomeEqual(yield* KonserveStore.log(log), [value], "log")
            yield* KonserveStore.multiDissoc([key, other, log])
          }),
        propOptions(50)
      )

      it.effect.prop(
        "user meta of any record of storable values round-trips (property)",
        { meta: FastCheck.dictionary(safeObjectKey, valueArbitrary, { maxKeys: 3, noNullPrototype: true }) },
        ({ meta }) =>
          Effect.gen(function*() {
            const key = uniqueKey("prop-meta")
            yield* KonserveStore.assoc(key, 1, { meta })
            assertEqual((yield* getMetaSome(key)).user, meta, "user meta")
            yield* KonserveStore.dissoc(key)
          }),
        propOptions(30)
      )
    })

    // -----------------------------------------------------------------------
    block("forSchema", (it) => {
      const Item = Schema.Struct({ n: Schema.Number, at: Schema.Date })
      const at = new Date("2024-05-06T07:08:09.010Z")

      it.effect("typed assoc stores the encoded form and typed get decodes it", () =>
        Effect.gen(function*() {
          const typed = yield* KonserveStore.forSchema(Item)
          const key = uniqueKey("typed")
          yield* typed.assoc(key, { n: 1, at })
          assertSomeEqual(yield* KonserveStore.get(key), { n: 1, at: "2024-05-06T07:08:09.010Z" }, "raw")
          const read = assertSome(yield* typed.get(key))
          assert.instanceOf(read.at, Date)
          assertEqual(read, { n: 1, at }, "typed")
          assertNone(yield* typed.get(uniqueKey("typed-missing")))
          const viaService = (yield* KonserveStore.KonserveStore).forSchema(Item)
          assertEqual(assertSome(yield* viaService.get(key)), { n: 1, at })
        }), timeout)

      it.effect(
        "typed update resolves to decoded { before, after } and stores the encoded after",
        () =>
          Effect.gen(function*() {
            const typed = yield* KonserveStore.forSchema(Item)
            const key = uniqueKey("typed-update")
            const created = yield* typed.update(key, (current) => {
              assert.isTrue(Option.isNone(current))
              return { n: 0, at }
            })
            assertNone(created.before)
            const later = new Date(at.getTime() + 1000)
            const result = yield* typed.update(key, (current) => ({ n: Option.getOrThrow(current).n + 1, at: later }))
            assertSomeEqual(result.before, { n: 0, at }, "before")
            assertEqual(result.after, { n: 1, at: later }, "after")
            assertSomeEqual(yield* KonserveStore.get(key), { n: 1, at: later.toISOString() }, "raw")
          }),
        timeout
      )

      it.effect("typed multiAssoc (pairs and record) and multiGet (sparse)", () =>
        Effect.gen(function*() {
          const typed = yield* KonserveStore.forSchema(Item)
          const [a, b, c, missing] = range(4).map((i) => uniqueKey(`typed-multi-${i}`))
          yield* typed.multiAssoc([[a, { n: 1, at }]])
          yield* typed.multiAssoc({ [b]: { n: 2, at }, [c]: { n: 3, at } }, { atomic: false })
          const got = yield* typed.multiGet([a, b, c, missing])
          assertEqual(got, new Map([[a, { n: 1, at }], [b, { n: 2, at }], [c, { n: 3, at }]]))
          assertSomeEqual(yield* KonserveStore.get(c), { n: 3, at: at.toISOString() }, "raw")
        }), timeout)

      it.effect("a stored value that does not decode fails with DecodeError", () =>
        Effect.gen(function*() {
          const typed = yield* KonserveStore.forSchema(Item)
          const key = uniqueKey("typed-bad")
          const good = uniqueKey("typed-good")
          yield* KonserveStore.assoc(key, { n: "not a number", at: "not a date" })
          yield* typed.assoc(good, { n: 1, at })
          const error = yield* expectTag(typed.get(key), "DecodeError")
          expect(error.key).toBe(key)
          expect(error.message.length).toBeGreaterThan(0)
          yield* expectTag(typed.multiGet([good, key]), "DecodeError")
          yield* expectTag(typed.update(key, () => ({ n: 5, at })), "DecodeError")
          assertSomeEqual(yield* KonserveStore.get(key), { n: "not a number", at: "not a date" }, "unchanged")
        }), timeout)

      it.effect(
        "a value that does not encode fails with SerializationError and nothing is written",
        () =>
          Effect.gen(function*() {
            const Positive = Schema.Struct({ n: Schema.Number.pipe(Schema.filter((n) => n > 0)) })
            const typed = yield* KonserveStore.forSchema(Positive)
            const key = uniqueKey("typed-encode")
            const error = yield* expectTag(typed.assoc(key, { n: -1 }), "SerializationError")
            expect(error.key).toBe(key)
            assertNone(yield* KonserveStore.get(key))
            const [a, b] = [uniqueKey("typed-encode-a"), uniqueKey("typed-encode-b")]
            yield* expectTag(typed.multiAssoc([[a, { n: 1 }], [b, { n: -1 }]]), "SerializationError")
            yield* expectTag(typed.multiAssoc([[a, { n: 1 }], [b, { n: -1 }]], { atomic: false }), "SerializationError")
            expect((yield* KonserveStore.multiGet([a, b])).size).toBe(0)
            yield* typed.assoc(key, { n: 1 })
            yield* expectTag(typed.update(key, () => ({ n: -5 })), "SerializationError")
            assertSomeEqual(yield* KonserveStore.get(key), { n: 1 })
          }),
        timeout
      )

      // The rest of the value surface: paths over the decoded value, logs of A, pass-throughs.
      const Doc = Schema.Struct({
        n: Schema.Number,
        at: Schema.Date,
        inner: Schema.Struct({ at: Schema.Date, tags: Schema.Array(Schema.String) })
      })
      type Doc = typeof Doc.Type
      const later = new Date(at.getTime() + 60_000)
      const doc: Doc = { n: 1, at, inner: { at, tags: ["a", "b"] } }
      /** What is stored for a Doc: its Dates as ISO strings. */
      const rawOf = (d: Doc) => ({
        n: d.n,
        at: d.at.toISOString(),
        inner: { at: d.inner.at.toISOString(), tags: d.inner.tags }
      })
      const retryConflicts = <A, E extends { readonly _tag: string }, R>(self: Effect.Effect<A, E, R>) =>
        Effect.retry(self, { while: (error) => error._tag === "ConditionFailed", times: 30 })

      it.effect(
        "typed getIn decodes the whole value with the schema and walks the decoded value",
        () =>
          Effect.gen(function*() {
            const typed = yield* KonserveStore.forSchema(Doc)
            const key = uniqueKey("typed-getIn")
            yield* typed.assoc(key, doc)
            const read = assertSome(yield* typed.getIn([key, "at"]), "at")
            assert.instanceOf(read, Date)
            assertEqual(read, at, "at")
            assert.instanceOf(assertSome(yield* typed.getIn([key, "inner", "at"])), Date)
            assertSomeEqual(yield* typed.getIn([key, "inner", "tags", 1]), "b", "a tag")
            assertSomeEqual(yield* typed.getIn([key]), doc, "the key alone")
            assertNone(yield* typed.getIn([key, "missing"]), "a missing property")
            assertNone(yield* typed.getIn([key, "inner", "tags", 5]), "an index past the end")
            assertNone(yield* typed.getIn([key, "n", "deeper"]), "a step into a number")
            assertNone(yield* typed.getIn([uniqueKey("typed-getIn-missing"), "at"]), "a missing key")
          }),
        timeout
      )

      it.effect("typed assocIn sets a typed leaf and stores the encoded whole value", () =>
        Effect.gen(function*() {
          const typed = yield* KonserveStore.forSchema(Doc)
          const key = uniqueKey("typed-assocIn")
          yield* typed.assoc(key, doc)
          yield* typed.assocIn([key, "inner", "at"], later)
          yield* typed.assocIn([key, "inner", "tags", 2], "c")
          const expected: Doc = { n: 1, at, inner: { at: later, tags: ["a", "b", "c"] } }
          assertSomeEqual(yield* typed.get(key), expected, "typed")
          assertSomeEqual(yield* KonserveStore.get(key), rawOf(expected), "raw")
          // the key alone acts on the whole value, as assoc
          yield* typed.assocIn([key], doc)
          assertSomeEqual(yield* KonserveStore.get(key), rawOf(doc), "raw after the key alone")
          // what is stored is the schema's encoding: a property the schema does not know is dropped, as Schema does
          yield* typed.assocIn([key, "unknown"], 1)
          assertSomeEqual(yield* KonserveStore.get(key), rawOf(doc), "raw after an unknown property")
          // write options as on the untyped store
          const { version } = yield* getMetaSome(key)
          yield* expectTag(typed.assocIn([key, "n"], 2, { ifVersion: "not-the-version" }), "ConditionFailed")
          yield* expectTag(typed.assocIn([key, "n"], 2, { ifAbsent: true }), "ConditionFailed")
          yield* typed.assocIn([key, "n"], 2, { ifVersion: version, meta: { by: "typed" } })
          assertSomeEqual(yield* typed.getIn([key, "n"]), 2)
          expect((yield* getMetaSome(key)).user).toEqual({ by: "typed" })
        }), timeout)

      it.effect(
        "typed updateIn resolves to the typed { before, after } at the path and stores the encoded whole value",
        () =>
          Effect.gen(function*() {
            const typed = yield* KonserveStore.forSchema(Doc)
            const key = uniqueKey("typed-updateIn")
            yield* typed.assoc(key, doc)
            const moved = yield* typed.updateIn([key, "inner", "at"], (current) => {
              const date = assertSome(current, "f's argument")
              assert.instanceOf(date, Date)
              return new Date((date as Date).getTime() + 60_000)
            })
            assert.instanceOf(assertSome(moved.before), Date)
            assertSomeEqual(moved.before, at, "before")
            assertEqual(moved.after, later, "after")
            const counted = yield* typed.updateIn([key, "n"], increment)
            assertSomeEqual(counted.before, 1, "before")
            expect(counted.after).toBe(2)
            const added = yield* typed.updateIn([key, "inner", "tags", 2], (current) => {
              assertNone(current, "f's argument at a missing index")
              return "c"
            })
            assertNone(added.before, "before at a missing index")
            const expected: Doc = { n: 2, at, inner: { at: later, tags: ["a", "b", "c"] } }
            assertSomeEqual(yield* KonserveStore.get(key), rawOf(expected), "raw")
            // the key alone acts on the whole value, as update
            const whole = yield* typed.updateIn([key], (current) => ({ ...(assertSome(current) as Doc), n: 10 }))
            assertSomeEqual(whole.before, expected, "before of the key alone")
            assertSomeEqual(yield* typed.getIn([key, "n"]), 10)
          }),
        timeout
      )

      it.effect("concurrent typed updateIn increments lose nothing (10 fibers)", () =>
        Effect.gen(function*() {
          const typed = yield* KonserveStore.forSchema(Doc)
          const key = uniqueKey("typed-counter")
          yield* typed.assoc(key, { ...doc, n: 0 })
          const results = yield* Effect.all(
            range(10).map(() => retryConflicts(typed.updateIn([key, "n"], increment))),
            { concurrency: "unbounded" }
          )
          assertSomeEqual(yield* typed.getIn([key, "n"]), 10, "the counter")
          expect(results.map((r) => r.after as number).sort((a, b) => a - b)).toEqual(range(10).map((i) => i + 1))
          assertSomeEqual(yield* typed.get(key), { ...doc, n: 10 }, "the rest of the value")
        }), timeout)

      it.effect(
        "typed assocIn and updateIn whose new whole value does not encode fail with SerializationError; nothing written",
        () =>
          Effect.gen(function*() {
            const typed = yield* KonserveStore.forSchema(Doc)
            const key = uniqueKey("typed-path-encode")
            yield* typed.assoc(key, doc)
            const { version } = yield* getMetaSome(key)
            const deep: KonserveStore.Path = [key, ...range(513).map(() => "a")]
            const writes: ReadonlyArray<readonly [string, Effect.Effect<unknown, KonserveError.KonserveError, Store>]> =
              [
                ["assocIn of a string where a Date belongs", typed.assocIn([key, "at"], "not a date")],
                ["updateIn returning a string where a number belongs", typed.updateIn([key, "n"], () => "x")],
                ["assocIn through a number", typed.assocIn([key, "n", "deeper"], 1)],
                ["assocIn past the end of an array", typed.assocIn([key, "inner", "tags", 5], "z")],
                ["assocIn along a path deeper than 512", typed.assocIn(deep, 1)],
                ["updateIn along a path deeper than 512", typed.updateIn(deep, () => 1)]
              ]
            for (const [label, write] of writes) {
              const error = yield* expectTag(write, "SerializationError")
              expect(error.key, label).toBe(key)
              expect(error.message.length, label).toBeGreaterThan(0)
            }
            assertSomeEqual(yield* KonserveStore.get(key), rawOf(doc), "unchanged")
            expect((yield* getMetaSome(key)).version, "nothing written").toBe(version)
            // on a missing key the objects assocIn creates are not a whole Doc
            const missing = uniqueKey("typed-path-encode-missing")
            yield* expectTag(typed.assocIn([missing, "n"], 1), "SerializationError")
            yield* expectTag(typed.updateIn([missing, "n"], increment), "SerializationError")
            expect(yield* KonserveStore.exists(missing)).toBe(false)
          }),
        timeout
      )

      it.effect(
        "typed getIn, assocIn and updateIn of a stored value that does not decode fail with DecodeError; nothing written",
        () =>
          Effect.gen(function*() {
            const typed = yield* KonserveStore.forSchema(Doc)
            const key = uniqueKey("typed-path-decode")
            yield* KonserveStore.assoc(key, { n: "not a number", at: "not a date" })
            const { version } = yield* getMetaSome(key)
            let calls = 0
            const operations: ReadonlyArray<
              readonly [string, Effect.Effect<unknown, KonserveError.KonserveError, Store>]
            > = [
              ["getIn", typed.getIn([key, "n"])],
              ["getIn of the key alone", typed.getIn([key])],
              ["assocIn", typed.assocIn([key, "n"], 1)],
              ["updateIn", typed.updateIn([key, "n"], () => calls++)]
            ]
            for (const [label, operation] of operations) {
              const error = yield* expectTag(operation, "DecodeError")
              expect(error.key, label).toBe(key)
              expect(error.message, label).toContain("does not decode with the schema")
            }
            expect(calls, "updateIn's f ran").toBe(0)
            assertSomeEqual(yield* KonserveStore.get(key), { n: "not a number", at: "not a date" }, "unchanged")
            expect((yield* getMetaSome(key)).version, "nothing written").toBe(version)
          }),
        timeout
      )

      it.effect(
        "typed append, log and reduceLog: a log of A, each element encoded and decoded with the schema",
        () =>
          Effect.gen(function*() {
            const typed = yield* KonserveStore.forSchema(Item)
            const key = uniqueKey("typed-log")
            assertNone(yield* typed.log(key), "log of a missing key")
            expect(yield* typed.reduceLog(key, 0, (acc, element) => acc + element.n)).toBe(0)
            yield* typed.append(key, { n: 1, at })
            yield* typed.append(key, { n: 2, at: later })
            assertSomeEqual(
              yield* KonserveStore.log(key),
              [{ n: 1, at: at.toISOString() }, { n: 2, at: later.toISOString() }],
              "raw"
            )
            const elements = assertSome(yield* typed.log(key))
            assertEqual(elements, [{ n: 1, at }, { n: 2, at: later }], "typed")
            elements.forEach((element) => assert.instanceOf(element.at, Date))
            const times = yield* typed.reduceLog(
              key,
              [] as Array<number>,
              (acc, element) => [...acc, element.at.getTime()]
            )
            expect(times).toEqual([at.getTime(), later.getTime()])
            // an element that does not encode: nothing appended
            const error = yield* expectTag(
              typed.append(key, { n: 3, at: "not a date" as unknown as Date }),
              "SerializationError"
            )
            expect(error.key).toBe(key)
            expect((yield* getMetaSome(key)).size, "the log's element count").toBe(2)
            // a log of a value key is none, as on the untyped store
            const valueKey = uniqueKey("typed-log-value")
            yield* typed.assoc(valueKey, { n: 1, at })
            assertNone(yield* typed.log(valueKey), "log of a value key")
            // an element that does not decode
            yield* KonserveStore.append(key, { n: "not a number" })
            yield* expectTag(typed.log(key), "DecodeError")
            yield* expectTag(typed.reduceLog(key, 0, (acc) => acc + 1), "DecodeError")
          }),
        timeout
      )

      it.effect(
        "typed dissoc, exists, getMeta, keys and multiDissoc pass through to the store",
        () =>
          Effect.gen(function*() {
            const typed = yield* KonserveStore.forSchema(Item)
            const [a, b] = [uniqueKey("typed-pass-a"), uniqueKey("typed-pass-b")]
            yield* typed.assoc(a, { n: 1, at })
            yield* typed.assoc(b, { n: 2, at })
            expect(yield* typed.exists(a)).toBe(true)
            const meta = assertSome(yield* typed.getMeta(a))
            expect(meta.key).toBe(a)
            expect(meta.type).toBe("value")
            assertEqual(meta, assertSome(yield* KonserveStore.getMeta(a)), "the store's Meta")
            const listed = Chunk.toReadonlyArray(yield* Stream.runCollect(typed.keys)).map((m) => m.key)
            expect(countOf(listed, a)).toBe(1)
            expect(yield* typed.dissoc(a)).toBe(true)
            expect(yield* typed.dissoc(a)).toBe(false)
            expect(yield* typed.exists(a)).toBe(false)
            assertNone(yield* typed.getMeta(a))
            assertEqual(yield* typed.multiDissoc([a, b]), new Map([[a, false], [b, true]]))
            expect(yield* KonserveStore.exists(b)).toBe(false)
          }),
        timeout
      )

      it.effect(
        "typed update and updateIn whose f returns an Option or an Effect fail with SerializationError saying so",
        () =>
          Effect.gen(function*() {
            const typed = yield* KonserveStore.forSchema(Item)
            const key = uniqueKey("typed-wrapped")
            yield* typed.assoc(key, { n: 1, at })
            const { version } = yield* getMetaSome(key)
            const writes: ReadonlyArray<
              readonly [string, string, Effect.Effect<unknown, KonserveError.KonserveError, Store>]
            > = [
              ["update", "an Option", typed.update(key, (current) => current as unknown as typeof Item.Type)],
              ["update", "an Effect", typed.update(key, () => Effect.succeed({ n: 2, at }) as never)],
              ["updateIn", "an Option", typed.updateIn([key, "n"], (current) => current)],
              ["updateIn", "an Effect", typed.updateIn([key, "n"], () => Effect.succeed(2))]
            ]
            for (const [operation, what, write] of writes) {
              const error = yield* expectTag(write, "SerializationError")
              expect(error.key).toBe(key)
              expect(error.message, `${operation} returning ${what}`).toContain(
                `${operation}'s function returned ${what}`
              )
            }
            assertSomeEqual(yield* KonserveStore.get(key), { n: 1, at: at.toISOString() }, "unchanged")
            expect((yield* getMetaSome(key)).version, "nothing written").toBe(version)
            // where the schema's own type holds an Option, an Option is the value itself
            const maybe = yield* KonserveStore.forSchema(Schema.OptionFromNullOr(Schema.Number))
            const other = uniqueKey("typed-option")
            yield* maybe.update(other, () => Option.some(1))
            assertSomeEqual(yield* KonserveStore.get(other), 1, "raw some")
            expect(Option.getOrThrow(assertSome(yield* maybe.get(other), "typed some"))).toBe(1)
            yield* maybe.update(other, () => Option.none())
            assertSomeEqual(yield* KonserveStore.get(other), null, "raw none")
            const Holder = Schema.Struct({ o: Schema.OptionFromNullOr(Schema.Number) })
            const holders = yield* KonserveStore.forSchema(Holder)
            yield* holders.assoc(other, { o: Option.none() })
            yield* holders.updateIn([other, "o"], () => Option.some(2))
            assertSomeEqual(yield* KonserveStore.get(other), { o: 2 }, "raw field")
          }),
        timeout
      )

      it.effect.prop(
        "typed assoc, assocIn, updateIn, getIn and append/log of random Dates and numbers match the model (property)",
        {
          n: FastCheck.double(),
          first: FastCheck.date({ noInvalidDate: true }),
          second: FastCheck.date({ noInvalidDate: true }),
          tags: FastCheck.array(FastCheck.string({ maxLength: 4 }), { maxLength: 3 })
        },
        ({ first, n, second, tags }) =>
          Effect.gen(function*() {
            const typed = yield* KonserveStore.forSchema(Doc)
            const key = uniqueKey("prop-typed")
            yield* typed.assoc(key, { n: 0, at: first, inner: { at: first, tags } })
            yield* typed.assocIn([key, "inner", "at"], second)
            const updated = yield* typed.updateIn([key, "n"], () => n)
            assertSomeEqual(updated.before, 0, "before")
            const expected: Doc = { n, at: first, inner: { at: second, tags } }
            assertSomeEqual(yield* typed.get(key), expected, "typed")
            assertSomeEqual(yield* typed.getIn([key, "inner", "at"]), second, "getIn")
            assertSomeEqual(yield* KonserveStore.get(key), rawOf(expected), "raw")
            const log = uniqueKey("prop-typed-log")
            yield* typed.append(log, expected)
            assertSomeEqual(yield* typed.log(log), [expected], "log")
            yield* KonserveStore.multiDissoc([key, log])
          }),
        propOptions(25)
      )
    })

    // -----------------------------------------------------------------------
    layer(Layer.provideMerge(KonserveStore.layerKeyValueStore, makeLayer()), layerOptions)(
      "layerKeyValueStore (@effect/platform KeyValueStore)",
      (it) => {
        const cleared = Effect.gen(function*() {
          const kv = yield* KeyValueStore.KeyValueStore
          yield* kv.clear
          return kv
        })

        it.effect("set, get and size", () =>
          Effect.gen(function*() {
            const kv = yield* cleared
            yield* kv.set("/foo/bar", "bar")
            assertSomeEqual(yield* kv.get("/foo/bar"), "bar")
            expect(yield* kv.size).toBe(1)
          }), timeout)

        it.effect("get of a missing key is none", () =>
          Effect.gen(function*() {
            const kv = yield* cleared
            assertNone(yield* kv.get("foo"))
            assertNone(yield* kv.getUint8Array("foo"))
          }), timeout)

        it.effect("remove", () =>
          Effect.gen(function*() {
            const kv = yield* cleared
            yield* kv.set("foo", "bar")
            yield* kv.remove("foo")
            assertNone(yield* kv.get("foo"))
            expect(yield* kv.size).toBe(0)
            yield* kv.remove("foo")
          }), timeout)

        it.effect("clear", () =>
          Effect.gen(function*() {
            const kv = yield* cleared
            yield* kv.set("foo", "bar")
            yield* kv.set("baz", new Uint8Array([1]))
            yield* kv.clear
            assertNone(yield* kv.get("foo"))
            expect(yield* kv.size).toBe(0)
            expect(yield* kv.isEmpty).toBe(true)
          }), timeout)

        it.effect("modify", () =>
          Effect.gen(function*() {
            const kv = yield* cleared
            yield* kv.set("foo", "bar")
            assertSomeEqual(yield* kv.modify("foo", (v) => v + "bar"), "barbar")
            assertSomeEqual(yield* kv.get("foo"), "barbar")
            expect(yield* kv.size).toBe(1)
          }), timeout)

        it.effect("concurrent modifies lose nothing (20 fibers, string and bytes)", () =>
          Effect.gen(function*() {
            const kv = yield* KeyValueStore.KeyValueStore
            yield* kv.set("counter", "0")
            yield* kv.set("bytes-counter", new Uint8Array([0]))
            yield* Effect.all(
              Array.from({ length: 20 }, (_, i) =>
                i % 2 === 0
                  ? kv.modify("counter", (v) => String(Number(v) + 1))
                  : kv.modifyUint8Array("bytes-counter", (v) => Uint8Array.from([v[0] + 1]))),
              { concurrency: "unbounded" }
            )
            assertSomeEqual(yield* kv.get("counter"), "10")
            assertSomeEqual(yield* kv.getUint8Array("bytes-counter"), new Uint8Array([10]))
          }), timeout)

        it.effect("modify of a missing key is none and writes nothing", () =>
          Effect.gen(function*() {
            const kv = yield* cleared
            assertNone(yield* kv.modify("foo", (v) => v + "bar"))
            expect(yield* kv.size).toBe(0)
          }), timeout)

        it.effect("modifyUint8Array", () =>
          Effect.gen(function*() {
            const kv = yield* cleared
            yield* kv.set("bytes", new Uint8Array([1, 2]))
            const modified = yield* kv.modifyUint8Array("bytes", (v) => Uint8Array.from([...v, 3]))
            assertBytes(assertSome(modified), new Uint8Array([1, 2, 3]))
            assertBytes(assertSome(yield* kv.getUint8Array("bytes")), new Uint8Array([1, 2, 3]))
          }), timeout)

        it.effect("has and isEmpty", () =>
          Effect.gen(function*() {
            const kv = yield* cleared
            expect(yield* kv.isEmpty).toBe(true)
            expect(yield* kv.has("foo")).toBe(false)
            yield* kv.set("foo", "bar")
            expect(yield* kv.has("foo")).toBe(true)
            expect(yield* kv.isEmpty).toBe(false)
          }), timeout)

        it.effect(
          "getUint8Array of a string is its UTF-8 bytes; get of bytes is their UTF-8 text",
          () =>
            Effect.gen(function*() {
              const kv = yield* cleared
              yield* kv.set("text", "h€llo")
              assertBytes(assertSome(yield* kv.getUint8Array("text")), utf8.encode("h€llo"))
              yield* kv.set("bytes", utf8.encode("wörld 😀"))
              assertSomeEqual(yield* kv.get("bytes"), "wörld 😀")
              assertBytes(assertSome(yield* kv.getUint8Array("bytes")), utf8.encode("wörld 😀"))
            }),
          timeout
        )

        it.effect("set stores a string or bytes as a konserve value", () =>
          Effect.gen(function*() {
            const kv = yield* cleared
            yield* kv.set("text", "plain")
            yield* kv.set("bytes", new Uint8Array([9, 8]))
            assertSomeEqual(yield* KonserveStore.get("text"), "plain")
            assertBytes(assertSome(yield* KonserveStore.get("bytes")), new Uint8Array([9, 8]))
            expect((yield* getMetaSome("text")).type).toBe("value")
          }), timeout)

        it.effect("clear removes and size counts every key of the store, of every kind", () =>
          Effect.gen(function*() {
            const kv = yield* cleared
            yield* kv.set("kv", "1")
            yield* KonserveStore.assoc("value", { a: 1 })
            yield* KonserveStore.bassoc("binary", randomBytes(600_000, 71))
            yield* KonserveStore.append("log", 1)
            expect(yield* kv.size).toBe(4)
            yield* kv.clear
            expect(yield* kv.size).toBe(0)
            expect(yield* keyNames).toEqual([])
          }), timeout)

        it.effect("SchemaStore: set, get, modify, has and size through forSchema", () =>
          Effect.gen(function*() {
            const kv = yield* cleared
            const User = Schema.Struct({ name: Schema.String, age: Schema.Number })
            const users = kv.forSchema(User)
            yield* users.set("foo", { name: "foo", age: 42 })
            yield* users.modify("foo", (user) => ({ ...user, age: 43 }))
            assertSomeEqual(yield* users.get("foo"), { name: "foo", age: 43 })
            expect(yield* users.has("foo")).toBe(true)
            expect(yield* users.size).toBe(1)
            assertNone(yield* users.get("missing"))
          }), timeout)

        it.effect(
          "an invalid key fails with a PlatformError whose cause is the InvalidKey",
          () =>
            Effect.gen(function*() {
              const kv = yield* cleared
              for (
                const [operation, effect] of [
                  ["get", kv.get("")],
                  ["getUint8Array", kv.getUint8Array("")],
                  ["set", kv.set("", "x")],
                  ["remove", kv.remove("")],
                  ["has", kv.has("")],
                  ["modify", kv.modify("", (v) => v)]
                ] as const
              ) {
                const error = yield* failureOf<unknown, unknown, never>(effect)
                assert.isTrue(PlatformError.isPlatformError(error), `${operation}: ${show(error)}`)
                const cause = (error as { readonly cause?: unknown }).cause
                assert.instanceOf(cause, KonserveError.InvalidKey, `${operation}: cause ${show(cause)}`)
              }
              expect(yield* kv.size).toBe(0)
            }),
          timeout
        )
      }
    )
  })

  it.effect(`${name}: compliance helpers are sound`, () =>
    Effect.sync(() => {
      // the model and helpers the suite relies on must themselves hold
      expect(utf8Bytes("€".repeat(342))).toBe(1026)
      expect(utf8Bytes(textOfBytes(1000))).toBe(1000)
      expect(concatBytes(chunksOf(randomBytes(300_000))).byteLength).toBe(300_000)
      assertEqual(setIn(undefined, ["a", "b"], 1), { a: { b: 1 } })
      assertEqual(setIn([1, { x: 2 }], [1, "x"], 3), [1, { x: 3 }])
      assertEqual(setIn(new Map([[1, {}]]), [1, "y"], 4), new Map([[1, { y: 4 }]]))
      expect(deepEqual(-0, 0)).toBe(false)
    }))
}
