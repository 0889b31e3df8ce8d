/**
 * The services `@effect/cli` runs on (`CliApp.Environment`), for Node.js,
 * without `@effect/platform-node` (whose required peers — cluster, rpc, sql,
 * workflow — would be installed for every user of the library):
 *
 * - `Path`: `@effect/platform`'s own (pure JavaScript, POSIX);
 * - `FileSystem`: a no-op one. `@effect/cli` reaches the file system only for
 *   file and directory arguments (`Options.file`, `Args.directory`,
 *   `Options.fileContent`, ..., and their wizard prompts) and config files;
 *   the commands take paths as text and read and write files themselves
 *   (`io.ts`), so nothing calls it;
 * - `Terminal`: stdin and stdout (`terminal.ts`), for `--wizard`'s prompts.
 *
 * @internal
 */
import type * as CliApp from "@effect/cli/CliApp"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Layer from "effect/Layer"
import * as Terminal from "./terminal.js"

/** @internal */
export const layer: Layer.Layer<CliApp.CliApp.Environment> = Layer.mergeAll(
  Path.layer,
  FileSystem.layerNoop({}),
  Terminal.layer
)
