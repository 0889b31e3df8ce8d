#!/usr/bin/env node
/**
 * The `konserve-dynamodb` command (the package's `bin`): the store on
 * DynamoDB from the shell. See docs/cli.md.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Io from "./internal/cli/io.js"
import * as Main from "./internal/cli/main.js"
import * as Platform from "./internal/cli/platform.js"
import * as Runtime from "./internal/cli/runtime.js"

// The AWS SDK warns on every client it makes when Node's version nears its end of support: once per command here,
// noise on stderr that is not about the command. Silenced unless the user set the variable themselves.
if (process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED === undefined) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true"
}

// A closed stdout (EPIPE: its reader went away). `keys | head`: the command ends quietly, exit 0. Output that must
// arrive whole (`export` and `get` write through `Io.stdoutSink`): the sink fails with it, the command reports a
// FileError and exits 1, so that an incomplete export never looks like a success (`set -o pipefail`).
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") {
    if (Io.stdoutMustBeComplete()) return
    process.exit(0)
  }
  throw error
})

Runtime.runMain(Effect.provide(Main.run(process.argv), Platform.layer), (exit, onExit) => {
  const code = Main.exitCode(exit)
  // let stdout drain (a pipe may still hold output), then exit with the code
  process.stdout.write("", () => onExit(code))
})
