/**
 * `konserve-dynamodb import [FILE]`: writes an export into the store (`--check`: reads it, writes nothing).
 *
 * @internal
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type * as ExportFormat from "../exportFormat.js"
import * as ImportFormat from "../importFormat.js"
import * as Io from "../io.js"
import * as Progress from "../progress.js"
import * as Render from "../render.js"
import * as Target from "../target.js"
import { handle, json, plural, withStore } from "./shared.js"

/** The summary line of an import (or of `import --check`). */
const importSummary = (counts: ExportFormat.Counts, into: string, millis: number, check: boolean): string =>
  `${check ? "checked" : "imported"} ${plural(counts.keys - counts.expired, "key")} (${
    plural(counts.values, "value")
  }, ${counts.binaries === 1 ? "1 binary" : `${counts.binaries} binaries`} of ${Render.bytes(counts.binaryBytes)}, ${
    plural(counts.logs, "log")
  }; ${counts.expired} expired ${check ? "to remove" : "removed"}) ${
    check ? "in the file, nothing written" : `into ${into}`
  } in ${Render.elapsed(millis)}`

/** @internal */
export const importCommand = Command.make(
  "import",
  {
    ...Target.flags,
    file: Args.text({ name: "FILE" }).pipe(
      Args.withDescription("An export file; - or nothing for stdin."),
      // Args.optional, not Args.withDefault: with a default, the options after the argument went unparsed
      Args.optional
    ),
    check: Options.boolean("check").pipe(
      Options.withDescription("Read and check the whole file, report its counts, write nothing (no store needed).")
    ),
    json
  },
  (flags) =>
    handle(
      flags.json,
      Effect.gen(function*() {
        const file = Option.getOrElse(flags.file, () => "-")
        yield* Io.checkReadable(file)
        const run = <R>(writer: ImportFormat.ImportWriter<R>, into: string) =>
          Effect.gen(function*() {
            const start = Date.now()
            const size = yield* Io.fileSize(file)
            let read = 0
            const lines = Io.readBytes(file).pipe(
              Stream.tap((chunk) =>
                Effect.sync(() => {
                  read += chunk.byteLength
                })
              ),
              Stream.decodeText(),
              Stream.splitLines
            )
            const progress = yield* Progress.make(flags.check ? "import --check" : "import", {
              tty: Io.stderrIsTTY()
            })
            const counts = yield* ImportFormat.importLines(lines, {
              now: () => Date.now(),
              writer,
              onProgress: ({ counts }) =>
                progress.update(
                  () => `${plural(counts.keys, "key")} (${Render.bytes(counts.binaryBytes)} of binaries)`,
                  size === undefined || size === 0 ? undefined : read / size
                )
            })
            yield* progress.done
            yield* Io.line(
              flags.json
                ? JSON.stringify({ ...counts, check: flags.check, millis: Date.now() - start })
                : importSummary(counts, into, Date.now() - start, flags.check)
            )
          })
        if (flags.check) return yield* run(ImportFormat.checkWriter, "")
        yield* withStore(flags, { create: true }, (target) => run(ImportFormat.storeWriter, target.label))
      })
    )
).pipe(
  Command.withDescription(
    "Write an export into the store: its keys overwrite the same keys, other keys stay; a key changes only once " +
      "its record is complete. Not atomic: check the file first with --check. Creates the table when missing."
  )
)
