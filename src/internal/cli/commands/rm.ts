/**
 * `konserve-dynamodb rm KEY...`: removes keys of any kind.
 *
 * @internal
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import * as KonserveStore from "../../../KonserveStore.js"
import { NotFound } from "../failure.js"
import * as Io from "../io.js"
import * as Target from "../target.js"
import { json, onStore } from "./shared.js"

/** @internal */
export const rm = Command.make(
  "rm",
  {
    ...Target.flags,
    keys: Args.text({ name: "KEY" }).pipe(Args.withDescription("The keys to remove."), Args.atLeast(1)),
    force: Options.boolean("force").pipe(
      Options.withAlias("f"),
      Options.withDescription("Exit 0 also when a key did not exist.")
    ),
    json
  },
  (flags) =>
    onStore(flags, () =>
      Effect.gen(function*() {
        const removed = yield* KonserveStore.multiDissoc(new Set(flags.keys.map(Io.literal)), { atomic: false })
        const missing = Array.from(removed).filter(([, existed]) => !existed).map(([key]) => key)
        if (flags.json) {
          yield* Io.line(JSON.stringify({
            removed: Array.from(removed).filter(([, existed]) => existed).map(([key]) => key),
            missing
          }))
        }
        if (missing.length > 0 && !flags.force) return yield* new NotFound({ keys: missing })
      }))
).pipe(
  Command.withDescription(
    "Remove keys of any kind. Exit 3 when one of them did not exist (the others are removed), unless --force."
  )
)
