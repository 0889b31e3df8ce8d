/**
 * `konserve-dynamodb keys`: the keys of the store, one a line (`--long`, `--json`).
 *
 * @internal
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as KonserveStore from "../../../KonserveStore.js"
import * as Io from "../io.js"
import * as KeyLines from "../keyLines.js"
import * as Render from "../render.js"
import * as Target from "../target.js"
import { json, onStore, optionalText } from "./shared.js"

/** @internal */
export const keys = Command.make(
  "keys",
  {
    ...Target.flags,
    startsWith: optionalText("starts-with", "TEXT", "Only the keys that start with this text."),
    long: Options.boolean("long").pipe(
      Options.withAlias("l"),
      Options.withDescription("Kind, size (bytes; elements for a log), last write and expiry of each key.")
    ),
    json
  },
  (flags) =>
    onStore(flags, () => {
      const startsWith = Option.getOrUndefined(Option.map(flags.startsWith, Io.literal))
      const listed = startsWith === undefined
        ? KonserveStore.keys
        : Stream.filter(KonserveStore.keys, (meta) => meta.key.startsWith(startsWith))
      const row = flags.json
        ? (meta: KonserveStore.Meta) => JSON.stringify(Render.metaJson(meta))
        : flags.long
        ? Render.longRow
        : (meta: KonserveStore.Meta) => KeyLines.render(meta.key)
      return Effect.zipRight(
        flags.long && !flags.json ? Io.line(Render.LONG_HEADER) : Effect.void,
        Stream.runForEach(listed, (meta) => Io.line(row(meta)))
      )
    })
).pipe(Command.withDescription("List the keys of the store (in the table's order; pipe through sort)."))
