import {
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
  ListTablesCommand,
  PutItemCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand
} from "@aws-sdk/client-dynamodb"
import { describe, expect, it, layer } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as HashMap from "effect/HashMap"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import type * as Engine from "../src/internal/dynamoDBLocal.js"
import { start } from "../src/internal/dynamoDBLocal.js"
import { DynamoDBLocal } from "../src/testing.js"
import { clientConfig, endpoint, engineLayer, uniqueTable } from "./utils/dynamodb.js"

const client = (url: string) =>
  Effect.acquireRelease(
    Effect.sync(() => new DynamoDBClient(clientConfig(url))),
    (c) => Effect.sync(() => c.destroy())
  )

const send = <A>(label: string, f: (signal: AbortSignal) => Promise<A>) =>
  Effect.tryPromise({ try: f, catch: (cause) => new Error(`${label} failed: ${String(cause)}`, { cause }) })

const portOf = (url: string) => Number(new URL(url).port)

/** Whether something accepts TCP connections on 127.0.0.1:port. */
const accepts = (port: number) =>
  Effect.async<boolean>((resume) => {
    const socket = Net.connect({ host: "127.0.0.1", port })
    socket.once("connect", () => {
      socket.destroy()
      resume(Effect.succeed(true))
    })
    socket.once("error", () => resume(Effect.succeed(false)))
  })

layer(engineLayer)("the run's shared engine (globalSetup)", (it) => {
  it.scoped("answers ListTables through the AWS SDK", () =>
    Effect.gen(function*() {
      const engine = yield* DynamoDBLocal.DynamoDBLocal
      expect(engine.endpoint).toBe(endpoint())
      expect(engine.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      const c = yield* client(engine.endpoint)
      const out = yield* send("ListTables", (abortSignal) => c.send(new ListTablesCommand({}), { abortSignal }))
      expect(Array.isArray(out.TableNames)).toBe(true)
    }))
})

describe("DynamoDBLocal.layer", () => {
  it.scoped(
    "starts a second engine on a free port, which serves items and transactions, and stops it",
    () =>
      Effect.gen(function*() {
        const ready: Array<HashMap.HashMap<string, unknown>> = []
        const capture = Logger.make(({ annotations, message }) => {
          if (
            Array.isArray(message)
              ? message.includes("DynamoDB Local is ready")
              : message === "DynamoDB Local is ready"
          ) {
            ready.push(annotations)
          }
        })
        const table = uniqueTable("testing")

        const url = yield* Effect.scoped(Effect.gen(function*() {
          const context = yield* Layer.build(DynamoDBLocal.layer())
          const { endpoint: url } = Context.get(context, DynamoDBLocal.DynamoDBLocal)
          expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
          expect(portOf(url)).not.toBe(portOf(endpoint()))

          const c = yield* client(url)
          yield* send("CreateTable", (abortSignal) =>
            c.send(
              new CreateTableCommand({
                TableName: table,
                BillingMode: "PAY_PER_REQUEST",
                AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }],
                KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }]
              }),
              { abortSignal }
            ))
          yield* send(
            "PutItem",
            (abortSignal) =>
              c.send(new PutItemCommand({ TableName: table, Item: { pk: { S: "a" }, n: { N: "1" } } }), { abortSignal })
          )
          const got = yield* send(
            "GetItem",
            (abortSignal) =>
              c.send(new GetItemCommand({ TableName: table, Key: { pk: { S: "a" } }, ConsistentRead: true }), {
                abortSignal
              })
          )
          expect(got.Item).toEqual({ pk: { S: "a" }, n: { N: "1" } })

          // a transaction that holds: both writes land
          yield* send("TransactWriteItems", (abortSignal) =>
            c.send(
              new TransactWriteItemsCommand({
                TransactItems: [
                  {
                    Update: {
                      TableName: table,
                      Key: { pk: { S: "a" } },
                      UpdateExpression: "SET n = n + :one",
                      ConditionExpression: "n = :one",
                      ExpressionAttributeValues: { ":one": { N: "1" } }
                    }
                  },
                  { Put: { TableName: table, Item: { pk: { S: "b" }, n: { N: "7" } } } }
                ]
              }),
              { abortSignal }
            ))
          const a = yield* send(
            "GetItem",
            (abortSignal) =>
              c.send(new GetItemCommand({ TableName: table, Key: { pk: { S: "a" } }, ConsistentRead: true }), {
                abortSignal
              })
          )
          const b = yield* send(
            "GetItem",
            (abortSignal) =>
              c.send(new GetItemCommand({ TableName: table, Key: { pk: { S: "b" } }, ConsistentRead: true }), {
                abortSignal
              })
          )
          expect(a.Item?.n).toEqual({ N: "2" })
          expect(b.Item?.n).toEqual({ N: "7" })

          // a transaction whose condition fails: cancelled, nothing written
          const cancelled = yield* send("TransactWriteItems", (abortSignal) =>
            c.send(
              new TransactWriteItemsCommand({
                TransactItems: [
                  { Put: { TableName: table, Item: { pk: { S: "c" }, n: { N: "3" } } } },
                  {
                    ConditionCheck: {
                      TableName: table,
                      Key: { pk: { S: "a" } },
                      ConditionExpression: "n = :one",
                      ExpressionAttributeValues: { ":one": { N: "1" } }
                    }
                  }
                ]
              }),
              { abortSignal }
            )).pipe(Effect.flip)
          expect(cancelled.cause).toBeInstanceOf(TransactionCanceledException)
          const c3 = yield* send(
            "GetItem",
            (abortSignal) =>
              c.send(new GetItemCommand({ TableName: table, Key: { pk: { S: "c" } }, ConsistentRead: true }), {
                abortSignal
              })
          )
          expect(c3.Item).toBeUndefined()

          // the table lives in this engine only
          const shared = yield* client(endpoint())
          const sharedTables = yield* send(
            "ListTables",
            (abortSignal) => shared.send(new ListTablesCommand({}), { abortSignal })
          )
          expect(sharedTables.TableNames ?? []).not.toContain(table)

          expect(yield* accepts(portOf(url))).toBe(true)
          return url
        })).pipe(
          Effect.provide(Logger.add(capture)),
          Logger.withMinimumLogLevel(LogLevel.Debug)
        )

        expect(ready).toHaveLength(1)
        const pid = HashMap.get(ready[0], "pid").pipe(Option.getOrThrow)
        const startupMillis = HashMap.get(ready[0], "startupMillis").pipe(Option.getOrThrow)
        if (typeof pid !== "number") {
          return expect.fail(`pid annotation is not a number: ${String(pid)}`)
        }
        console.info(`DynamoDB Local (pid ${String(pid)}) answered after ${String(startupMillis)} ms`)

        // the scope is closed: the JVM has exited and the port is closed
        expect(() => process.kill(pid, 0)).toThrow(expect.objectContaining({ code: "ESRCH" }))
        expect(yield* accepts(portOf(url))).toBe(false)
      }),
    { timeout: 120_000 }
  )

  it.scoped("fails with DynamoDBLocalError naming the fix when `java` is not on PATH", () =>
    Effect.gen(function*() {
      const emptyDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "no-java-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => Fs.rmSync(emptyDir, { recursive: true, force: true })))
      // internal options reach the engine through `layer`'s options object
      const options: Engine.Options = { env: { PATH: emptyDir } }
      const error = yield* Layer.build(DynamoDBLocal.layer(options)).pipe(Effect.flip)
      expect(error).toBeInstanceOf(DynamoDBLocal.DynamoDBLocalError)
      expect(error._tag).toBe("DynamoDBLocalError")
      expect(error.message).toContain("Java 17+")
      expect(error.message).toContain("apt-get install openjdk-17-jre-headless")
      expect(error.message).toContain("put `java` on PATH")

      const missing: Engine.Options = { javaCommand: Path.join(emptyDir, "bin", "java") }
      const error2 = yield* Layer.build(DynamoDBLocal.layer(missing)).pipe(Effect.flip)
      expect(error2.message).toContain("openjdk-17-jre-headless")

      // the Promise API (globalSetup) rejects with the same message
      const rejected = yield* Effect.promise(() => start(options).then(() => undefined, (e: Error) => e))
      expect(rejected).toBeInstanceOf(Error)
      expect(rejected?.message).toBe(error.message)
    }))

  it.scoped("fails with the exit status when the engine exits before it answers", () =>
    Effect.gen(function*() {
      const options: Engine.Options = { javaCommand: "false" }
      const error = yield* Layer.build(DynamoDBLocal.layer(options)).pipe(Effect.flip)
      expect(error).toBeInstanceOf(DynamoDBLocal.DynamoDBLocalError)
      expect(error.message).toMatch(/exited with code 1 before it answered/)
    }))

  it.scoped("fails with a clear message when the given port is taken", () =>
    Effect.gen(function*() {
      const port = portOf(endpoint())
      const error = yield* Layer.build(DynamoDBLocal.layer({ port })).pipe(Effect.flip)
      expect(error).toBeInstanceOf(DynamoDBLocal.DynamoDBLocalError)
      expect(error.message).toContain(`port ${port} is already in use`)
    }), { timeout: 60_000 })
})
