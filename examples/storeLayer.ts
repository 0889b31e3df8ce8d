/**
 * The store the example runs on.
 */
import { MemoryStore } from "../src/index.js"

export const storeLayer = MemoryStore.layer()
