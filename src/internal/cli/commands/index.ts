/**
 * The `konserve-dynamodb` command: its subcommands, one a file beside this
 * one, each on the public API only (`keys`, `get`, `put`, `rm`, `stat`,
 * `export`, `import`, `sweep`, `gc`, `watch`).
 *
 * Every command takes the store flags (`../target.ts`); data goes to stdout,
 * progress and failures to stderr; `--json` makes the output one JSON
 * document (or JSON Lines for `keys` and `watch`) and failures a JSON object
 * (`shared.ts`).
 *
 * @internal
 */
import * as Command from "@effect/cli/Command"
import { Exit, FileError } from "../failure.js"
import { exportCommand } from "./export.js"
import { gc } from "./gc.js"
import { get } from "./get.js"
import { importCommand } from "./import.js"
import { keys } from "./keys.js"
import { put } from "./put.js"
import { rm } from "./rm.js"
import { stat } from "./stat.js"
import { sweep } from "./sweep.js"
import { watch } from "./watch.js"

/**
 * The `konserve-dynamodb` command and its subcommands.
 *
 * @internal
 */
export const root = Command.make("konserve-dynamodb").pipe(
  Command.withDescription(
    "The konserve store on DynamoDB from the shell: list, read, write and remove keys; export, import; sweep and gc. " +
      "Exit codes: 0 ok, 1 failure, 2 usage error, 3 key not found."
  ),
  Command.withSubcommands([keys, get, put, rm, stat, exportCommand, importCommand, sweep, gc, watch])
)

/** Used by `main.ts` to tell a reported failure apart. @internal */
export { Exit, FileError }
