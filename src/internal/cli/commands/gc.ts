/**
 * `konserve-dynamodb gc --keep FILE --older-than DATE`: konserve's gc, keys not kept and last written before a date.
 *
 * @internal
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as KonserveStore from "../../../KonserveStore.js"
import { type FileError, KeepFileError, UsageError } from "../failure.js"
import * as Io from "../io.js"
import * as KeyLines from "../keyLines.js"
import * as Target from "../target.js"
import { handle, json, parseDuration, plural, withStore } from "./shared.js"

/** The keys of a keep file (`keyLines.ts`): a line it cannot read as one key for sure fails with `KeepFileError`. */
const readKeep = (path: string): Effect.Effect<ReadonlySet<string>, FileError | KeepFileError> =>
  Effect.flatMap(
    Io.readAllBytes(path),
    (bytes) =>
      Either.match(KeyLines.parseKeepFile(bytes), {
        onLeft: ({ line, reason }) => Effect.fail(new KeepFileError({ path: Io.literal(path), line, reason })),
        onRight: Effect.succeed
      })
  )

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})/

/** An ISO date, or a duration before now ("30 days"). */
const parseOlderThan = (text: string): Effect.Effect<Date, UsageError> => {
  const trimmed = text.trim()
  const date = ISO_DATE.exec(trimmed)
  if (date !== null) {
    const time = Date.parse(trimmed)
    const [year, month, day] = [Number(date[1]), Number(date[2]), Number(date[3])]
    // Date.parse takes "2025-02-30" as March 2
    const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate()
    if (Number.isNaN(time) || month < 1 || month > 12 || day < 1 || day > daysInMonth) {
      return Effect.fail(
        new UsageError({
          message: `--older-than: ${JSON.stringify(text)} is not a date (e.g. "2025-01-31", "2025-01-31T12:00:00Z")`
        })
      )
    }
    return Effect.succeed(new Date(time))
  }
  if (trimmed.startsWith("-") && Option.isSome(Duration.decodeUnknown(trimmed))) {
    return Effect.fail(
      new UsageError({
        message: `--older-than: ${JSON.stringify(text)} is negative (a duration before now: "30 days")`
      })
    )
  }
  const refused = new UsageError({
    message: `--older-than: ${JSON.stringify(text)} is neither an ISO date ("2025-01-31", ` +
      `"2025-01-31T12:00:00Z") nor a duration before now ("30 days")`
  })
  return Effect.flatMap(
    Effect.mapError(parseDuration(text, "--older-than"), () => refused),
    (ago) => {
      const before = new Date(Date.now() - Duration.toMillis(ago))
      return Number.isNaN(before.getTime()) ? Effect.fail(refused) : Effect.succeed(before)
    }
  )
}

/** @internal */
export const gc = Command.make(
  "gc",
  {
    ...Target.flags,
    keep: Options.text("keep").pipe(
      Options.withPseudoName("FILE"),
      Options.withDescription(
        "A file of the keys to keep, one a line, as `keys` or `keys --json` prints them (- for stdin). " +
          "A line it cannot read as one key for sure stops gc (docs/cli.md)."
      )
    ),
    olderThan: Options.text("older-than").pipe(
      Options.withPseudoName("DATE"),
      Options.withDescription("Remove the other keys last written before this: an ISO date, or \"30 days\" (ago).")
    ),
    dryRun: Options.boolean("dry-run").pipe(Options.withDescription("List what would go, remove nothing.")),
    json
  },
  (flags) =>
    handle(
      flags.json,
      Effect.gen(function*() {
        const olderThan = yield* parseOlderThan(flags.olderThan)
        yield* Io.checkReadable(flags.keep)
        const keep = yield* readKeep(flags.keep)
        yield* withStore(flags, { create: false }, (target) =>
          Effect.gen(function*() {
            const removed: ReadonlyArray<string> = flags.dryRun
              ? yield* KonserveStore.keys.pipe(
                Stream.filter((meta) => !keep.has(meta.key) && meta.lastWrite.getTime() < olderThan.getTime()),
                Stream.map((meta) => meta.key),
                Stream.runCollect,
                Effect.map((chunk) => Array.from(chunk))
              )
              : yield* KonserveStore.gc({ keep, olderThan })
            if (flags.json) {
              return yield* Io.line(JSON.stringify({ dryRun: flags.dryRun, olderThan, removed }))
            }
            for (const key of removed) yield* Io.line(KeyLines.render(key))
            yield* Io.errLine(
              `gc${flags.dryRun ? " (dry run)" : ""}: ${plural(removed.length, "key")} ${
                flags.dryRun ? "would go" : "removed"
              } (last written before ${olderThan.toISOString()}, not in ${
                plural(keep.size, "kept key")
              }) in ${target.label}`
            )
          }))
      })
    )
).pipe(
  Command.withDescription(
    "Remove every key not in --keep last written before --older-than (konserve's gc); prints the keys removed."
  )
)
