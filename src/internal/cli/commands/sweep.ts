/**
 * `konserve-dynamodb sweep`: removes the DynamoDB items no key references, once older than the grace.
 *
 * @internal
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as DynamoDBStore from "../../../DynamoDBStore.js"
import * as Io from "../io.js"
import * as Progress from "../progress.js"
import * as Render from "../render.js"
import * as Target from "../target.js"
import { handle, json, optionalText, parseDuration, plural } from "./shared.js"

/** @internal */
export const sweep = Command.make(
  "sweep",
  {
    ...Target.flags,
    grace: optionalText(
      "grace",
      "DURATION",
      "Only items older than this go (default \"1 hour\"; keep it above 35 minutes)."
    ),
    dryRun: Options.boolean("dry-run").pipe(Options.withDescription("Count what would go, delete nothing.")),
    json
  },
  (flags) =>
    handle(
      flags.json,
      Effect.gen(function*() {
        const grace = Option.isSome(flags.grace) ? yield* parseDuration(flags.grace.value, "--grace") : undefined
        const target = yield* Target.resolve(flags, { create: false })
        const start = Date.now()
        const progress = yield* Progress.make(flags.dryRun ? "sweep (dry run)" : "sweep", { tty: Io.stderrIsTTY() })
        const last = yield* DynamoDBStore.sweep(target.config, {
          dryRun: flags.dryRun,
          ...(grace === undefined ? {} : { grace })
        }).pipe(
          Stream.tap((p) =>
            progress.update(() =>
              `${plural(p.scanned, "item")} scanned, ${p.unreferenced} unreferenced, ${p.removed} removed`
            )
          ),
          Stream.runLast
        )
        yield* progress.done
        const p = Option.getOrElse(last, () => ({ scanned: 0, unreferenced: 0, removed: 0, bytesFreed: 0, done: true }))
        yield* Io.line(
          flags.json
            ? JSON.stringify({ ...p, dryRun: flags.dryRun, millis: Date.now() - start })
            : flags.dryRun
            ? `sweep (dry run): ${plural(p.scanned, "item")} scanned, ${p.unreferenced} unreferenced would go, ` +
              `in ${target.label} (${Render.elapsed(Date.now() - start)})`
            : `sweep: ${plural(p.scanned, "item")} scanned, ${p.unreferenced} unreferenced, ${p.removed} removed ` +
              `(${Render.bytes(p.bytesFreed)} freed), in ${target.label} (${Render.elapsed(Date.now() - start)})`
        )
      })
    )
).pipe(
  Command.withDescription(
    "Remove the DynamoDB items no key references (chunks and log elements left by faults or dead writers), " +
      "once older than the grace. Never changes what any read sees."
  )
)
