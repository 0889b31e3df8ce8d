/**
 * `konserve-dynamodb watch` and `stat`'s stream line, as child processes
 * (the CLI bundled with esbuild) against the run's DynamoDB Local: JSON
 * Lines per change, Ctrl-C (SIGINT) exits 130 with the checkpoint saved, a
 * restart with the checkpoint goes on from there.
 */
import { beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as ChildProcess from "node:child_process"
import * as DynamoDBStore from "../src/DynamoDBStore.js"
import { buildCli, bundlePath, capture, root } from "./utils/cli.js"
import { endpoint, storeConfig, uniqueTable } from "./utils/dynamodb.js"

/** The CLI bundled once (a `tsx` start costs seconds on a busy machine). */
beforeAll(buildCli)

interface Watcher {
  /** Resolves with the first `n` stdout lines. */
  readonly lines: (n: number) => Promise<ReadonlyArray<string>>
  readonly interrupt: () => Promise<{ readonly status: number | null; readonly stderr: string }>
}

const env = (table: string) => ({
  ...process.env,
  KONSERVE_TABLE: table,
  AWS_ACCESS_KEY_ID: "local",
  AWS_SECRET_ACCESS_KEY: "local",
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
  NO_COLOR: "1"
})

const start = (table: string, args: ReadonlyArray<string>): Watcher => {
  const child = ChildProcess.spawn(
    process.execPath,
    [bundlePath(), ...args, "--endpoint", endpoint(), "--region", "us-east-1"],
    { cwd: root, env: env(table), stdio: ["ignore", "pipe", "pipe"] }
  )
  const captured = capture(child)
  const current = () => captured.out().split("\n").filter((line) => line !== "")
  return {
    lines: async (n) => {
      while (current().length < n) await captured.more("watch")
      return current().slice(0, n)
    },
    interrupt: async () => {
      child.kill("SIGINT")
      return { status: await captured.closed, stderr: captured.err() }
    }
  }
}

const run = (table: string, args: ReadonlyArray<string>) =>
  Effect.promise(() =>
    new Promise<{ readonly status: number | null; readonly out: string }>((resolve) => {
      const child = ChildProcess.spawn(
        process.execPath,
        [bundlePath(), ...args, "--endpoint", endpoint(), "--region", "us-east-1"],
        { cwd: root, env: env(table), stdio: ["ignore", "pipe", "pipe"] }
      )
      let out = ""
      child.stdout.on("data", (data: Buffer) => {
        out += data.toString("utf8")
      })
      child.on("close", (status) => resolve({ status, out }))
    })
  )

describe("konserve-dynamodb watch", { timeout: 90_000 }, () => {
  it.scopedLive("prints JSON Lines, exits 130 on Ctrl-C with the checkpoint saved, resumes from it", () =>
    Effect.gen(function*() {
      const table = uniqueTable("watch")
      const config = storeConfig(endpoint(), table, { stream: true })
      const store = yield* DynamoDBStore.make(config)
      const first = start(table, ["watch", "--json", "--from", "oldest", "--checkpoint", "w"])
      yield* store.assoc("k1", "one")
      yield* store.assoc("k2", "two")
      yield* store.dissoc("k1")
      const printed = (yield* Effect.promise(() => first.lines(3))).map((line) => JSON.parse(line))
      expect(printed.map((c) => [c.key, c.op])).toEqual([["k1", "write"], ["k2", "write"], ["k1", "remove"]])
      expect(printed[0].size).toBeGreaterThan(0)
      expect(typeof printed[0].version).toBe("string")
      const stopped = yield* Effect.promise(() => first.interrupt())
      expect(stopped.status).toBe(130)
      yield* store.assoc("k3", "three")
      const second = start(table, ["watch", "--checkpoint", "w"])
      const resumed = yield* Effect.promise(() => second.lines(1))
      expect(resumed[0]).toMatch(/^"k3" {2}write {2}[A-Za-z0-9_-]{16} {2}/)
      yield* Effect.promise(() => second.interrupt())
      const stat = yield* run(table, ["stat", "--json"])
      expect(JSON.parse(stat.out).stream).toBe(true)
    }))

  it.scopedLive("fails with StreamNotEnabled on a table without a stream; stat says so", () =>
    Effect.gen(function*() {
      const table = uniqueTable("nowatch")
      yield* DynamoDBStore.make(storeConfig(endpoint(), table))
      const watched = yield* run(table, ["watch"])
      expect(watched.status).toBe(1)
      const stat = yield* run(table, ["stat"])
      expect(stat.out).toMatch(/stream +off/)
    }))
})
