/**
 * The compliance suite on a cached MemoryStore: the cache keeps every
 * behaviour of the contract for a single process (read-your-writes, expiry on
 * the `Clock`, failures, typed views), with a budget small enough that
 * entries are evicted all the time.
 */
import * as Layer from "effect/Layer"
import * as KonserveStore from "../src/KonserveStore.js"
import * as MemoryStore from "../src/MemoryStore.js"
import { compliance } from "./compliance.js"

compliance(
  "MemoryStore behind layerCache",
  (options) =>
    KonserveStore.layerCache({ ttl: "1 hour", maxBytes: 4096 }).pipe(Layer.provide(MemoryStore.layer(options)))
)
