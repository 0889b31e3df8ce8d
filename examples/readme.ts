/**
 * The konserve-dynamodb README scenario, step by step: nested assoc/get,
 * exists, update, dissoc, multi-assoc, append/log, a 10 MB binary, bytes in
 * and out. `npm run example` runs it on an embedded DynamoDB Local.
 */
import { Console, Duration, Effect, Option, Stream } from "effect"
import { KonserveStore } from "../src/index.js"
import { storeLayer } from "./storeLayer.js"

const show = (value: unknown): string => {
  if (value === undefined) return "ok"
  if (Option.isOption(value)) return Option.isSome(value) ? `Some(${show(value.value)})` : "None"
  if (value instanceof Uint8Array) return value.length > 16 ? `<${value.length} bytes>` : `bytes[${value.join(",")}]`
  if (value instanceof Map) return `Map {${Array.from(value, ([k, v]) => ` ${show(k)} => ${show(v)}`).join(",")} }`
  if (Array.isArray(value)) return `[${value.map(show).join(", ")}]`
  if (typeof value === "object" && value !== null) {
    return `{ ${Object.entries(value).map(([k, v]) => `${k}: ${show(v)}`).join(", ")} }`
  }
  return typeof value === "bigint" ? `${value}n` : JSON.stringify(value)
}

const step = <A, E, R>(label: string, effect: Effect.Effect<A, E, R>) =>
  Effect.flatMap(
    Effect.timed(effect),
    ([duration, result]) =>
      Effect.as(Console.log(`${label.padEnd(52)} ${show(result).padEnd(40)} (${duration.pipe(formatMillis)})`), result)
  )

const formatMillis = (duration: Duration.Duration) => `${Duration.toMillis(duration).toFixed(1)} ms`

export const scenario = Effect.gen(function*() {
  yield* Console.log("konserve-dynamodb: the README scenario on an embedded DynamoDB Local\n")
  yield* step(`assocIn(["foo", "bar"], { foo: "baz" })`, KonserveStore.assocIn(["foo", "bar"], { foo: "baz" }))
  yield* step(`getIn(["foo"])`, KonserveStore.getIn(["foo"]))
  yield* step(`getIn(["foo", "bar", "foo"])`, KonserveStore.getIn(["foo", "bar", "foo"]))
  yield* step(`exists("foo")`, KonserveStore.exists("foo"))

  yield* step(`assoc("bar", 42)`, KonserveStore.assoc("bar", 42))
  yield* step(
    `update("bar", inc)`,
    KonserveStore.update("bar", Option.match({ onNone: () => 1, onSome: (n) => (n as number) + 1 }))
  )
  yield* step(`get("bar")`, KonserveStore.get("bar"))
  yield* step(`dissoc("bar")`, KonserveStore.dissoc("bar"))
  yield* step(`exists("bar")`, KonserveStore.exists("bar"))

  yield* step(
    `multiAssoc({ apple: 1, pear: 2, plum: 3 })`,
    KonserveStore.multiAssoc({ apple: 1, pear: 2, plum: 3 })
  )
  yield* step(`multiGet(["apple", "plum", "kiwi"])`, KonserveStore.multiGet(["apple", "plum", "kiwi"]))

  yield* step(`append("error-log", { type: "horrible" })`, KonserveStore.append("error-log", { type: "horrible" }))
  yield* step(`append("error-log", { type: "worse" })`, KonserveStore.append("error-log", { type: "worse" }))
  yield* step(`log("error-log")`, KonserveStore.log("error-log"))

  const banana = new Uint8Array(10 * 1024 * 1024).fill(42)
  yield* step(`bassoc("banana", <10 MiB of 42>)`, KonserveStore.bassoc("banana", banana))
  const read = yield* step(
    `bget("banana") and stream it`,
    KonserveStore.bget("banana").pipe(
      Effect.flatMap(Option.match({
        onNone: () => Effect.succeed({ size: 0, all42: false }),
        onSome: (binary) =>
          Stream.runFold(binary.stream, { size: 0, all42: true }, (acc, chunk) => ({
            size: acc.size + chunk.length,
            all42: acc.all42 && chunk.every((byte) => byte === 42)
          }))
      }))
    )
  )
  if (read.size !== banana.length || !read.all42) {
    return yield* Effect.dieMessage("the 10 MiB binary did not come back as written")
  }

  yield* step(
    `bassoc("binbar", bytes 0..9)`,
    KonserveStore.bassoc("binbar", Uint8Array.from({ length: 10 }, (_, i) => i))
  )
  yield* step(
    `bget("binbar") as bytes`,
    KonserveStore.bget("binbar").pipe(
      Effect.flatMap(Option.match({
        onNone: () => Effect.succeed<Array<number>>([]),
        onSome: (binary) =>
          Effect.map(Stream.runCollect(binary.stream), (chunks) => Array.from(chunks).flatMap((c) => Array.from(c)))
      }))
    )
  )
  yield* step(
    `keys`,
    Effect.map(Stream.runCollect(KonserveStore.keys), (metas) => Array.from(metas, (m) => `${m.key}:${m.type}`).sort())
  )
})

scenario.pipe(Effect.provide(storeLayer), Effect.runPromise).catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
