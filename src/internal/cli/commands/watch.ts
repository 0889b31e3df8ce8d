/**
 * `konserve-dynamodb watch`: the store's change feed (`DynamoDBStore.changes`)
 * on stdout, one line per change — key, op, version, size, batch — or JSON
 * Lines with `--json`. Runs until interrupted: Ctrl-C exits 130, the
 * checkpoint (`--checkpoint NAME`) holding the position after the last
 * batch printed whole.
 *
 * @internal
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as DynamoDBStore from "../../../DynamoDBStore.js"
import type { Change } from "../../../KonserveStore.js"
import * as Io from "../io.js"
import * as Render from "../render.js"
import * as Target from "../target.js"
import { handle } from "./shared.js"

/** One change as a JSON object (`--json`). @internal */
export const changeJson = (change: Change): Record<string, unknown> => ({
  key: change.key,
  op: change.op,
  version: change.version,
  size: Option.getOrNull(Option.map(change.meta, (meta) => meta.size)),
  type: Option.getOrNull(Option.map(change.meta, (meta) => meta.type)),
  batch: Option.getOrNull(change.batch)
})

/** One change as a line of text: key (quoted), op, version, size, batch. @internal */
export const changeLine = (change: Change): string =>
  [
    JSON.stringify(change.key),
    change.op,
    change.version,
    Option.match(change.meta, { onNone: () => "-", onSome: (meta) => Render.bytes(meta.size) }),
    Option.getOrElse(change.batch, () => "-")
  ].join("  ")

/** @internal */
export const watch = Command.make(
  "watch",
  {
    ...Target.flags,
    from: Options.choice("from", ["latest", "oldest"]).pipe(
      Options.withDescription(
        "Where to start without a saved checkpoint: latest (the default) or oldest (the stream's first record)."
      ),
      Options.optional
    ),
    checkpoint: Options.text("checkpoint").pipe(
      Options.withPseudoName("NAME"),
      Options.withDescription("Keep the position in the table under this name, and resume from it."),
      Options.optional
    ),
    json: Options.boolean("json").pipe(Options.withDescription("JSON Lines on stdout, one object per change."))
  },
  (flags) =>
    handle(
      flags.json,
      Effect.gen(function*() {
        const target = yield* Target.resolve(flags, { create: false })
        const checkpoint = Option.getOrUndefined(Option.map(flags.checkpoint, Io.literal))
        const from = Option.getOrUndefined(flags.from)
        yield* DynamoDBStore.changes(target.config, {
          ...(from === undefined ? {} : { from }),
          ...(checkpoint === undefined ? {} : { checkpoint })
        }).pipe(
          Stream.runForEach((change) => Io.line(flags.json ? JSON.stringify(changeJson(change)) : changeLine(change)))
        )
      })
    )
).pipe(
  Command.withDescription(
    "Print the store's changes from the table's DynamoDB stream as they happen, one line per change " +
      "(key, op, version, size, batch); Ctrl-C to stop."
  )
)
