/**
 * The CLI as a program: the root command run on `process.argv`, usage
 * errors turned into exit code 2, and the exit code chosen at teardown.
 *
 * @internal
 */
import type * as CliApp from "@effect/cli/CliApp"
import * as CliConfig from "@effect/cli/CliConfig"
import * as Command from "@effect/cli/Command"
import * as ValidationError from "@effect/cli/ValidationError"
import * as Cause from "effect/Cause"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Fs from "node:fs"
import { root } from "./commands/index.js"
import { EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE } from "./failure.js"
import * as Failure from "./failure.js"
import * as Io from "./io.js"

const version = (): string => {
  try {
    const pkg = JSON.parse(Fs.readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as {
      readonly version?: unknown
    }
    return typeof pkg.version === "string" ? pkg.version : "unknown"
  } catch {
    return "unknown"
  }
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g

const plain = (args: ReadonlyArray<unknown>): ReadonlyArray<unknown> =>
  args.map((arg) => typeof arg === "string" ? arg.replace(ANSI, "") : arg)

/** The widest line of help text. @internal */
export const WIDTH = 100

/**
 * A line of help text in lines of at most `WIDTH` columns: a line of two
 * columns (`  - keys [--table TABLE] ...      List the keys ...`) becomes its
 * first column, wrapped, then its second, indented below it. A line that
 * fits is left as it is (styles included); one that does not loses them.
 *
 * @internal
 */
export const wrapLine = (line: string): string => {
  const text = line.replace(ANSI, "")
  if (text.length <= WIDTH) return line
  const lead = /^\s*(- )?/.exec(text)![0].length
  const indent = " ".repeat(lead + 2)
  const wrap = (part: string, first: string): Array<string> => {
    const out: Array<string> = []
    let current = first
    for (const word of part.trim().split(/\s+/)) {
      const prefix = current.trim() === "" || current.endsWith("- ") ? "" : " "
      if (current.trim() !== "" && current.length + prefix.length + word.length > WIDTH) {
        out.push(current)
        current = indent + word
      } else {
        current += prefix + word
      }
    }
    out.push(current)
    return out
  }
  const [usage, ...description] = text.slice(lead).split(/\s{2,}/)
  const lines = wrap(usage ?? "", text.slice(0, lead))
  if (description.length > 0) lines.push(...wrap(description.join(" "), indent))
  return lines.join("\n")
}

const wrapped = (args: ReadonlyArray<unknown>): ReadonlyArray<unknown> =>
  args.map((arg) => typeof arg === "string" ? arg.split("\n").map(wrapLine).join("\n") : arg)

/**
 * `@effect/cli` prints its help and usage errors with ANSI styles: they are
 * kept on a terminal and left out elsewhere (a pipe, a file, NO_COLOR).
 * Lines wider than `WIDTH` columns are wrapped.
 */
const withPlainText = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.flatMap(Effect.console, (console) => {
    const noColor = process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== ""
    const plainOut = noColor || process.stdout.isTTY !== true
    const plainErr = noColor || process.stderr.isTTY !== true
    return Console.withConsole(effect, {
      ...console,
      log: (...args) => console.log(...wrapped(plainOut ? plain(args) : args)),
      error: (...args) => console.error(...wrapped(plainErr ? plain(args) : args))
    })
  })

/**
 * Runs the CLI on `argv` (`process.argv`). Fails with `Failure.Exit` carrying
 * the exit code once a failure was reported; a usage error (unknown command
 * or flag, missing argument) was printed by `@effect/cli` and becomes exit 2.
 *
 * @internal
 */
export const run = (argv: ReadonlyArray<string>): Effect.Effect<void, Failure.Exit, CliApp.CliApp.Environment> =>
  Command.run(root, { name: "konserve-dynamodb", version: version(), executable: "konserve-dynamodb" })(
    argv.map((arg, i) => i >= 2 && arg === "-" ? Io.STDIN : arg)
  ).pipe(
    withPlainText,
    Effect.provide(CliConfig.layer({ showBuiltIns: false })),
    Effect.catchIf(
      (error): error is ValidationError.ValidationError => ValidationError.isValidationError(error),
      () => Effect.fail(new Failure.Exit({ code: EXIT_USAGE }))
    )
  )

/**
 * The exit code of the program's end: 0, the reported code, 130 when
 * interrupted, 1 for anything else (reported here on one line).
 *
 * @internal
 */
export const exitCode = (exit: Exit.Exit<unknown, unknown>): number => {
  if (Exit.isSuccess(exit)) return EXIT_OK
  if (Cause.isInterruptedOnly(exit.cause)) return EXIT_INTERRUPTED
  const failure = Cause.failureOption(exit.cause)
  if (Option.isSome(failure) && failure.value instanceof Failure.Exit) return failure.value.code
  process.stderr.write(
    Failure.renderReport({ ...Failure.reportOf(Cause.squash(exit.cause)), tag: "Defect" }, false) + "\n"
  )
  return EXIT_FAILURE
}
