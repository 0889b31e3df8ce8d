/**
 * A writer to be killed: run in a child process by test/sweep.test.ts
 * (`node --import tsx test/utils/killedWriter.ts <endpoint> <table> <prefix> <key>`),
 * it starts a `bassoc` of `key` from a slow stream that yields 8 chunks'
 * worth of bytes (two `BatchWriteItem`s of 4 chunks) and then nothing, and
 * prints "streaming" once it has begun. The test kills it with SIGKILL once
 * the 8 chunks are in the table: no finalizer runs, the head is never
 * written, the chunks stay unreferenced.
 */
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { randomBytes } from "node:crypto"
import * as DynamoDBStore from "../../src/DynamoDBStore.js"

/** The chunk size the store writes (`plan.ts`): each piece becomes exactly one chunk. */
const CHUNK = 380 * 1024

const [endpoint, table, prefix, key] = process.argv.slice(2)

const slow = Stream.fromIterable(Array.from({ length: 8 }, () => new Uint8Array(randomBytes(CHUNK)))).pipe(
  Stream.tap(() => Effect.sleep("10 millis")),
  Stream.concat(Stream.never)
)

const program = Effect.scoped(Effect.gen(function*() {
  const store = yield* DynamoDBStore.make({
    table,
    prefix,
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "local", secretAccessKey: Redacted.make("local") }
  })
  yield* Effect.sync(() => process.stdout.write("streaming\n"))
  yield* store.bassoc(key, slow)
}))

Effect.runPromise(program).then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${String(error)}\n`)
    process.exit(1)
  }
)
