/**
 * Where the client CPU of a 1 KiB `get` and `assoc` goes: `npm run bench:cpu`
 * (`tsx --expose-gc bench/cpu.ts`). One DynamoDB Local; each variant runs
 * `OPS` operations at concurrency `CONCURRENCY`, in interleaved rounds (the
 * order turns every round); the figure is this process's CPU time
 * (`process.cpuUsage`, user + system) per operation, median of the rounds.
 *
 * The variants take the store apart step by step:
 * - raw, minimal: what a user of the SDK writes (`GetItem` of the key,
 *   `PutItem` of the bytes), on a client of default settings;
 * - raw, cached middleware: the same on a client with `cacheMiddleware: true`;
 * - raw, the store's request: the very input the store sends (captured from
 *   it), sent by the SDK itself — the SDK's work on the larger request and
 *   answer (expressions, names, the head's attributes);
 * - raw, the store's request with `{ abortSignal }`: as a borrowed client's
 *   send (the SDK resolves its middleware again on every send with options);
 * - store, own client (`DynamoDBStore.layer`) and store, borrowed client
 *   (`layerWithClient` on a default client).
 * `npx tsx bench/overhead.ts` measures what the store adds with the SDK
 * taken out (canned answers).
 */
import type { DynamoDBClientConfig, GetItemCommandInput, UpdateItemCommandInput } from "@aws-sdk/client-dynamodb"
import { DynamoDBClient, GetItemCommand, UpdateItemCommand } from "@aws-sdk/client-dynamodb"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Scope from "effect/Scope"
import * as DynamoDBStore from "../src/DynamoDBStore.js"
import * as Client from "../src/internal/dynamodb/client.js"
import * as HeadWrites from "../src/internal/dynamodb/headWrites.js"
import * as Requests from "../src/internal/dynamodb/requests/index.js"
import * as Transport from "../src/internal/dynamodb/transport.js"
import * as Engine from "../src/internal/dynamoDBLocal.js"
import * as Version from "../src/internal/version.js"
import * as KonserveStore from "../src/KonserveStore.js"
import { collect, KiB, localClientConfig, median, pool, randomBytes } from "./harness.js"
import * as Raw from "./raw.js"
import * as Store from "./store.js"

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true"

const OPS = Number(process.env.CPU_OPS ?? 2000)
const ROUNDS = Number(process.env.CPU_ROUNDS ?? 7)
const CONCURRENCY = Number(process.env.CPU_CONCURRENCY ?? 16)
const READ_KEYS = 100

const log = (line: string) => process.stderr.write(`${line}\n`)

interface Variant {
  readonly name: string
  readonly op: (i: number) => Promise<void>
}

/** The last input the store sent per command, recorded by a middleware of the borrowed client. */
const recordInputs = (client: DynamoDBClient): Map<string, unknown> => {
  const inputs = new Map<string, unknown>()
  client.middlewareStack.add(
    (next, context) => (args) => {
      inputs.set(context.commandName ?? "?", args.input)
      return next(args)
    },
    { step: "initialize", name: "benchRecordInputs" }
  )
  return inputs
}

const openStore = (layer: Layer.Layer<KonserveStore.KonserveStore, unknown>, scope: Scope.Scope) =>
  Effect.runPromise(Layer.buildWithScope(layer, scope).pipe(Effect.map(Context.get(KonserveStore.KonserveStore))))

const main = async () => {
  const engine = await Engine.start()
  const config: DynamoDBClientConfig = localClientConfig(engine.endpoint)
  const plain = new DynamoDBClient(config)
  const cached = new DynamoDBClient({ ...config, cacheMiddleware: true })
  const borrowed = new DynamoDBClient(config)
  const recorder = new DynamoDBClient(config)
  const ownMade = Store.ownClient(engine.endpoint)
  const sendOnly = Client.make(ownMade, {
    table: "bench-cpu",
    retry: { maxAttempts: 1, baseDelay: Duration.millis(10) },
    transport: "own"
  })
  const inputs = recordInputs(recorder)
  const scope = Effect.runSync(Scope.make())
  const table = "bench-cpu"
  const rawTable = "bench-cpu-raw"
  try {
    const credentials = { accessKeyId: "local", secretAccessKey: Redacted.make("local") }
    const own = await openStore(
      DynamoDBStore.layer({ table, endpoint: engine.endpoint, region: "us-east-1", credentials }),
      scope
    )
    const lent = await openStore(DynamoDBStore.layerWithClient({ client: borrowed, table }), scope)
    const recorded = await openStore(DynamoDBStore.layerWithClient({ client: recorder, table }), scope)
    await Raw.createTable(plain, rawTable)
    const value = randomBytes(KiB, 1)
    const readKey = (i: number) => `g-${i % READ_KEYS}`
    for (let i = 0; i < READ_KEYS; i++) {
      await Effect.runPromise(own.assoc(readKey(i), value))
      await Raw.put(plain, rawTable, readKey(i), value)
    }
    await Effect.runPromise(recorded.get(readKey(0)))
    await Effect.runPromise(recorded.assoc("w-recorded", value))
    const storeGet = inputs.get("GetItemCommand") as GetItemCommandInput
    const storeUpdate = inputs.get("UpdateItemCommand") as UpdateItemCommandInput
    log(`the store's GetItem: ${JSON.stringify({ ...storeGet, Key: "…" })}`)
    log(
      `the store's UpdateItem: ${
        JSON.stringify({
          ...storeUpdate,
          ExpressionAttributeValues: Object.keys(storeUpdate.ExpressionAttributeValues ?? {})
        })
      }`
    )
    // the store's key of a read key, as it sent it: its prefix and encoding kept, only the key's own text swapped
    const storePk = (storeGet.Key!.pk as { S: string }).S
    const storeReadKey = (i: number) => ({ ...storeGet.Key, pk: { S: storePk.replace(readKey(0), readKey(i)) } })
    const storeWritePk = (storeUpdate.Key!.pk as { S: string }).S
    // the store's head write of a 1 KiB value, built by its own builder with a fresh version, over the same keys each
    // round (a head with its history, as the store's assoc rewrites)
    const versions = Version.makeClock()
    const storeUpdateOf = (i: number): UpdateItemCommandInput =>
      Requests.updateHead(
        table,
        HeadWrites.make({ key: `w-raw-${i}`, operation: "assoc", now: Date.now() }, {
          pk: storeWritePk.replace("w-recorded", `w-raw-${i}`),
          fields: HeadWrites.fieldsOf(
            {
              key: `w-raw-${i}`,
              operation: "assoc",
              kind: "value",
              now: Date.now(),
              expiresAt: undefined,
              user: undefined,
              condition: { _tag: "None" }
            },
            versions.next(),
            value.length,
            { _tag: "Inline", bytes: value }
          ),
          condition: { _tag: "None" }
        })
      )
    const signal = () => ({ abortSignal: new AbortController().signal })

    const gets: Array<Variant> = [
      {
        name: "raw, minimal, default client",
        op: async (i) => void await Raw.get(plain, rawTable, readKey(i))
      },
      {
        name: "raw, minimal, cacheMiddleware",
        op: async (i) => void await Raw.get(cached, rawTable, readKey(i))
      },
      {
        name: "raw, the store's GetItem, default client",
        op: async (i) => void await plain.send(new GetItemCommand({ ...storeGet, Key: storeReadKey(i) }))
      },
      {
        name: "raw, the store's GetItem, cacheMiddleware",
        op: async (i) => void await cached.send(new GetItemCommand({ ...storeGet, Key: storeReadKey(i) }))
      },
      {
        name: "raw, the store's GetItem, with { abortSignal }",
        op: async (i) => void await plain.send(new GetItemCommand({ ...storeGet, Key: storeReadKey(i) }), signal())
      },
      {
        name: "raw, the store's GetItem, cacheMiddleware, in Effect.runPromise",
        op: (i) =>
          Effect.runPromise(
            Effect.asVoid(
              Effect.tryPromise(() => cached.send(new GetItemCommand({ ...storeGet, Key: storeReadKey(i) })))
            )
          )
      },
      {
        name: "raw, the store's GetItem, on a client made as the store's own",
        op: async (i) => void await ownMade.send(new GetItemCommand({ ...storeGet, Key: storeReadKey(i) }))
      },
      {
        name: "raw, the store's GetItem, on a client made as the store's own, with a signal on the input",
        op: async (i) =>
          void await ownMade.send(
            new GetItemCommand(
              Transport.withPassenger({ ...storeGet, Key: storeReadKey(i) }, {
                signal: { aborted: false, onabort: null },
                anchor: undefined
              })
            )
          )
      },
      {
        name: "the store's Client.send alone (client.ts), on its own client",
        op: (i) => Effect.runPromise(Effect.asVoid(sendOnly.send("GetItem", { ...storeGet, Key: storeReadKey(i) })))
      },
      { name: "store, own client (layer)", op: (i) => Effect.runPromise(Store.get(own, readKey(i))) },
      { name: "store, borrowed client (layerWithClient)", op: (i) => Effect.runPromise(Store.get(lent, readKey(i))) }
    ]
    const assocs: Array<Variant> = [
      {
        name: "raw, PutItem, default client",
        op: (i) => Raw.put(plain, rawTable, `w-${i}`, value)
      },
      {
        name: "raw, PutItem, cacheMiddleware",
        op: (i) => Raw.put(cached, rawTable, `w-${i}`, value)
      },
      {
        name: "raw, the store's UpdateItem, default client",
        op: async (i) => void await plain.send(new UpdateItemCommand(storeUpdateOf(i)))
      },
      {
        name: "raw, the store's UpdateItem, cacheMiddleware",
        op: async (i) => void await cached.send(new UpdateItemCommand(storeUpdateOf(i)))
      },
      {
        name: "raw, the store's UpdateItem, cacheMiddleware, in Effect.runPromise",
        op: (i) =>
          Effect.runPromise(
            Effect.asVoid(Effect.tryPromise(() => cached.send(new UpdateItemCommand(storeUpdateOf(i)))))
          )
      },
      {
        name: "raw, the store's UpdateItem, on a client made as the store's own",
        op: async (i) => void await ownMade.send(new UpdateItemCommand(storeUpdateOf(i)))
      },
      { name: "store, own client (layer)", op: (i) => Effect.runPromise(Store.assoc(own, `w-${i}`, value)) },
      {
        name: "store, borrowed client (layerWithClient)",
        op: (i) => Effect.runPromise(Store.assoc(lent, `w-${i}`, value))
      }
    ]

    const measure = async (all: ReadonlyArray<Variant>, label: string) => {
      // CPU_ONLY: the variants whose name contains it, or one of its |-separated parts (for a profile of one:
      // `node --cpu-prof --import tsx`)
      const only = process.env.CPU_ONLY
      const variants = only === undefined
        ? all
        : all.filter((variant) => only.split("|").some((part) => variant.name.includes(part)))
      if (variants.length === 0) return
      const cpu = new Map<string, Array<number>>()
      const wall = new Map<string, Array<number>>()
      for (const variant of variants) await pool(OPS / 4, CONCURRENCY, variant.op)
      for (let round = 0; round < ROUNDS; round++) {
        const order = round % 2 === 0 ? variants : [...variants].reverse()
        for (const variant of order) {
          collect()
          const start = process.cpuUsage()
          const started = performance.now()
          await pool(OPS, CONCURRENCY, variant.op)
          const used = process.cpuUsage(start)
          const push = (map: Map<string, Array<number>>, x: number) =>
            map.set(variant.name, [...(map.get(variant.name) ?? []), x])
          push(cpu, (used.user + used.system) / OPS)
          push(wall, OPS / ((performance.now() - started) / 1000))
        }
      }
      const base = median(cpu.get(variants[0].name)!)
      console.log(`\n### ${label}: CPU per operation (µs), concurrency ${CONCURRENCY}, ${OPS} ops × ${ROUNDS} rounds\n`)
      console.log("| variant | CPU µs/op (median) | × raw minimal | ops/s (median) |")
      console.log("|---|---:|---:|---:|")
      for (const variant of variants) {
        const m = median(cpu.get(variant.name)!)
        console.log(
          `| ${variant.name} | ${m.toFixed(0)} | ${(m / base).toFixed(2)} | ${
            median(wall.get(variant.name)!).toFixed(0)
          } |`
        )
      }
    }
    // CPU_KIND: get or assoc alone
    if (process.env.CPU_KIND !== "assoc") await measure(gets, "get 1 KiB")
    if (process.env.CPU_KIND !== "get") await measure(assocs, "assoc 1 KiB")
  } finally {
    await Effect.runPromise(Scope.close(scope, Exit.void))
    for (const client of [plain, cached, borrowed, recorder, ownMade]) client.destroy()
    await engine.stop()
  }
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
