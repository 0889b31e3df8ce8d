/**
 * The compliance suite: the one set of tests that every backend of the
 * `KonserveStore` contract (`/API.md`) runs. A backend's test file calls
 * `compliance(name, makeLayer)`; `makeLayer()` must return a layer of a
 * fresh, isolated, empty store on every call.
 *
 * Tests share a store per `layer(...)` block and isolate themselves with
 * unique keys; tests that must see the whole store (`keys`, the platform
 * `KeyValueStore`'s `clear`/`size`, "nothing written" properties) get a
 * block, and so a store, of their own. The blocks live in
 * `test/compliance/*.ts`, one concern a file; this index runs them all.
 */
import { describe, expect, it, layer } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as KonserveStore from "../src/KonserveStore.js"
import { appendSuite } from "./compliance/append.js"
import { binariesSuite } from "./compliance/binaries.js"
import { changesSuite } from "./compliance/changes.js"
import { conditionsSuite } from "./compliance/conditions.js"
import { coreSuite } from "./compliance/core.js"
import { setIn } from "./compliance/domain.js"
import { errorsSuite } from "./compliance/errors.js"
import { gcSuite } from "./compliance/gc.js"
import type { LayerOptions, Suite } from "./compliance/helpers.js"
import { assertEqual, chunksOf, concatBytes, randomBytes, textOfBytes, utf8Bytes } from "./compliance/helpers.js"
import { keysSuite } from "./compliance/keys.js"
import { keyValueStoreSuite } from "./compliance/keyValueStore.js"
import { propertiesSuite } from "./compliance/properties.js"
import { transactSuite } from "./compliance/transact.js"
import { deepEqual } from "./utils/deepEqual.js"

/**
 * Registers the whole compliance suite for one backend. `makeLayer()` must
 * return a layer of a fresh, isolated, empty store each time it is called
 * (MemoryStore: a new store; DynamoDB: a new prefix or table). The
 * `maxValueBytes` of those stores is whatever `makeLayer(options)` is given.
 * `timeout` (ms) is set once, on the suite's `describe`, for every test in it.
 */
export const compliance = (
  name: string,
  makeLayer: (options?: LayerOptions) => Layer.Layer<KonserveStore.KonserveStore, unknown>,
  options?: { readonly timeout?: number }
): void => {
  const timeout = options?.timeout
  const layerOptions = timeout === undefined ? {} : { timeout: Duration.millis(timeout) }
  const suite: Suite = {
    block: (title, f, store = makeLayer()) => layer(store, layerOptions)(title, f),
    makeLayer,
    layerOptions,
    propOptions: (numRuns) => ({ fastCheck: { numRuns } })
  }

  describe(`${name}: KonserveStore compliance`, timeout === undefined ? {} : { timeout }, () => {
    changesSuite(suite.block, timeout, suite.propOptions)
    transactSuite(suite.block, timeout)
    coreSuite(suite)
    conditionsSuite(suite)
    gcSuite(suite)
    keysSuite(suite)
    appendSuite(suite)
    binariesSuite(suite)
    errorsSuite(suite)
    propertiesSuite(suite)
    keyValueStoreSuite(suite)
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
