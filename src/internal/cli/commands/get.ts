/**
 * `konserve-dynamodb get KEY`: the value of a key as tagged JSON (`--raw`: its bytes or text).
 *
 * @internal
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as KonserveStore from "../../../KonserveStore.js"
import { type FileError, NotFound } from "../failure.js"
import * as Io from "../io.js"
import * as Render from "../render.js"
import * as Target from "../target.js"
import { json, onStore } from "./shared.js"

/** Base64 of a byte stream, in pieces whose concatenation is the base64 of all the bytes. */
const base64Stream = <E>(bytes: Stream.Stream<Uint8Array, E>): Stream.Stream<string, E> => {
  let carry = new Uint8Array(0)
  return Stream.concat(
    Stream.map(bytes, (chunk) => {
      const all = new Uint8Array(carry.byteLength + chunk.byteLength)
      all.set(carry, 0)
      all.set(chunk, carry.byteLength)
      const whole = all.byteLength - (all.byteLength % 3)
      carry = all.slice(whole)
      return Render.toBase64(all.subarray(0, whole))
    }),
    Stream.suspend(() => Stream.succeed(Render.toBase64(carry)))
  )
}

/** @internal */
export const get = Command.make(
  "get",
  {
    ...Target.flags,
    key: Args.text({ name: "KEY" }).pipe(Args.withDescription("The key.")),
    raw: Options.boolean("raw").pipe(
      Options.withDescription(
        "The bytes of a binary (or of a Uint8Array value) to stdout as they are; a string value as its text."
      )
    ),
    json
  },
  (flags) =>
    onStore(flags, () =>
      Effect.gen(function*() {
        const key = Io.literal(flags.key)
        const notFound = new NotFound({ keys: [key] })
        const meta = yield* KonserveStore.getMeta(key)
        if (Option.isNone(meta)) return yield* notFound
        // through the stdout sink: a reader that goes away before the end fails the command
        const render = (value: unknown): Effect.Effect<void, FileError> => {
          if (flags.raw && (value instanceof Uint8Array || typeof value === "string")) return Io.writeOut(value)
          return Io.writeOut(Render.stringify(value, { pretty: !flags.json && !flags.raw }) + "\n")
        }
        switch (meta.value.type) {
          case "binary": {
            const binary = yield* KonserveStore.bget(key)
            if (Option.isNone(binary)) return yield* notFound
            if (flags.raw) return yield* Stream.run(binary.value.stream, Io.stdoutSink)
            return yield* Stream.run(
              Stream.concat(
                Stream.concat(Stream.succeed("{\"$bytes\":\""), base64Stream(binary.value.stream)),
                Stream.succeed("\"}\n")
              ),
              Io.stdoutSink
            )
          }
          case "log": {
            const elements = yield* KonserveStore.log(key)
            if (Option.isNone(elements)) return yield* notFound
            return yield* render(elements.value)
          }
          case "value": {
            const value = yield* KonserveStore.get(key)
            if (Option.isNone(value)) return yield* notFound
            return yield* render(value.value)
          }
        }
      }))
).pipe(
  Command.withDescription(
    "Print the value of a key as JSON (bigint, Date, Map, Set, bytes in tagged form: see docs/cli.md); " +
      "a log as the array of its elements. Exit 3 when the key does not exist."
  )
)
