/**
 * `konserve-dynamodb put KEY VALUE`: stores a string, tagged JSON (`--json`) or a file's bytes (`--binary`).
 *
 * @internal
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as KonserveStore from "../../../KonserveStore.js"
import { UsageError } from "../failure.js"
import * as Io from "../io.js"
import * as Target from "../target.js"
import { handle, optionalText, parseDuration, parseTagged, withStore } from "./shared.js"

/** @internal */
export const put = Command.make(
  "put",
  {
    ...Target.flags,
    key: Args.text({ name: "KEY" }).pipe(Args.withDescription("The key.")),
    value: Args.text({ name: "VALUE" }).pipe(
      Args.withDescription("The value: a string, or JSON with --json; - reads it from stdin."),
      Args.optional
    ),
    json: Options.boolean("json").pipe(
      Options.withDescription("Parse the value as JSON (tagged JSON for bigint, Date, Map, Set, bytes).")
    ),
    binary: optionalText("binary", "FILE", "Store the bytes of this file (- for stdin) as a binary, streamed."),
    ttl: optionalText("ttl", "DURATION", "Expire the key after this long (\"30 minutes\", \"7 days\")."),
    meta: optionalText("meta", "JSON", "User metadata: a JSON object (tagged JSON).")
  },
  (flags) =>
    handle(
      false,
      Effect.gen(function*() {
        const ttl = Option.isSome(flags.ttl) ? yield* parseDuration(flags.ttl.value, "--ttl") : undefined
        const meta = Option.isSome(flags.meta) ? yield* parseTagged(flags.meta.value, "--meta") : undefined
        if (
          meta !== undefined &&
          (typeof meta !== "object" || meta === null || Object.getPrototypeOf(meta) !== Object.prototype)
        ) {
          return yield* new UsageError({ message: "--meta: expected a JSON object" })
        }
        const options: KonserveStore.WriteOptions = {
          ...(ttl === undefined ? {} : { ttl }),
          ...(meta === undefined ? {} : { meta: meta as Readonly<Record<string, unknown>> })
        }
        if (Option.isSome(flags.binary)) {
          if (Option.isSome(flags.value) || flags.json) {
            return yield* new UsageError({ message: "--binary FILE takes no VALUE and no --json" })
          }
          const path = flags.binary.value
          yield* Io.checkReadable(path)
          return yield* withStore(
            flags,
            { create: true },
            () => KonserveStore.bassoc(Io.literal(flags.key), Io.readBytes(path), options)
          )
        }
        if (Option.isNone(flags.value)) {
          return yield* new UsageError({ message: "put needs a VALUE (or - for stdin, or --binary FILE)" })
        }
        const text = Io.isStdin(flags.value.value) ? yield* Io.readText("-") : flags.value.value
        const value = flags.json ? yield* parseTagged(text, "VALUE") : text
        return yield* withStore(
          flags,
          { create: true },
          () => KonserveStore.assoc(Io.literal(flags.key), value, options)
        )
      })
    )
).pipe(
  Command.withDescription(
    "Store a value: a string, JSON with --json, or a file's bytes with --binary. Creates the table when missing."
  )
)
