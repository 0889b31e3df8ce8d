/**
 * Cold start to the first `get` answered, store against raw SDK:
 * `npm run bench:cold` (builds `dist/` first). One DynamoDB Local, a key
 * written by each; then `node bench/cold/store.mjs` and
 * `node bench/cold/raw.mjs` run in turn (store, raw, raw, store, ...), each a
 * new process that imports, builds its client (the store: its layer, which
 * checks the table with `DescribeTable`) and reads the key once. Each prints
 * the milliseconds from its process's start to its imports done and to the
 * answer; this prints the medians and the ratio, and writes
 * `bench/results/coldstart.md`.
 */
import * as Effect from "effect/Effect"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Engine from "../src/internal/dynamoDBLocal.js"
import { KiB, localClient, median, randomBytes } from "./harness.js"
import * as Raw from "./raw.js"
import * as Store from "./store.js"

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true"

const RUNS = Number(process.env.COLD_RUNS ?? 15)

interface Run {
  readonly imported: number
  readonly answered: number
  readonly wall: number
}

const run = (script: string, env: Record<string, string>): Run => {
  const start = performance.now()
  const out = ChildProcess.execFileSync(process.execPath, [script], {
    env: { ...process.env, ...env },
    encoding: "utf8"
  })
  const wall = performance.now() - start
  const { answered, imported } = JSON.parse(out.trim().split("\n").at(-1)!) as Omit<Run, "wall">
  return { imported, answered, wall }
}

const main = async () => {
  const engine = await Engine.start()
  const client = localClient(engine.endpoint)
  const stores = Store.stores(client)
  try {
    const table = `cold-${Date.now()}`
    const store = await stores.open(table)
    await Effect.runPromise(Store.assoc(store, "k", randomBytes(KiB)))
    await Raw.createTable(client, `${table}-raw`)
    await Raw.put(client, `${table}-raw`, "k", randomBytes(KiB))
    const env = { ENDPOINT: engine.endpoint, KEY: "k", AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" }
    const sides = ["store", "raw", "raw-effect"] as const
    type Side = typeof sides[number]
    const runs: Record<Side, Array<Run>> = { store: [], raw: [], "raw-effect": [] }
    const once = (side: Side) =>
      run(`bench/cold/${side}.mjs`, { ...env, TABLE: side === "store" ? table : `${table}-raw` })
    sides.forEach(once) // warm-up: the file system cache
    for (let i = 0; i < RUNS; i++) {
      const order = i % 2 === 0 ? sides : [...sides].reverse()
      for (const side of order) runs[side].push(once(side))
    }
    const m = (side: Side, field: keyof Run) => median(runs[side].map((r) => r[field]))
    const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`
    const row = (label: string, field: keyof Run) =>
      `| ${label} | ${m("store", field).toFixed(0)} ms | ${m("raw", field).toFixed(0)} ms | ${
        m("raw-effect", field).toFixed(0)
      } ms | ${ratio(m("store", field), m("raw", field))} | ${ratio(m("store", field), m("raw-effect", field))} |`
    const report = [
      "# Cold start to the first `get`",
      "",
      `- Date: ${new Date().toISOString()}; Node ${process.version}; ${Os.cpus().length} × ${
        Os.cpus()[0]?.model ?? "CPU"
      }.`,
      `- ${RUNS} runs of each, interleaved, after one warm-up of each; medians. Command: \`npm run bench:cold\`.`,
      "- Each run a new `node` process on the built `dist/` (no TypeScript loader): the store imports",
      "  `konserve-dynamodb`'s main entry and builds `DynamoDBStore.layer` (its own client; `DescribeTable` checks",
      "  the table, `createTable: false`), then one `get`; the raw SDK imports `@aws-sdk/client-dynamodb`, builds a",
      "  client and sends one `GetItem`; \"raw SDK in Effect\" does the same from an Effect program that imports",
      "  `effect/Effect` and `effect/Schema` (what an Effect application loads anyway). DynamoDB Local on the same",
      "  machine.",
      "",
      "| from process start to | store | raw SDK | raw SDK in Effect | store ÷ raw | store ÷ raw in Effect |",
      "| --- | ---: | ---: | ---: | ---: | ---: |",
      row("imports done", "imported"),
      row("first answer", "answered"),
      row("process exit (whole process, wall)", "wall"),
      ""
    ].join("\n")
    Fs.mkdirSync("bench/results", { recursive: true })
    Fs.writeFileSync("bench/results/coldstart.md", report)

    console.log(report)
  } finally {
    await stores.close()
    client.destroy()
    await engine.stop()
  }
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
