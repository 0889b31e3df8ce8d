#!/usr/bin/env node
/**
 * The `konserve-dynamodb` command (the package's `bin`): the store on
 * DynamoDB from the shell. See docs/cli.md.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Main from "./internal/cli/main.js"
import * as Platform from "./internal/cli/platform.js"
import * as Runtime from "./internal/cli/runtime.js"

// `konserve-dynamodb keys | head`: a closed pipe ends the command quietly
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(0)
  throw error
})

Runtime.runMain(Effect.provide(Main.run(process.argv), Platform.layer), (exit, onExit) => {
  const code = Main.exitCode(exit)
  // let stdout drain (a pipe may still hold output), then exit with the code
  process.stdout.write("", () => onExit(code))
})
