/**
 * `konserve-dynamodb stat`: counts of the keys, their bytes, the store's DynamoDB items and the unreferenced ones.
 *
 * @internal
 */
import * as Command from "@effect/cli/Command"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as DynamoDBStore from "../../../DynamoDBStore.js"
import * as KonserveStore from "../../../KonserveStore.js"
import * as Io from "../io.js"
import * as Progress from "../progress.js"
import * as Render from "../render.js"
import * as Target from "../target.js"
import { handle, json, optionalText, parseDuration, plural, withStore } from "./shared.js"

interface KeyStats {
  keys: number
  values: number
  binaries: number
  logs: number
  bytes: number
  logElements: number
  expiring: number
}

/** @internal */
export const stat = Command.make(
  "stat",
  {
    ...Target.flags,
    grace: optionalText(
      "grace",
      "DURATION",
      "Items younger than this do not count as unreferenced (default \"1 hour\")."
    ),
    json
  },
  (flags) =>
    handle(
      flags.json,
      // a bad --grace before the store is opened (parsed again below: it is pure)
      Effect.zipRight(
        Option.isSome(flags.grace) ? parseDuration(flags.grace.value, "--grace") : Effect.void,
        withStore(flags, { create: false }, (target) =>
          Effect.gen(function*() {
            const grace = Option.isSome(flags.grace) ? yield* parseDuration(flags.grace.value, "--grace") : undefined
            const tty = Io.stderrIsTTY()
            const stats: KeyStats = { keys: 0, values: 0, binaries: 0, logs: 0, bytes: 0, logElements: 0, expiring: 0 }
            const listing = yield* Progress.make("stat: keys", { tty })
            yield* Stream.runForEach(KonserveStore.keys, (meta) => {
              stats.keys++
              if (meta.expiresAt !== undefined) stats.expiring++
              switch (meta.type) {
                case "value":
                  stats.values++
                  stats.bytes += meta.size
                  break
                case "binary":
                  stats.binaries++
                  stats.bytes += meta.size
                  break
                case "log":
                  stats.logs++
                  stats.logElements += meta.size
                  break
              }
              return listing.update(() => `${plural(stats.keys, "key")}, ${Render.bytes(stats.bytes)}`)
            })
            yield* listing.done
            const scanning = yield* Progress.make("stat: items", { tty })
            const swept = yield* DynamoDBStore.sweep(target.config, {
              dryRun: true,
              ...(grace === undefined ? {} : { grace })
            })
              .pipe(
                Stream.tap((progress) => scanning.update(() => `${plural(progress.scanned, "item")}`)),
                Stream.runLast
              )
            yield* scanning.done
            const stream = yield* DynamoDBStore.hasStream(target.config)
            const items = Option.match(swept, { onNone: () => 0, onSome: (p) => p.scanned })
            const unreferenced = Option.match(swept, { onNone: () => 0, onSome: (p) => p.unreferenced })
            const graceText = grace === undefined ? "1 hour" : Duration.format(grace)
            if (flags.json) {
              return yield* Io.line(JSON.stringify({
                table: target.config.table,
                prefix: target.config.prefix ?? null,
                ...stats,
                items,
                unreferenced,
                stream,
                graceMillis: grace === undefined ? 3_600_000 : Duration.toMillis(grace)
              }))
            }
            yield* Io.line(
              [
                `store         ${target.label}`,
                `keys          ${stats.keys} (${plural(stats.values, "value")}, ${
                  stats.binaries === 1 ? "1 binary" : `${stats.binaries} binaries`
                }, ${plural(stats.logs, "log")}; ${stats.expiring} with a TTL)`,
                `bytes         ${stats.bytes} (${Render.bytes(stats.bytes)}) in values and binaries, encoded`,
                `log elements  ${stats.logElements}`,
                `items         ${items} DynamoDB items (heads, chunks, log elements, bookkeeping)`,
                `unreferenced  ${unreferenced} items older than ${graceText} (\`sweep\` removes them)`,
                `stream        ${
                  stream ? "on (`watch` reads the change feed)" : "off (no change feed: open a store with stream: true)"
                }`
              ].join("\n")
            )
          }))
      )
    )
).pipe(
  Command.withDescription(
    "Count the keys, their bytes, the store's DynamoDB items and the unreferenced ones (a sweep --dry-run)."
  )
)
