/**
 * The `konserve-dynamodb` CLI: run as a child process against the run's
 * DynamoDB Local, end to end; the export format's value encoding and the
 * export → import round trip checked without an engine (MemoryStore) by
 * fast-check.
 *
 * The child runs `src/cli.ts` bundled once by esbuild (its packages left
 * external): a start costs about a second of CPU, against two and a half
 * under `node --import tsx`. (test/package.test.ts runs the built bin.)
 * Assertions are batched per invocation, and independent invocations run
 * side by side.
 */
import { beforeAll, describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { randomBytes } from "node:crypto"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as DynamoDBStore from "../src/DynamoDBStore.js"
import * as ExportFormat from "../src/internal/cli/exportFormat.js"
import * as ImportFormat from "../src/internal/cli/importFormat.js"
import * as KeyLines from "../src/internal/cli/keyLines.js"
import * as Render from "../src/internal/cli/render.js"
import * as KonserveStore from "../src/KonserveStore.js"
import * as MemoryStore from "../src/MemoryStore.js"
import { buildCli, type Run, runCli } from "./utils/cli.js"
import { deepEqual } from "./utils/deepEqual.js"
import { endpoint, storeConfig, uniqueTable } from "./utils/dynamodb.js"
import { storableValues } from "./utils/values.js"

// -----------------------------------------------------------------------------
// helpers
// -----------------------------------------------------------------------------

const work = Fs.mkdtempSync(Path.join(Os.tmpdir(), "konserve-cli-"))
const table = uniqueTable("cli")
const MiB = 1024 * 1024

beforeAll(buildCli)

/** The CLI on the run's engine and this file's table (unless the args name another). */
const cli = (
  args: ReadonlyArray<string>,
  options?: {
    readonly input?: string | Uint8Array
    /** Close the read end of stdout's pipe on its first data: a reader that went away (`| head -c 1`). */
    readonly closeStdout?: boolean
  }
): Promise<Run> => runCli([...args, "--region", "us-east-1"], { ...options, env: { KONSERVE_TABLE: table } })

const lines = (text: string): ReadonlyArray<string> => text.split("\n").filter((line) => line !== "")

/** An export's text imported into `target` (a MemoryStore), without an engine. */
const importText = (text: string, target: KonserveStore.KonserveStore) =>
  ImportFormat.importLines(Stream.splitLines(Stream.succeed(text)), { now: () => Date.now() }).pipe(
    Effect.scoped,
    Effect.provideService(KonserveStore.KonserveStore, target)
  )

/** Every key of a store, in key order: key, kind, value (a log's elements), user meta, expiry. */
const contents = (s: KonserveStore.KonserveStore) =>
  Effect.flatMap(Stream.runCollect(s.keys), (metas) =>
    Effect.forEach(
      Array.from(metas).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)),
      (meta) =>
        Effect.map(
          meta.type === "log" ? s.log(meta.key) : s.get(meta.key),
          (value) => [meta.key, meta.type, Option.getOrThrow(value), meta.user, meta.expiresAt?.getTime()]
        )
    ))

/** The store of `prefix` in this file's table, for setting up and checking what the CLI did. */
const store = (prefix: string) => DynamoDBStore.layer(storeConfig(endpoint(), table, { prefix }))

const inStore = <A, E>(prefix: string, program: Effect.Effect<A, E, KonserveStore.KonserveStore>): Promise<A> =>
  Effect.runPromise(Effect.provide(program, store(prefix)))

/** Everything the store holds under a prefix, by key: kind, value (bytes for a binary), user meta, expiry. */
const snapshot = (prefix: string) =>
  inStore(
    prefix,
    Effect.gen(function*() {
      const out = new Map<string, { type: string; value: unknown; user: unknown; expiresAt: number | undefined }>()
      const metas = yield* Stream.runCollect(KonserveStore.keys)
      for (const meta of metas) {
        const value = meta.type === "log"
          ? Option.getOrThrow(yield* KonserveStore.log(meta.key))
          : Option.getOrThrow(yield* KonserveStore.get(meta.key))
        out.set(meta.key, { type: meta.type, value, user: meta.user, expiresAt: meta.expiresAt?.getTime() })
      }
      return out
    })
  )

/** Values of every kind the store keeps, nested. */
const richValue = {
  big: 123456789012345678901234567890n,
  negative: -(2n ** 70n),
  when: new Date("2025-01-31T12:00:00.000Z"),
  invalid: new Date(NaN),
  far: new Date(8.64e15),
  map: new Map<unknown, unknown>([[1, "one"], [{ a: [1n] }, new Set([new Date(0)])]]),
  set: new Set([1, "two", null]),
  bytes: new Uint8Array([0, 1, 2, 254, 255]),
  numbers: [NaN, Infinity, -Infinity, -0, 0.1, Number.MAX_VALUE],
  nested: { u: undefined, deep: [[[{ x: "y" }]]] },
  dollar: { $bigint: "not a tag" },
  text: "line\nbreak \u2603 \ud83d\ude00"
}

// -----------------------------------------------------------------------------
// the export format's values, without an engine
// -----------------------------------------------------------------------------

const { nested, top } = storableValues({
  // strings and keys that look like the format's own tags
  leaves: [FastCheck.constantFrom("$bigint", "$object", "$")],
  containers: (tie) => [
    FastCheck.dictionary(FastCheck.constantFrom("$bigint", "$map", "$x", "$"), tie("nested"), { maxKeys: 1 })
  ]
})

describe("tagged JSON (the export format's values)", () => {
  it("round-trips every storable value exactly through JSON text", () => {
    FastCheck.assert(
      FastCheck.property(top, (value) => {
        const decoded = Render.parse(JSON.stringify(Render.encode(value)))
        return Either.isRight(decoded) && deepEqual(decoded.right, value)
      }),
      { numRuns: 500 }
    )
    expect(nested).toBeDefined()
  })

  it("renders for people with the same tags, and names the place of a bad tag", () => {
    expect(Render.stringify({ n: 1n, s: new Set([1]) }, { pretty: true })).toBe(
      "{ \"n\": { \"$bigint\": \"1\" }, \"s\": { \"$set\": [1] } }"
    )
    expect(Render.stringify({ n: 1n, d: new Date(0), s: new Set([1, 2, 3, 4, 5, 6]) }, { pretty: true })).toBe(
      "{\n  \"n\": { \"$bigint\": \"1\" },\n  \"d\": { \"$date\": \"1970-01-01T00:00:00.000Z\" },\n" +
        "  \"s\": { \"$set\": [1, 2, 3, 4, 5, 6] }\n}"
    )
    expect(Render.stringify({ $x: 1 })).toBe("{\"$object\":{\"$x\":1}}")
    expect(Render.parse("{\"a\": [{\"$bigint\": \"1.5\"}]}")).toEqual(
      Either.left("$.a[0].$bigint: expected an integer as a string of decimal digits")
    )
    expect(Either.isLeft(Render.parse("{\"odd key\": {\"$what\": 1}}"))).toBe(true)
  })

  it("export → import on in-memory stores keeps every key, value, meta and TTL", async () => {
    const entries = FastCheck.uniqueArray(
      FastCheck.tuple(FastCheck.string({ minLength: 1, maxLength: 6 }), top),
      { selector: ([key]) => key, maxLength: 6 }
    )
    await FastCheck.assert(
      FastCheck.asyncProperty(entries, async (pairs) => {
        const program = Effect.gen(function*() {
          const source = yield* MemoryStore.make()
          const target = yield* MemoryStore.make()
          for (const [key, value] of pairs) {
            if (value !== undefined) yield* source.assoc(key, value, { meta: { of: key }, ttl: Duration.hours(1) })
          }
          yield* source.append("log", 1n)
          yield* source.append("log", new Map([[1, 2]]))
          yield* source.bassoc("bin", new Uint8Array(200_000).fill(7))
          yield* source.bassoc("empty", new Uint8Array(0))
          const text = yield* ExportFormat.exportLines({ table: "t", prefix: undefined }, ExportFormat.emptyCounts())
            .pipe(Stream.mkString, Effect.provideService(KonserveStore.KonserveStore, source))
          yield* importText(text, target)
          return deepEqual(yield* contents(source), yield* contents(target))
        })
        return Effect.runPromise(Effect.scoped(program))
      }),
      { numRuns: 30 }
    )
  })

  it("refuses a truncated or broken file, naming the line", async () => {
    const fail = (text: string) =>
      Effect.runPromise(
        ImportFormat.importLines(Stream.splitLines(Stream.succeed(text)), { now: () => Date.now() }).pipe(
          Effect.scoped,
          Effect.provide(MemoryStore.layer()),
          Effect.flip,
          Effect.map((error) => error.message)
        )
      )
    const header = JSON.stringify({ type: "header", format: "konserve-dynamodb-export", version: 1 })
    expect(await fail(`${header}\n{"type":"value","key":"a","value":1}\n`)).toMatch(
      /^line 3: the file ends before its end record/
    )
    expect(await fail("{\"type\":\"value\"}\n")).toMatch(/^line 1: not a konserve-dynamodb-export file/)
    expect(await fail(`${header}\n{"type":"binary","key":"b","size":4}\n{"type":"chunk","bytes":"AAECAwQ="}\n`))
      .toMatch(/^line 3: more bytes than the binary's size \(4\)/)
    expect(await fail(`${header}\n{"type":"value","key":"a","value":{"$date":"soon"}}\n`)).toMatch(
      /^line 2: value of "a": \$\.\$date: expected an ISO 8601 date/
    )
    expect(await fail(`${header}\n{"type":"end","keys":2}\n`)).toMatch(/^line 2: the end record counts 2 keys/)
  })
})

describe("export, of a store that changes while it runs", () => {
  it("takes each key's kind, value, meta and expiry from its read, not from the listing; a vanished key is counted", async () => {
    const program = Effect.gen(function*() {
      const source = yield* MemoryStore.make()
      yield* source.assoc("rewritten", "old", { meta: { v: 1 }, ttl: "1 hour" })
      yield* source.assoc("value-to-log", 1)
      yield* source.append("log-to-binary", 1)
      yield* source.bassoc("binary-to-value", new Uint8Array([1, 2]))
      yield* source.append("log-to-value", "x")
      yield* source.assoc("vanished", 1)
      yield* source.assoc("racy", "first", { meta: { v: 1 } })
      yield* source.assoc("steady", "same", { meta: { v: 1 }, ttl: "3 days" })
      // each runs once the listing has yielded its key, before the export reads it
      const changes: Record<string, Effect.Effect<void, unknown>> = {
        rewritten: source.assoc("rewritten", "new", { meta: { v: 2 }, ttl: "2 days" }),
        "value-to-log": Effect.zipRight(source.dissoc("value-to-log"), source.append("value-to-log", "appended")),
        "log-to-binary": Effect.zipRight(
          source.dissoc("log-to-binary"),
          source.bassoc("log-to-binary", new Uint8Array([7]), { meta: { v: 4 } })
        ),
        "binary-to-value": source.assoc("binary-to-value", "now a value", { meta: { v: 3 } }),
        "log-to-value": Effect.zipRight(source.dissoc("log-to-value"), source.assoc("log-to-value", 42)),
        vanished: Effect.asVoid(source.dissoc("vanished"))
      }
      let raced = false
      const changing: KonserveStore.KonserveStore = {
        ...source,
        keys: Stream.tap(source.keys, (meta) => Effect.orDie(changes[meta.key] ?? Effect.void)),
        // "racy" is rewritten right after its value was read
        get: (key) =>
          Effect.tap(source.get(key), () => {
            if (key !== "racy" || raced) return Effect.void
            raced = true
            return Effect.orDie(source.assoc("racy", "second", { meta: { v: 2 } }))
          })
      }
      const counts = ExportFormat.emptyCounts()
      const text = yield* ExportFormat.exportLines({ table: "t", prefix: undefined }, counts).pipe(
        Stream.mkString,
        Effect.provideService(KonserveStore.KonserveStore, changing)
      )
      const records = lines(text).map((line) => JSON.parse(line) as Record<string, unknown>)
      const byKey = new Map(records.filter((record) => typeof record.key === "string").map((r) => [r.key, r]))
      expect(byKey.get("rewritten")).toMatchObject({ type: "value", value: "new", meta: { v: 2 } })
      const expiresIn = Date.parse(byKey.get("rewritten")?.expiresAt as string) - Date.now()
      expect(expiresIn).toBeGreaterThan(Duration.toMillis("47 hours"))
      expect(byKey.get("value-to-log")).toMatchObject({ type: "log", count: 1 })
      expect(byKey.get("log-to-binary")).toMatchObject({ type: "binary", size: 1, meta: { v: 4 } })
      expect(byKey.get("binary-to-value")).toMatchObject({ type: "value", value: "now a value", meta: { v: 3 } })
      expect(byKey.get("log-to-value")).toMatchObject({ type: "value", value: 42 })
      expect(byKey.get("log-to-value")).not.toHaveProperty("meta")
      expect(byKey.has("vanished")).toBe(false)
      // rewritten between its read and its getMeta: read again, value and meta of the same write
      expect(byKey.get("racy")).toMatchObject({ type: "value", value: "second", meta: { v: 2 } })
      expect(byKey.get("steady")).toMatchObject({ type: "value", value: "same", meta: { v: 1 } })
      expect(counts).toMatchObject({ keys: 7, values: 5, binaries: 1, logs: 1, vanished: 1 })
      expect(records.at(-1)).toMatchObject({ type: "end", keys: 7 })

      // imported, it is the store as it is now
      const target = yield* MemoryStore.make()
      yield* importText(text, target)
      expect(deepEqual(yield* contents(target), yield* contents(source))).toBe(true)
    })
    await Effect.runPromise(program)
  })

  it("fails with ConcurrentModification on a key that changes every time it is read", async () => {
    const program = Effect.gen(function*() {
      const source = yield* MemoryStore.make()
      yield* source.assoc("restless", 0)
      let writes = 0
      const restless: KonserveStore.KonserveStore = {
        ...source,
        get: (key) => Effect.tap(source.get(key), () => Effect.orDie(source.assoc(key, ++writes)))
      }
      const error = yield* ExportFormat.exportLines({ table: "t", prefix: undefined }, ExportFormat.emptyCounts()).pipe(
        Stream.runDrain,
        Effect.provideService(KonserveStore.KonserveStore, restless),
        Effect.flip
      )
      expect(error).toMatchObject({ _tag: "DynamoDBError", code: "ConcurrentModification" })
      expect(writes).toBe(ExportFormat.READ_ATTEMPTS)
    })
    await Effect.runPromise(program)
  })
})

describe("keys as lines (keys prints them, gc --keep reads them back)", () => {
  const key = FastCheck.string({ unit: "binary", minLength: 1, maxLength: 12 }).filter((k) => k.isWellFormed())
  const odd = FastCheck.constantFrom("\"", "{", "\r", "\n", "\t", " ", "\u0000", "\u007f", "\u0085", "\u2028", "\ufeff")
  const tricky = FastCheck.oneof(
    key,
    FastCheck.tuple(FastCheck.array(FastCheck.oneof(odd, key), { minLength: 1, maxLength: 5 })).map(([parts]) =>
      parts.join("")
    )
  )
  const utf8 = (text: string) => new Uint8Array(Buffer.from(text, "utf8"))

  it("every key printed by keys, or by keys --json, reads back as itself, one line each", () => {
    FastCheck.assert(
      FastCheck.property(FastCheck.uniqueArray(tricky, { maxLength: 8 }), (keys) => {
        const printed = keys.map(KeyLines.render)
        const json = keys.map((k) => JSON.stringify({ key: k, type: "value" }))
        const plain = KeyLines.parseKeepFile(utf8(printed.map((line) => line + "\n").join("")))
        const fromJson = KeyLines.parseKeepFile(utf8(json.join("\n")))
        return printed.every((line) => !line.includes("\n") && !line.includes("\r")) &&
          Either.isRight(plain) && deepEqual(plain.right, new Set(keys)) &&
          Either.isRight(fromJson) && deepEqual(fromJson.right, new Set(keys))
      }),
      { numRuns: 1000 }
    )
  })

  it("refuses, naming the line, what it cannot read as one key for sure", () => {
    const refused = (text: string | Uint8Array) =>
      Either.getLeft(KeyLines.parseKeepFile(typeof text === "string" ? utf8(text) : text)).pipe(Option.getOrUndefined)
    expect(KeyLines.parseKeepFile(utf8("\ufeffa\n\"\\\"b\\\"\"\n{\"key\":\"{c}\"}\n\nplain key\n"))).toEqual(
      Either.right(new Set(["a", "\"b\"", "{c}", "plain key"]))
    )
    expect(refused("a\r\nb\r\n")).toEqual({ line: 1, reason: expect.stringMatching(/carriage return/) })
    expect(refused("a\n b\n")).toEqual({ line: 2, reason: expect.stringMatching(/whitespace/) })
    expect(refused("a\n\n \n")).toEqual({ line: 3, reason: expect.stringMatching(/only whitespace/) })
    expect(refused("a\n\"b\n")).toEqual({ line: 2, reason: expect.stringMatching(/^not JSON/) })
    expect(refused("{\"name\":\"b\"}")).toEqual({ line: 1, reason: expect.stringMatching(/string "key"/) })
    expect(refused("a\tb")).toEqual({ line: 1, reason: expect.stringMatching(/control character/) })
    expect(refused("a\nb\u2028c\n")).toEqual({ line: 2, reason: expect.stringMatching(/line separator/) })
    expect(refused(new Uint8Array([0x61, 0x0a, 0xff, 0x0a]))).toEqual({ line: 2, reason: "not UTF-8" })
    expect(KeyLines.render("\u007f\u2028")).toBe("\"\\u007f\\u2028\"")
  })
})

// -----------------------------------------------------------------------------
// the CLI as a child process
// -----------------------------------------------------------------------------

describe("konserve-dynamodb (the CLI)", { timeout: 120_000 }, () => {
  it("put, get, keys and rm; --json outputs; exit code 3 for a missing key", async () => {
    const binary = randomBytes(100_000)
    const binaryFile = Path.join(work, "small.bin")
    Fs.writeFileSync(binaryFile, binary)
    const p = ["--prefix", "basics"]
    const tagged = Render.stringify(richValue)
    const puts = await Promise.all([
      cli(["put", "rich", tagged, "--json", "--ttl", "2 days", "--meta", "{\"owner\":{\"$bigint\":\"7\"}}", ...p]),
      cli(["put", "blob", "--binary", binaryFile, ...p]),
      cli(["put", "greeting", "-", ...p], { input: "hello from stdin" })
    ])
    for (const put of puts) expect([put.status, put.stderr]).toEqual([0, ""])

    const [keys, rich, raw, long] = await Promise.all([
      cli(["keys", "--json", ...p]),
      cli(["get", "rich", "--json", ...p]),
      cli(["get", "blob", "--raw", ...p]),
      cli(["keys", "--long", "--starts-with", "b", ...p])
    ])
    interface MetaJson {
      readonly key: string
      readonly type: string
      readonly size: number
      readonly expiresAt: string
      readonly meta: unknown
    }
    const metas = lines(keys.out).map((line) => JSON.parse(line) as MetaJson).sort((a, b) => (a.key < b.key ? -1 : 1))
    expect(metas.map((meta) => [meta.key, meta.type])).toEqual([
      ["blob", "binary"],
      ["greeting", "value"],
      ["rich", "value"]
    ])
    const richMeta = metas.find((meta) => meta.key === "rich")!
    expect(richMeta.meta).toEqual({ owner: { $bigint: "7" } })
    const expiresIn = Date.parse(richMeta.expiresAt) - Date.now()
    expect(expiresIn).toBeGreaterThan(Duration.toMillis("47 hours"))
    expect(metas.find((meta) => meta.key === "blob")?.size).toBe(100_000)

    expect(rich.status).toBe(0)
    expect(lines(rich.out)).toHaveLength(1) // --json: one line
    expect(deepEqual(Either.getOrThrow(Render.parse(rich.out)), richValue)).toBe(true)
    expect(Buffer.compare(raw.stdout, binary)).toBe(0)
    expect(lines(long.out)).toEqual([Render.LONG_HEADER, expect.stringMatching(/^binary\s+100000 B .* blob$/)])

    // what the CLI wrote is what the library reads
    const [stored, greeting] = await inStore(
      "basics",
      Effect.all([KonserveStore.get("rich"), KonserveStore.get("greeting")])
    )
    expect(deepEqual(Option.getOrThrow(stored), richValue)).toBe(true)
    expect(greeting).toEqual(Option.some("hello from stdin"))

    const [rm, gone, forced] = await Promise.all([
      cli(["rm", "greeting", "nope", "--json", ...p]),
      cli(["get", "never-there", ...p]),
      cli(["rm", "nope", "--force", ...p])
    ])
    expect(rm.status).toBe(3)
    expect(JSON.parse(rm.out)).toEqual({ removed: ["greeting"], missing: ["nope"] })
    expect(JSON.parse(rm.stderr)).toEqual({
      error: { _tag: "NotFound", message: "key \"nope\" not found", exitCode: 3 }
    })
    expect([gone.status, gone.out, gone.stderr]).toEqual([
      3,
      "",
      "konserve-dynamodb: NotFound: key \"never-there\" not found\n"
    ])
    expect([forced.status, forced.stderr]).toEqual([0, ""])
    expect(await inStore("basics", KonserveStore.exists("greeting"))).toBe(false)
  })

  it("export → import into another prefix keeps values, logs, a 1 MiB binary, metas and TTLs exactly", async () => {
    const binary = randomBytes(MiB)
    await inStore(
      "source",
      Effect.gen(function*() {
        yield* KonserveStore.assoc("rich", richValue, { meta: { tags: new Set(["a"]), n: 1n }, ttl: "3 days" })
        yield* KonserveStore.assoc("plain", { a: [1, "two"] })
        yield* KonserveStore.append("events", { type: "created", at: new Date(5) })
        yield* KonserveStore.append("events", 42n)
        yield* KonserveStore.append("events", new Uint8Array([9]))
        yield* KonserveStore.bassoc("blob", binary, { meta: { mime: "application/octet-stream" } })
        yield* KonserveStore.bassoc("empty", new Uint8Array(0))
      })
    )
    const file = Path.join(work, "source.jsonl")
    const exported = await cli(["export", "--prefix", "source", "--out", file, "--json"])
    expect(exported.status).toBe(0)
    expect(JSON.parse(exported.out)).toMatchObject({ keys: 5, values: 2, binaries: 2, logs: 1, binaryBytes: MiB })
    expect(Fs.existsSync(`${file}.partial`)).toBe(false)

    const text = Fs.readFileSync(file, "utf8")
    const records = lines(text).map((line) => JSON.parse(line))
    expect(records[0]).toMatchObject({ type: "header", format: "konserve-dynamodb-export", version: 1, table })
    expect(records.at(-1)).toEqual({ type: "end", keys: 5, values: 2, binaries: 2, logs: 1 })
    const chunks = records.filter((record) => record.type === "chunk").map((record) =>
      Buffer.from(record.bytes, "base64")
    )
    expect(chunks.every((chunk) => chunk.byteLength <= ExportFormat.CHUNK_BYTES)).toBe(true)
    expect(Buffer.compare(Buffer.concat(chunks), binary)).toBe(0)
    expect(records.filter((record) => record.type === "element")).toHaveLength(3)

    // from stdin, into another prefix; then the same file cut short
    const truncated = lines(text).slice(0, -3).join("\n") + "\n"
    const [imported, broken] = await Promise.all([
      cli(["import", "--prefix", "copy", "--json"], { input: text }),
      cli(["import", "-", "--prefix", "broken"], { input: truncated })
    ])
    expect([imported.status, imported.stderr]).toEqual([0, ""])
    expect(JSON.parse(imported.out)).toMatchObject({ keys: 5, values: 2, binaries: 2, logs: 1, expired: 0 })
    expect(broken.status).toBe(1)
    expect(broken.stderr).toMatch(/^konserve-dynamodb: FormatError: line \d+: the file ends .*: is it truncated\?\n$/)

    const [source, copy] = await Promise.all([snapshot("source"), snapshot("copy")])
    expect(copy.size).toBe(5)
    expect(deepEqual(copy, source)).toBe(true)
    expect(copy.get("rich")?.expiresAt).toBe(source.get("rich")?.expiresAt) // the same instant, to the millisecond
    expect(Buffer.compare(Buffer.from(copy.get("blob")?.value as Uint8Array), binary)).toBe(0)
  })

  it("stat, sweep --dry-run and gc", async () => {
    const p = ["--prefix", "maintenance"]
    await inStore(
      "maintenance",
      Effect.gen(function*() {
        yield* KonserveStore.assoc("old-1", 1)
        yield* KonserveStore.assoc("old-2", "two", { ttl: "1 day" })
        yield* KonserveStore.assoc("config", { keep: true })
        yield* KonserveStore.append("log", 1)
        yield* KonserveStore.bassoc("blob", new Uint8Array(500 * 1024))
      })
    )
    const [stat, sweep, dryGc] = await Promise.all([
      cli(["stat", "--json", ...p]),
      cli(["sweep", "--dry-run", "--json", ...p]),
      cli(["gc", "--keep", "-", "--older-than", "2100-01-01", "--dry-run", ...p], { input: "config\n\"log\"\n" })
    ])
    expect(stat.status).toBe(0)
    const counts = JSON.parse(stat.out)
    expect(counts).toMatchObject({
      keys: 5,
      values: 3,
      binaries: 1,
      logs: 1,
      logElements: 1,
      expiring: 1,
      unreferenced: 0
    })
    expect(counts.items).toBeGreaterThan(5) // the binary's chunks, the log's element
    expect(JSON.parse(sweep.out)).toMatchObject({ scanned: counts.items, unreferenced: 0, removed: 0, dryRun: true })
    expect(dryGc.status).toBe(0)
    expect([...lines(dryGc.out)].sort()).toEqual(["blob", "old-1", "old-2"])
    expect(dryGc.stderr).toMatch(/^gc \(dry run\): 3 keys would go/)
    expect(await inStore("maintenance", Effect.map(Stream.runCount(KonserveStore.keys), Number))).toBe(5)

    const keep = Path.join(work, "keep.txt")
    Fs.writeFileSync(keep, ["config", "{\"key\":\"blob\",\"type\":\"binary\"}", ""].join("\n"))
    const gc = await cli(["gc", "--keep", keep, "--older-than", "0 seconds", "--json", ...p])
    expect(gc.status).toBe(0)
    const result = JSON.parse(gc.out)
    expect([...result.removed].sort()).toEqual(["log", "old-1", "old-2"])
    const left = await inStore(
      "maintenance",
      Effect.map(Stream.runCollect(KonserveStore.keys), (metas) => Array.from(metas, (meta) => meta.key).sort())
    )
    expect(left).toEqual(["blob", "config"])
  })

  it("gc --keep reads back exactly the keys that keys prints; a line it cannot read unambiguously stops it", async () => {
    const p = ["--prefix", "keepfile"]
    const tricky = [
      "\"a\"",
      "a",
      "{\"key\":\"x\"}",
      "x",
      "cr\r",
      "cr",
      "line1\nline2",
      "line1",
      "line2",
      " spaced ",
      "spaced",
      "\ufeffbom",
      "bom",
      "tab\there",
      "\"",
      "{",
      "sep\u2028arator",
      "plain/key with spaces",
      "\u2603 \ud83d\ude00"
    ]
    const all = [...tricky].sort()
    await inStore("keepfile", KonserveStore.multiAssoc(tricky.map((key) => [key, key] as const), { atomic: false }))
    const keysNow = () =>
      inStore(
        "keepfile",
        Effect.map(Stream.runCollect(KonserveStore.keys), (metas) => Array.from(metas, (meta) => meta.key).sort())
      )

    const [plain, json, long] = await Promise.all([
      cli(["keys", ...p]),
      cli(["keys", "--json", ...p]),
      cli(["keys", "--long", ...p])
    ])
    expect([plain.status, json.status, long.status]).toEqual([0, 0, 0])
    const removedBy = (run: Run): unknown => run.status === 0 ? JSON.parse(run.out).removed : run.out
    const plainFile = Path.join(work, "keep-plain.txt")
    const jsonFile = Path.join(work, "keep-json.txt")
    Fs.writeFileSync(plainFile, plain.stdout)
    Fs.writeFileSync(jsonFile, json.stdout)
    const [dryPlain, dryJson] = await Promise.all([
      cli(["gc", "--keep", plainFile, "--older-than", "2100-01-01", "--dry-run", "--json", ...p]),
      cli(["gc", "--keep", jsonFile, "--older-than", "2100-01-01", "--dry-run", "--json", ...p])
    ])
    expect([dryPlain.status, dryPlain.stderr, removedBy(dryPlain)]).toEqual([0, "", []])
    expect([dryJson.status, dryJson.stderr, removedBy(dryJson)]).toEqual([0, "", []])
    const gc = await cli(["gc", "--keep", plainFile, "--older-than", "2100-01-01", "--json", ...p])
    expect([gc.status, gc.stderr, removedBy(gc)]).toEqual([0, "", []])
    expect(await keysNow()).toEqual(all)
    expect(lines(plain.out)).toHaveLength(tricky.length) // one line a key
    expect(lines(long.out)).toHaveLength(tricky.length + 1)

    // keep one key: gc removes every other, and prints each as `keys` does (one a line)
    const keepOne = Path.join(work, "keep-one.txt")
    Fs.writeFileSync(keepOne, lines(plain.out).filter((line) => line !== "a").join("\n") + "\n")
    const dryOne = await cli(["gc", "--keep", keepOne, "--older-than", "2100-01-01", "--dry-run", ...p])
    expect([dryOne.status, lines(dryOne.out)]).toEqual([0, ["a"]])

    // lines it cannot read unambiguously: refused, nothing removed
    const refused = await Promise.all(
      ["a\r\n\"a\"\r\n", "a\n \"a\"\n", "a\n\"a\n", "a\n{\"name\":\"x\"}\n", "a\ntab\there\n", "  \n"].map((
        text
      ) => cli(["gc", "--keep", "-", "--older-than", "2100-01-01", ...p], { input: text }))
    )
    for (const run of refused) {
      expect([run.status, run.out]).toEqual([1, ""])
      expect(lines(run.stderr)).toEqual([
        expect.stringMatching(/^konserve-dynamodb: KeepFileError: --keep -: line \d+: /)
      ])
    }
    expect(await keysNow()).toEqual(all)
  })

  it("negative or malformed durations and dates are usage errors before anything runs; put --meta takes any object", async () => {
    const p = ["--prefix", "durations"]
    await inStore("durations", KonserveStore.assoc("victim", 1))
    const [gcNegative, sweepNegative, ttlNegative, statNegative, badDate, huge, metaCtor] = await Promise.all([
      cli(["gc", "--keep", "-", "--older-than", "-30 days", ...p], { input: "other\n" }),
      cli(["sweep", "--grace", "-1 hours", "--dry-run", ...p]),
      cli(["put", "k", "v", "--ttl", "-5 minutes", ...p]),
      cli(["stat", "--grace", "-1 seconds", ...p]),
      cli(["gc", "--keep", "-", "--older-than", "2025-02-30", ...p], { input: "other\n" }),
      cli(["gc", "--keep", "-", "--older-than", "99999999999999 days", ...p], { input: "other\n" }),
      cli(["put", "ctor", "v", "--meta", "{\"constructor\":1,\"toString\":\"x\"}", ...p])
    ])
    expect([gcNegative.status, gcNegative.out]).toEqual([2, ""])
    expect(gcNegative.stderr).toBe(
      "konserve-dynamodb: UsageError: --older-than: \"-30 days\" is negative (a duration before now: \"30 days\")\n"
    )
    expect([sweepNegative.status, sweepNegative.out]).toEqual([2, ""])
    expect(sweepNegative.stderr).toMatch(/^konserve-dynamodb: UsageError: --grace: "-1 hours" is negative/)
    expect([ttlNegative.status, ttlNegative.stderr]).toEqual([
      2,
      expect.stringMatching(/^konserve-dynamodb: UsageError: --ttl: "-5 minutes" is negative/)
    ])
    expect([statNegative.status, statNegative.stderr]).toEqual([
      2,
      expect.stringMatching(/^konserve-dynamodb: UsageError: --grace: "-1 seconds" is negative/)
    ])
    expect([badDate.status, badDate.stderr]).toEqual([
      2,
      expect.stringMatching(/^konserve-dynamodb: UsageError: --older-than: "2025-02-30" is not a date/)
    ])
    expect([huge.status, huge.stderr]).toEqual([
      2,
      expect.stringMatching(/^konserve-dynamodb: UsageError: --older-than/)
    ])
    expect([metaCtor.status, metaCtor.stderr]).toEqual([0, ""])
    const [victim, ctor, k] = await inStore(
      "durations",
      Effect.all([KonserveStore.exists("victim"), KonserveStore.getMeta("ctor"), KonserveStore.exists("k")])
    )
    expect(victim).toBe(true)
    expect(k).toBe(false)
    expect(Option.getOrThrow(ctor).user).toEqual({ constructor: 1, toString: "x" })
  })

  it("a reader that goes away: export and get exit 1 (their output is incomplete), keys exits 0 quietly", async () => {
    const p = ["--prefix", "epipe"]
    await inStore(
      "epipe",
      Effect.gen(function*() {
        yield* KonserveStore.bassoc("blob", randomBytes(2 * MiB))
        yield* KonserveStore.assoc("text", "t".repeat(2 * MiB))
        // about 200 KB of key names: more than a pipe holds
        yield* KonserveStore.multiAssoc(
          Array.from({ length: 200 }, (_, i) => [`${String(i).padStart(4, "0")}-${"k".repeat(1000)}`, i] as const),
          { atomic: false }
        )
      })
    )
    const [exported, raw, value, keys] = await Promise.all([
      cli(["export", ...p], { closeStdout: true }),
      cli(["get", "blob", "--raw", ...p], { closeStdout: true }),
      cli(["get", "text", ...p], { closeStdout: true }),
      cli(["keys", ...p], { closeStdout: true })
    ])
    for (const run of [exported, raw, value]) {
      expect(run.status).toBe(1)
      expect(lines(run.stderr).at(-1)).toMatch(/^konserve-dynamodb: FileError \(EPIPE\): stdout: /)
    }
    expect(exported.stderr).not.toMatch(/exported/)
    expect([keys.status, keys.stderr]).toEqual([0, ""])
  })

  it("every failure is one line with its _tag (and code); usage errors exit 2", async () => {
    const [missingArg, badTtl, noStore, noFile, invalid] = await Promise.all([
      cli(["get"]),
      cli(["put", "k", "v", "--ttl", "soon"]),
      cli(["keys", "--table", `${table}-missing`]),
      cli(["put", "k", "--binary", Path.join(work, "no-such-file")]),
      cli(["get", "k", "--table", "ab", "--json"])
    ])
    expect([missingArg.status, missingArg.out]).toEqual([2, ""])
    expect(missingArg.stderr).toMatch(/Missing argument <KEY>/)
    expect([badTtl.status, badTtl.stderr]).toEqual([
      2,
      "konserve-dynamodb: UsageError: --ttl: \"soon\" is not a duration (e.g. \"30 minutes\", \"2 days\")\n"
    ])
    expect([noStore.status, lines(noStore.stderr)]).toEqual([
      1,
      [expect.stringMatching(/^konserve-dynamodb: StoreNotFound: table ".*-missing" does not exist/)]
    ])
    expect([noFile.status, lines(noFile.stderr)]).toEqual([
      1,
      [expect.stringMatching(/^konserve-dynamodb: FileError \(ENOENT\): .*no-such-file/)]
    ])
    // a configuration mistake in the flags is a usage error (test/cli.import.test.ts)
    expect(invalid.status).toBe(2)
    expect(lines(invalid.stderr)).toHaveLength(1)
    expect(JSON.parse(invalid.stderr).error).toMatchObject({ _tag: "UsageError", exitCode: 2 })
  })
})
