/**
 * docs/cli.md runs as written: the environment its first block sets (the
 * endpoint pointed at the run's DynamoDB Local, the table made unique), then
 * every `$ ` command of its transcripts, in page order, each in `sh` in one
 * working directory with `konserve-dynamodb` on PATH (the CLI bundled), each
 * ending with the `[exit N]` the page shows (0 when it shows none). No
 * command may print the AWS SDK's Node-version warning, and `--help` lines
 * fit 100 columns.
 */
import { beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as DynamoDBStore from "../src/DynamoDBStore.js"
import * as KonserveStore from "../src/KonserveStore.js"
import { buildCli, bundlePath, root, runCli } from "./utils/cli.js"
import { endpoint, storeConfig, uniqueTable } from "./utils/dynamodb.js"

const doc = Fs.readFileSync(Path.join(root, "docs", "cli.md"), "utf8")

/** The `export NAME=value ...` assignments of the page's set-up block. */
const setUp = (): Record<string, string> => {
  const block = Array.from(doc.matchAll(/```sh\n([\s\S]*?)```/g), (match) => match[1]!)
    .find((text) => text.includes("export KONSERVE_TABLE="))
  if (block === undefined) throw new Error("docs/cli.md: no set-up block with export KONSERVE_TABLE=")
  const env: Record<string, string> = {}
  for (const line of block.split("\n")) {
    const code = line.replace(/#.*$/, "").trim()
    if (!code.startsWith("export ")) continue
    for (const [, name, value] of code.slice("export ".length).matchAll(/(\w+)=(\S+)/g)) env[name!] = value!
  }
  return env
}

interface Example {
  readonly command: string
  readonly exit: number
  /** The index of its transcript block. */
  readonly block: number
}

/** The examples grouped by transcript block, in page order. */
const blocksOf = (all: ReadonlyArray<Example>): ReadonlyArray<ReadonlyArray<Example>> => {
  const out: Array<Array<Example>> = []
  for (const example of all) (out[example.block] ??= []).push(example)
  return out.filter((block) => block !== undefined)
}

/** Every `$ ` command of the page's transcript blocks (plain ``` blocks), with the exit code shown after it. */
const examples = (): ReadonlyArray<Example> => {
  // the page's fenced blocks, opening fence and all, read line by line (a closing fence opens nothing)
  const blocks: Array<{ readonly info: string; readonly lines: Array<string> }> = []
  let current: { readonly info: string; readonly lines: Array<string> } | undefined
  for (const line of doc.split("\n")) {
    if (line.startsWith("```")) {
      if (current === undefined) {
        current = { info: line.slice(3).trim(), lines: [] }
      } else {
        blocks.push(current)
        current = undefined
      }
    } else {
      current?.lines.push(line)
    }
  }
  const out: Array<Example> = []
  let index = 0
  for (const { info, lines } of blocks) {
    if (info !== "") continue
    index++
    for (let i = 0; i < lines.length; i++) {
      if (!lines[i]!.startsWith("$ ")) continue
      let exit = 0
      for (let j = i + 1; j < lines.length && !lines[j]!.startsWith("$ "); j++) {
        const shown = /\[exit (\d+)\]$/.exec(lines[j]!)
        if (shown !== null) exit = Number(shown[1])
      }
      out.push({ command: lines[i]!.slice(2), exit, block: index })
    }
  }
  return out
}

beforeAll(buildCli)

describe("docs/cli.md", { timeout: 600_000 }, () => {
  it("every example runs as written, in order, with the exit code the page shows", async () => {
    const env = setUp()
    expect(Object.keys(env)).toEqual(
      expect.arrayContaining(["KONSERVE_TABLE", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_REGION", "AWS_ACCESS_KEY_ID"])
    )
    // the run's engine in place of the page's localhost:8000, and a table of this run's own
    env.AWS_ENDPOINT_URL_DYNAMODB = endpoint()
    env.KONSERVE_TABLE = uniqueTable("cli-docs")
    const all = examples()
    expect(all.length).toBeGreaterThan(30)

    const work = Fs.mkdtempSync(Path.join(Os.tmpdir(), "konserve-cli-docs-"))
    const bin = Path.join(work, ".bin")
    Fs.mkdirSync(bin)
    // the command as npm installs it: konserve-dynamodb on PATH (here, the test's bundle of src/cli.ts)
    const shim = Path.join(bin, "konserve-dynamodb")
    const bundle = bundlePath()
    Fs.writeFileSync(shim, `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(bundle)} "$@"\n`)
    Fs.chmodSync(shim, 0o755)
    // the page's store holds error-log, a log an application wrote
    await Effect.runPromise(
      Effect.provide(
        Effect.zipRight(
          KonserveStore.append("error-log", { type: "horrible", at: new Date("2025-02-01T08:00:00.000Z") }),
          KonserveStore.append("error-log", { type: "worse", code: 503 })
        ),
        DynamoDBStore.layer(storeConfig(endpoint(), env.KONSERVE_TABLE))
      )
    )
    const shellEnv: Record<string, string> = {
      PATH: `${bin}:${process.env.PATH ?? ""}`,
      HOME: work, // no ~/.aws: the example without credentials has none anywhere
      AWS_EC2_METADATA_DISABLED: "true", // the SDK would ask the instance metadata service, slowly, for credentials
      NO_COLOR: "1",
      ...env
    }
    const failures: Array<string> = []
    const runExample = (example: Example) =>
      new Promise<void>((resolve, reject) => {
        const child = ChildProcess.spawn("sh", ["-c", example.command], { cwd: work, env: shellEnv })
        let stderr = ""
        child.stdout.resume()
        child.stderr.setEncoding("utf8").on("data", (text: string) => (stderr += text))
        child.on("error", reject)
        child.on("close", (status) => {
          if (status !== example.exit) {
            failures.push(`${example.command}: exit ${status}, the page shows ${example.exit}: ${stderr}`)
          }
          if (stderr.includes("NodeVersionSupportWarning")) failures.push(`${example.command}: the SDK's warning`)
          if (stderr.includes("no table")) failures.push(`${example.command}: ${stderr}`)
          resolve()
        })
      })
    // the first transcript (failures and exit codes) reads nothing the others write: it runs beside them
    const [first, ...rest] = blocksOf(all)
    await Promise.all([
      Promise.all(first!.map(runExample)),
      rest.flat().reduce((previous, example) => previous.then(() => runExample(example)), Promise.resolve())
    ])
    expect(failures).toEqual([])
  })

  it("--help lines fit 100 columns, for the command and its widest subcommands", async () => {
    // the longest usage lines (every subcommand's is wrapped by the same function)
    const commands = ["put", "export", "import", "gc"]
    const helps = await Promise.all(
      [[], ...commands.map((command) => [command])].map((args) => runCli([...args, "--help"], { engine: false }))
    )
    for (const help of helps) {
      expect(help.status).toBe(0)
      const long = help.out.split("\n").filter((line) => line.length > 100)
      expect(long).toEqual([])
    }
  })
})
