/**
 * A checkpointed feed consumer killed at random points: a child process
 * (test/utils/feedConsumer.ts, bundled) reading `DynamoDBStore.changes`
 * with a checkpoint is SIGKILLed 5 times while a writer runs, and restarted
 * with the same checkpoint each time; the changes printed across its runs
 * hold every write (no change missing), repeats only of what a run had not
 * finished.
 */
import { beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as ChildProcess from "node:child_process"
import * as Path from "node:path"
import * as DynamoDBStore from "../src/DynamoDBStore.js"
import { bundleEntry, capture } from "./utils/cli.js"
import { endpoint, storeConfig, uniqueTable } from "./utils/dynamodb.js"
import * as Proxy from "./utils/proxy.js"

const root = Path.resolve(import.meta.dirname, "..")
const bundle = Path.join(root, "node_modules", ".cache", "konserve-dynamodb-cli-test", `consumer-${process.pid}.mjs`)

beforeAll(() => bundleEntry(Path.join("test", "utils", "feedConsumer.ts"), bundle))

interface Consumer {
  readonly lines: () => ReadonlyArray<string>
  /** Resolves when `predicate` holds, or after `deadline` milliseconds. */
  readonly waitFor: (predicate: (lines: ReadonlyArray<string>) => boolean, deadline?: number) => Promise<void>
  readonly kill: () => Promise<void>
}

const consume = (table: string, prefix: string, checkpoint: string): Consumer => {
  const child = ChildProcess.spawn(process.execPath, [bundle, endpoint(), table, prefix, checkpoint], {
    cwd: root,
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
    stdio: ["ignore", "pipe", "pipe"]
  })
  const captured = capture(child)
  // only whole lines: a kill may cut the last one
  const lines = () => captured.out().split("\n").slice(0, -1)
  return {
    lines,
    waitFor: async (predicate, deadline = Number.POSITIVE_INFINITY) => {
      const until = Date.now() + deadline
      setTimeout(captured.wake, Math.min(deadline, 2 ** 31 - 1)).unref()
      while (!predicate(lines()) && Date.now() < until) await captured.more("consumer")
    },
    kill: async () => {
      child.kill("SIGKILL")
      await captured.closed
    }
  }
}

describe("a checkpointed consumer killed at random points", { timeout: 120_000 }, () => {
  it.scopedLive("misses no change across 5 kills and restarts", () =>
    Effect.gen(function*() {
      const table = uniqueTable("crash")
      const config = storeConfig(endpoint(), table, { prefix: "x", stream: true })
      const store = yield* DynamoDBStore.make(config)
      // a writer slow enough that the kills fall while it runs
      const writes = 100
      const writer = yield* Effect.forEach(
        Array.from({ length: writes }, (_, i) => i),
        (i) => Effect.zipRight(store.assoc(`k${i}`, i), Effect.sleep("150 millis")),
        { discard: true }
      ).pipe(Effect.fork)
      const next = Proxy.random(77)
      const printed: Array<string> = []
      const runs: Array<number> = []
      for (let run = 0; run < 5; run++) {
        const consumer = consume(table, "x", "crash")
        const wanted = 1 + Math.floor(next() * 15)
        // (or, when the writer is done and nothing new comes, a few seconds)
        yield* Effect.promise(() => consumer.waitFor((lines) => lines.length >= wanted, 8_000))
        // a random moment after that
        yield* Effect.sleep(`${Math.floor(next() * 100)} millis`)
        yield* Effect.promise(() => consumer.kill())
        printed.push(...consumer.lines())
        runs.push(consumer.lines().length)
      }
      yield* Fiber.join(writer)
      yield* store.assoc("end", true)
      const last = consume(table, "x", "crash")
      yield* Effect.promise(() => last.waitFor((lines) => lines.some((line) => line.startsWith("end "))))
      yield* Effect.promise(() => last.kill())
      printed.push(...last.lines())
      const seen = new Set(printed.map((line) => line.split(" ").slice(0, 2).join(" ")))
      for (let i = 0; i < writes; i++) {
        const meta = yield* store.getMeta(`k${i}`)
        expect(meta._tag).toBe("Some")
        if (meta._tag === "Some") expect(seen.has(`k${i} ${meta.value.version}`)).toBe(true)
      }
      // the kills fell while changes flowed
      expect(runs.filter((n) => n > 0).length).toBeGreaterThanOrEqual(3)
      // repeats are bounded: at most a batch per kill, far fewer than the writes
      expect(printed.length - seen.size).toBeLessThan(writes)
    }))
})
