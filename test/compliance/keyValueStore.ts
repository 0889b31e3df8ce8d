/**
 * Compliance: layerKeyValueStore (@effect/platform KeyValueStore). Called
 * from `test/compliance.ts` for every backend.
 */
import * as PlatformError from "@effect/platform/Error"
import * as KeyValueStore from "@effect/platform/KeyValueStore"
import { assert, expect, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as KonserveError from "../../src/KonserveError.js"
import * as KonserveStore from "../../src/KonserveStore.js"
import {
  assertBytes,
  assertNone,
  assertSome,
  assertSomeEqual,
  failureOf,
  getMetaSome,
  keyNames,
  randomBytes,
  show,
  utf8
} from "./helpers.js"
import type { Suite } from "./helpers.js"

/** Registers the compliance tests of layerKeyValueStore (@effect/platform KeyValueStore). */
export const keyValueStoreSuite = ({ makeLayer, layerOptions }: Suite): void => {
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
        }))

      it.effect("get of a missing key is none", () =>
        Effect.gen(function*() {
          const kv = yield* cleared
          assertNone(yield* kv.get("foo"))
          assertNone(yield* kv.getUint8Array("foo"))
        }))

      it.effect("remove", () =>
        Effect.gen(function*() {
          const kv = yield* cleared
          yield* kv.set("foo", "bar")
          yield* kv.remove("foo")
          assertNone(yield* kv.get("foo"))
          expect(yield* kv.size).toBe(0)
          yield* kv.remove("foo")
        }))

      it.effect("clear", () =>
        Effect.gen(function*() {
          const kv = yield* cleared
          yield* kv.set("foo", "bar")
          yield* kv.set("baz", new Uint8Array([1]))
          yield* kv.clear
          assertNone(yield* kv.get("foo"))
          expect(yield* kv.size).toBe(0)
          expect(yield* kv.isEmpty).toBe(true)
        }))

      it.effect("modify", () =>
        Effect.gen(function*() {
          const kv = yield* cleared
          yield* kv.set("foo", "bar")
          assertSomeEqual(yield* kv.modify("foo", (v) => v + "bar"), "barbar")
          assertSomeEqual(yield* kv.get("foo"), "barbar")
          expect(yield* kv.size).toBe(1)
        }))

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
        }))

      it.effect("modify of a missing key is none and writes nothing", () =>
        Effect.gen(function*() {
          const kv = yield* cleared
          assertNone(yield* kv.modify("foo", (v) => v + "bar"))
          expect(yield* kv.size).toBe(0)
        }))

      it.effect("modifyUint8Array", () =>
        Effect.gen(function*() {
          const kv = yield* cleared
          yield* kv.set("bytes", new Uint8Array([1, 2]))
          const modified = yield* kv.modifyUint8Array("bytes", (v) => Uint8Array.from([...v, 3]))
          assertBytes(assertSome(modified), new Uint8Array([1, 2, 3]))
          assertBytes(assertSome(yield* kv.getUint8Array("bytes")), new Uint8Array([1, 2, 3]))
        }))

      it.effect("has and isEmpty", () =>
        Effect.gen(function*() {
          const kv = yield* cleared
          expect(yield* kv.isEmpty).toBe(true)
          expect(yield* kv.has("foo")).toBe(false)
          yield* kv.set("foo", "bar")
          expect(yield* kv.has("foo")).toBe(true)
          expect(yield* kv.isEmpty).toBe(false)
        }))

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
          })
      )

      it.effect("set stores a string or bytes as a konserve value", () =>
        Effect.gen(function*() {
          const kv = yield* cleared
          yield* kv.set("text", "plain")
          yield* kv.set("bytes", new Uint8Array([9, 8]))
          assertSomeEqual(yield* KonserveStore.get("text"), "plain")
          assertBytes(assertSome(yield* KonserveStore.get("bytes")), new Uint8Array([9, 8]))
          expect((yield* getMetaSome("text")).type).toBe("value")
        }))

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
        }))

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
        }))

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
          })
      )
    }
  )
}
