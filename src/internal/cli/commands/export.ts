/**
 * `konserve-dynamodb export`: the whole store as JSON Lines (`../exportFormat.ts`), to stdout or `--out FILE`.
 *
 * @internal
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Fs from "node:fs"
import * as ExportFormat from "../exportFormat.js"
import * as Io from "../io.js"
import * as Progress from "../progress.js"
import * as Render from "../render.js"
import * as Target from "../target.js"
import { json, onStore, optionalText, plural } from "./shared.js"

/** @internal */
export const exportCommand = Command.make(
  "export",
  {
    ...Target.flags,
    out: optionalText(
      "out",
      "FILE",
      "Write to this file (written as FILE.partial, renamed when complete); else stdout."
    ).pipe(
      Options.withAlias("o")
    ),
    startsWith: optionalText("starts-with", "TEXT", "Only the keys that start with this text."),
    json
  },
  (flags) =>
    onStore(flags, (target) =>
      Effect.gen(function*() {
        const counts = ExportFormat.emptyCounts()
        const start = Date.now()
        const progress = yield* Progress.make("export", { tty: Io.stderrIsTTY() })
        const startsWith = Option.getOrUndefined(Option.map(flags.startsWith, Io.literal))
        const lines = ExportFormat.exportLines(
          { table: target.config.table, prefix: target.config.prefix },
          counts,
          { filter: startsWith === undefined ? undefined : (key) => key.startsWith(startsWith) }
        ).pipe(
          Stream.tap(() =>
            progress.update(() => `${plural(counts.keys, "key")} (${Render.bytes(counts.binaryBytes)} of binaries)`)
          )
        )
        const out = Option.getOrUndefined(Option.filter(flags.out, (path) => !Io.isStdin(path)))
        if (out === undefined) {
          yield* Stream.run(lines, Io.stdoutSink)
        } else {
          const partial = `${out}.partial`
          yield* Stream.run(lines, Io.fileSink(partial)).pipe(
            Effect.zipRight(Effect.try({ try: () => Fs.renameSync(partial, out), catch: Io.fileError(out) })),
            // a failed or interrupted export leaves no partial file behind
            Effect.onError(() => Effect.sync(() => Fs.rmSync(partial, { force: true })))
          )
        }
        yield* progress.done
        const summary = flags.json
          ? JSON.stringify({ ...counts, out: out ?? null, millis: Date.now() - start })
          : `exported ${plural(counts.keys, "key")} (${plural(counts.values, "value")}, ${
            counts.binaries === 1 ? "1 binary" : `${counts.binaries} binaries`
          } of ${Render.bytes(counts.binaryBytes)}, ${plural(counts.logs, "log")}${
            counts.vanished === 0 ? "" : `; ${plural(counts.vanished, "key")} removed since listed left out`
          }) from ${target.label}${out === undefined ? "" : ` to ${out}`} in ${Render.elapsed(Date.now() - start)}`
        // stdout carries the data when there is no --out
        yield* out === undefined ? Io.errLine(summary) : Io.line(summary)
      }))
).pipe(
  Command.withDescription(
    "Write the whole store (values, logs, binaries, metas, TTLs) as JSON Lines: a backup, " +
      "or a store to import into another table, region or prefix (docs/cli.md)."
  )
)
