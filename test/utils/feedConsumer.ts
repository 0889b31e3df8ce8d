/**
 * A feed consumer to be killed: run in a child process by
 * test/feedCrash.test.ts (bundled with esbuild; args: `<endpoint> <table>
 * <prefix> <checkpoint>`), it reads `DynamoDBStore.changes` with the
 * checkpoint and prints one line per change, `key version op`, written
 * synchronously before the next change is pulled (so before the position
 * past it can be saved).
 */
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as Fs from "node:fs"
import * as DynamoDBStore from "../../src/DynamoDBStore.js"

const [endpoint, table, prefix, checkpoint] = process.argv.slice(2)

const program = DynamoDBStore.changes({
  table,
  prefix,
  endpoint,
  region: "us-east-1",
  credentials: { accessKeyId: "local", secretAccessKey: Redacted.make("local") }
}, { checkpoint, from: "oldest", pollInterval: "20 millis" }).pipe(
  Stream.runForEach((change) => Effect.sync(() => Fs.writeSync(1, `${change.key} ${change.version} ${change.op}\n`)))
)

Effect.runPromise(program).then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${String(error)}\n`)
    process.exit(1)
  }
)
