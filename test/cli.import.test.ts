/**
 * `konserve-dynamodb import` never destroys: a key of the target changes
 * only once its record in the file is complete, checked with files cut at
 * every record boundary of a small export (and inside a line), each
 * imported by the CLI as a child process into its own prefix; running the
 * whole file again completes the import; a record whose expiry has passed
 * removes the key. `import --check` reads the whole file and writes nothing.
 * Configuration mistakes in the flags are usage errors (exit 2, one line),
 * and the AWS SDK's Node-version warning never reaches stderr.
 */
import { beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { randomBytes } from "node:crypto"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as DynamoDBStore from "../src/DynamoDBStore.js"
import * as KonserveStore from "../src/KonserveStore.js"
import { buildCli, runCli } from "./utils/cli.js"
import { endpoint, storeConfig, uniqueTable } from "./utils/dynamodb.js"

const table = uniqueTable("cli-import")
const work = Fs.mkdtempSync(Path.join(Os.tmpdir(), "konserve-cli-import-"))

beforeAll(buildCli)

const inStore = <A, E>(prefix: string, program: Effect.Effect<A, E, KonserveStore.KonserveStore>): Promise<A> =>
  Effect.runPromise(Effect.provide(program, DynamoDBStore.layer(storeConfig(endpoint(), table, { prefix }))))

interface Entry {
  readonly type: string
  readonly value: unknown
  readonly user: unknown
}

/** What a prefix holds, by key (a binary as its bytes). */
const snapshot = (prefix: string): Promise<Map<string, Entry>> =>
  inStore(
    prefix,
    Effect.gen(function*() {
      const out = new Map<string, Entry>()
      for (const meta of yield* Stream.runCollect(KonserveStore.keys)) {
        const value = meta.type === "log"
          ? Option.getOrThrow(yield* KonserveStore.log(meta.key))
          : Option.getOrThrow(yield* KonserveStore.get(meta.key))
        out.set(meta.key, { type: meta.type, value, user: meta.user })
      }
      return out
    })
  )

const cli = (args: ReadonlyArray<string>) => runCli([...args, "--table", table])

/** Runs `f` over `items`, `concurrency` at a time (each a CLI child process: the machine has few cores). */
const limited = async <A, B>(items: ReadonlyArray<A>, concurrency: number, f: (a: A) => Promise<B>) => {
  const out: Array<B> = new Array(items.length)
  let next = 0
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < items.length) {
      const i = next++
      out[i] = await f(items[i]!)
    }
  }))
  return out
}

const oldBinary = new Uint8Array([9, 9, 9])

/** The target before an import: every key of the source, with other content. */
const seedTarget = (prefix: string) =>
  inStore(
    prefix,
    Effect.gen(function*() {
      yield* KonserveStore.assoc("v", "old v")
      yield* KonserveStore.bassoc("b", oldBinary)
      yield* KonserveStore.append("audit", "o1")
      yield* KonserveStore.append("audit", "o2")
      yield* KonserveStore.append("audit", "o3")
      yield* KonserveStore.assoc("gone", "old gone")
      yield* KonserveStore.assoc("other", "stays")
    })
  )

describe("import of a cut or broken file (CLI, child processes)", { timeout: 180_000 }, () => {
  it("changes a key only once its record is complete, at every cut; the whole file again completes it", async () => {
    // the source: a value, a binary of two chunk records, a log of two elements, and a key whose expiry will pass
    const binary = new Uint8Array(randomBytes(70_000))
    await inStore(
      "source",
      Effect.gen(function*() {
        yield* KonserveStore.assoc("v", { a: 1 }, { meta: { note: "n" } })
        yield* KonserveStore.bassoc("b", binary)
        yield* KonserveStore.append("audit", "e1")
        yield* KonserveStore.append("audit", "e2")
        yield* KonserveStore.assoc("gone", "expiring", { ttl: "1 hour" })
      })
    )
    const exported = Path.join(work, "source.jsonl")
    const exportRun = await cli(["export", "--prefix", "source", "--out", exported])
    expect(exportRun.status, exportRun.stderr).toBe(0)
    // the expiry of "gone" has passed by the time of the import
    const fileLines = Fs.readFileSync(exported, "utf8").split("\n").filter((line) => line !== "").map((line) => {
      const record = JSON.parse(line) as { type: string; key?: string }
      return record.key === "gone" ? JSON.stringify({ ...record, expiresAt: "2001-01-01T00:00:00.000Z" }) : line
    })
    const file = Path.join(work, "full.jsonl")
    Fs.writeFileSync(file, fileLines.map((line) => line + "\n").join(""))
    const source = await snapshot("source")
    source.delete("gone")

    // the last line of each key's record
    const records = fileLines.map((line) => JSON.parse(line) as { type: string; key?: string; count?: number })
    const lastLine = new Map<string, number>()
    for (let i = 0; i < records.length; i++) {
      const record = records[i]!
      if (record.key === undefined) continue
      let last = i
      if (record.type === "log") last = i + record.count!
      if (record.type === "binary") { while (records[last + 1]?.type === "chunk") last++ }
      lastLine.set(record.key, last)
    }
    expect(new Set(lastLine.keys())).toEqual(new Set(["v", "b", "audit", "gone"]))
    expect(records.filter((record) => record.type === "chunk")).toHaveLength(2)
    expect(records.length).toBe(10) // header, v, b + 2 chunks, audit + 2 elements, gone, end

    const before = new Map<string, Entry>([
      ["v", { type: "value", value: "old v", user: undefined }],
      ["b", { type: "binary", value: oldBinary, user: undefined }],
      ["audit", { type: "log", value: ["o1", "o2", "o3"], user: undefined }],
      ["gone", { type: "value", value: "old gone", user: undefined }],
      ["other", { type: "value", value: "stays", user: undefined }]
    ])
    const expected = (complete: (key: string) => boolean) => {
      const out = new Map<string, Entry>()
      for (const [key, entry] of before) {
        if (!lastLine.has(key) || !complete(key)) out.set(key, entry)
        else if (source.has(key)) out.set(key, source.get(key)!)
      }
      return out
    }

    // every cut at a record boundary (0 to 9 whole lines), and one inside a line (the second chunk record)
    const text = fileLines.map((line) => line + "\n")
    const secondChunk = records.findIndex((record, i) => record.type === "chunk" && records[i - 1]?.type === "chunk")
    const cuts: Array<{ readonly name: string; readonly content: string; readonly whole: number }> = []
    for (let k = 0; k < records.length; k++) {
      cuts.push({ name: `at-${k}`, content: text.slice(0, k).join(""), whole: k })
    }
    const half = text[secondChunk]!.slice(0, text[secondChunk]!.length / 2)
    cuts.push({ name: "in-chunk", content: text.slice(0, secondChunk).join("") + half, whole: secondChunk })
    await Promise.all(cuts.map((cut) => seedTarget(cut.name)))
    const runs = await limited(cuts, 3, (cut) => {
      const path = Path.join(work, `${cut.name}.jsonl`)
      Fs.writeFileSync(path, cut.content)
      return cli(["import", path, "--prefix", cut.name])
    })
    for (let i = 0; i < cuts.length; i++) {
      const cut = cuts[i]!
      const run = runs[i]!
      expect(run.status, `${cut.name}: ${run.stderr}`).toBe(1)
      expect(run.stderr, cut.name).toMatch(/^konserve-dynamodb: FormatError: /)
      const state = await snapshot(cut.name)
      expect(state, cut.name).toEqual(expected((key) => lastLine.get(key)! < cut.whole))
    }

    // the whole file, again, into two of the cut targets: each ends as the source was, "other" kept
    const again = ["at-4", "in-chunk"]
    const completed = await limited(again, 2, (name) => cli(["import", file, "--prefix", name]))
    for (let i = 0; i < again.length; i++) {
      expect(completed[i]!.status, completed[i]!.stderr).toBe(0)
      expect(completed[i]!.out).toMatch(/^imported 3 keys .*; 1 expired removed\) into/)
      expect(await snapshot(again[i]!)).toEqual(expected(() => true))
    }
  })

  it("import --check reads the whole file, reports its counts and writes nothing", async () => {
    await inStore("check-source", KonserveStore.multiAssoc([["a", 1], ["b", "two"]]))
    await inStore("check-source", KonserveStore.append("l", "e"))
    const file = Path.join(work, "check.jsonl")
    expect((await cli(["export", "--prefix", "check-source", "--out", file])).status).toBe(0)
    const text = Fs.readFileSync(file, "utf8")
    const wrongEnd = Path.join(work, "wrong-end.jsonl")
    Fs.writeFileSync(wrongEnd, text.replace(/"keys":3/, "\"keys\":4"))
    const noEnd = Path.join(work, "no-end.jsonl")
    Fs.writeFileSync(noEnd, text.split("\n").slice(0, -2).join("\n") + "\n")

    const [checked, checkedJson, noTable, wrong, truncated] = await Promise.all([
      cli(["import", "--check", file, "--prefix", "check-target"]),
      cli(["import", file, "--check", "--json", "--prefix", "check-target"]),
      runCli(["import", "--check", file], { engine: false }),
      cli(["import", "--check", wrongEnd, "--prefix", "check-target"]),
      cli(["import", "--check", noEnd, "--prefix", "check-target"])
    ])
    expect(checked.status, checked.stderr).toBe(0)
    expect(checked.out).toMatch(
      /^checked 3 keys \(2 values, 0 binaries of 0 B, 1 log; 0 expired to remove\) in the file, nothing written in /
    )
    expect(checkedJson.status).toBe(0)
    expect(JSON.parse(checkedJson.out)).toMatchObject({ keys: 3, values: 2, logs: 1, binaries: 0, check: true })
    // no store is needed to check a file
    expect(noTable.status, noTable.stderr).toBe(0)
    expect([wrong.status, wrong.stderr]).toEqual([
      1,
      expect.stringMatching(/^konserve-dynamodb: FormatError: .*the end record counts 4 keys, the file holds 3\n$/)
    ])
    expect([truncated.status, truncated.stderr]).toEqual([
      1,
      expect.stringMatching(/^konserve-dynamodb: FormatError: .*the file ends before its end record/)
    ])
    expect(await snapshot("check-target")).toEqual(new Map())
  })
})

describe("configuration mistakes in the flags (CLI)", { timeout: 60_000 }, () => {
  it("are usage errors: exit 2, one line leading with the flag and why; no SDK warning on stderr", async () => {
    const [badTable, badEndpoint, badTableJson, ok] = await Promise.all([
      runCli(["keys", "--table", "bad table"]),
      runCli(["keys", "--table", table, "--endpoint", "localhost:8123"]),
      runCli(["get", "k", "--table", "ab", "--json"]),
      runCli(["keys", "--table", table, "--prefix", "nothing-here"])
    ])
    expect([badTable.status, badTable.out, badTable.stderr]).toEqual([
      2,
      "",
      "konserve-dynamodb: UsageError: --table \"bad table\": 3 to 255 of a-z, A-Z, 0-9, '_', '-', '.'\n"
    ])
    expect([badEndpoint.status, badEndpoint.stderr]).toEqual([
      2,
      "konserve-dynamodb: UsageError: --endpoint \"localhost:8123\": not an http:// or https:// URL " +
      "(e.g. http://localhost:8000)\n"
    ])
    expect(badTableJson.status).toBe(2)
    expect(JSON.parse(badTableJson.stderr).error).toMatchObject({ _tag: "UsageError", exitCode: 2 })
    // the AWS SDK's NodeVersionSupportWarning is silenced by the CLI itself (runCli does not set the variable)
    expect([ok.status, ok.stderr]).toEqual([0, ""])
  })
})
