/**
 * Keyv's own cases (@keyv/test-suite: the API, values and namespace cases of
 * its default export, and its iterator cases) against KeyvKonserve, under
 * Keyv 5. Keyv 5 wires `keyv.iterator()` only for adapters it knows by name:
 * the iterator cases get a Keyv whose constructor calls
 * `KeyvKonserve.withIterator`, as docs/promise.md tells users to.
 */
import keyvTestSuite, { keyvIteratorTests } from "@keyv/test-suite"
import Keyv from "keyv"
import * as Vitest from "vitest"
import { KeyvKonserve } from "../../src/keyv.ts"

class IterableKeyv extends Keyv {
  constructor(...args) {
    super(...args)
    KeyvKonserve.withIterator(this)
  }
}

/** Keyv's cases on a store opened by `open` (`() => Promise<Store>`), one adapter per Keyv as the suite asks. */
export const run = (name, open) => {
  Vitest.describe(name, () => {
    let store
    Vitest.beforeAll(async () => {
      store = await open()
    })
    Vitest.afterAll(async () => {
      await store?.close()
    })
    const adapter = () => new KeyvKonserve(store)
    keyvTestSuite(Vitest, Keyv, adapter)
    keyvIteratorTests(Vitest, IterableKeyv, adapter)
  })
}
