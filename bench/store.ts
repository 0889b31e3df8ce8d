/**
 * The store contender: the same work through `KonserveStore`, on a client
 * that counts its requests: the store's own kind of client (`ownClient`,
 * what `DynamoDBStore.layer` builds) or a borrowed one (`layerWithClient`).
 * Every workload is an Effect; `bench/run.ts` runs each measured batch with
 * one `Effect.runPromise`.
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as DynamoDBStore from "../src/DynamoDBStore.js"
import * as Connect from "../src/internal/dynamodb/connect.js"
import * as Settings from "../src/internal/dynamodb/settings.js"
import * as Transport from "../src/internal/dynamodb/transport.js"
import * as KonserveStore from "../src/KonserveStore.js"
import { localClientConfig } from "./harness.js"

type Store = KonserveStore.KonserveStore

/** A failed check of what an operation returned: the bench reports it as a problem of the store. */
export class CheckFailed extends Error {}

const check = (ok: boolean, message: string): Effect.Effect<void, CheckFailed> =>
  ok ? Effect.void : Effect.fail(new CheckFailed(message))

/**
 * Stores on tables of one client, built in one scope; `close` releases them
 * (the client is borrowed: the caller destroys it).
 */
export interface Stores {
  readonly open: (table: string) => Promise<Store>
  readonly close: () => Promise<void>
}

export const stores = (client: DynamoDBClient, transport: "own" | "borrowed" = "borrowed"): Stores => {
  const scope = Effect.runSync(Scope.make())
  // an own client is made by `ownClient`: the store sends on it as on the client `DynamoDBStore.layer` builds
  const layer = (table: string) =>
    transport === "borrowed"
      ? DynamoDBStore.layerWithClient({ client, table })
      : Layer.effect(
        KonserveStore.KonserveStore,
        Effect.flatMap(Settings.settingsOf({ table }), (settings) => Connect.makeWith(client, settings, "own"))
      )
  return {
    open: (table) =>
      Effect.runPromise(
        Layer.buildWithScope(layer(table), scope).pipe(Effect.map(Context.get(KonserveStore.KonserveStore)))
      ),
    close: () => Effect.runPromise(Scope.close(scope, Exit.void))
  }
}

/** A client of DynamoDB Local at `endpoint` made as the store makes its own (`DynamoDBStore.layer`). */
export const ownClient = (endpoint: string): DynamoDBClient => {
  const { requestHandler: _, ...config } = localClientConfig(endpoint)
  return Transport.ownClient({ ...config, requestHandler: { connectionTimeout: 3000, requestTimeout: 10_000 } })
}

/** `n` operations, at most `concurrency` in flight. */
export const repeat = <E>(
  n: number,
  concurrency: number,
  op: (i: number) => Effect.Effect<void, E>
): Effect.Effect<void, E> => Effect.forEach(Array.from({ length: n }, (_, i) => i), op, { concurrency, discard: true })

/** `get` of a key that must exist. */
export const get = (store: Store, key: string): Effect.Effect<void, unknown> =>
  Effect.flatMap(store.get(key), (value) => check(Option.isSome(value), `get ${key}: none`))

export const assoc = (store: Store, key: string, value: Uint8Array): Effect.Effect<void, unknown> =>
  store.assoc(key, value)

/** `multiGet` of keys that must all exist. */
export const multiGet = (store: Store, keys: ReadonlyArray<string>): Effect.Effect<void, unknown> =>
  Effect.flatMap(
    store.multiGet(keys),
    (found) => check(found.size === keys.length, `multiGet of ${keys.length} keys found ${found.size}`)
  )

/** Lists every key; the count must be `expected`. */
export const keys = (store: Store, expected: number): Effect.Effect<void, unknown> =>
  Effect.flatMap(
    Stream.runCount(store.keys),
    (count) => check(count === expected, `keys listed ${count} keys, expected ${expected}`)
  )

/**
 * `bassoc` from a stream that pulls one piece at a time, as a file or socket
 * stream would deliver them.
 */
export const bassoc = (
  store: Store,
  key: string,
  pieces: () => IterableIterator<Uint8Array>
): Effect.Effect<void, unknown> => store.bassoc(key, Stream.suspend(() => Stream.fromIteratorSucceed(pieces(), 1)))

/** `bget`, its stream drained with a fold that counts the bytes; they must be `size`. */
export const bget = (store: Store, key: string, size: number): Effect.Effect<void, unknown> =>
  Effect.gen(function*() {
    const binary = yield* store.bget(key)
    if (Option.isNone(binary)) return yield* Effect.fail(new CheckFailed(`bget ${key}: none`))
    const bytes = yield* Stream.runFold(binary.value.stream, 0, (total, chunk) => total + chunk.length)
    yield* check(binary.value.size === size && bytes === size, `bget ${key}: ${bytes} bytes streamed, expected ${size}`)
  })

/** A 2-key transfer with `transact`: one `BatchGetItem`, one `TransactWriteItems` (missing accounts count 0). */
export const transfer = (store: Store, from: string, to: string, amount: number): Effect.Effect<void, unknown> =>
  store.transact([from, to], (current) => {
    const a = (current.get(from) as number | undefined) ?? 0
    const b = (current.get(to) as number | undefined) ?? 0
    return Effect.succeed({ assoc: [[from, a - amount], [to, b + amount]] as const, result: undefined })
  })
