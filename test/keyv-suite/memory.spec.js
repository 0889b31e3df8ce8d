import { open } from "../../src/promise.ts"
import { run } from "./suite.js"

run("KeyvKonserve on MemoryStore", () => open({ memory: true }))
