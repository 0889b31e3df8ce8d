/**
 * `konserve-dynamodb/promise` on MemoryStore and on DynamoDB Local: the
 * README scenario, absent values, the store's error classes (never a
 * FiberFailure), binaries in and out as web streams and async iterables,
 * `await using`, `keys()` releasing its scan when the loop breaks,
 * `changes()` (subscribed when it returns, released on break or close) and
 * `transact` (a transfer, `f`'s rejection as it is, conflict re-runs, limits).
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { describe, expect, it } from "vitest"
import * as Run from "../src/internal/promise/run.js"
import { ConditionFailed, InvalidKey, ItemTooLarge, TransactionLimitExceeded } from "../src/KonserveError.js"
import { type Change, type Changes, open, type Store, StoreClosed } from "../src/promise.js"
import { endpoint, uniqueTable } from "./utils/dynamodb.js"

const MiB = 1024 * 1024
const table = uniqueTable("promise")
let prefixes = 0

const stores: ReadonlyArray<readonly [string, (maxValueBytes?: number) => Promise<Store>]> = [
  ["MemoryStore", (maxValueBytes) => open({ memory: true, maxValueBytes })],
  ["DynamoDB Local", (maxValueBytes) =>
    open({
      table,
      endpoint: endpoint(),
      region: "us-east-1",
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
      prefix: `p${prefixes++}`,
      maxValueBytes
    })]
]

const bytesOf = async (stream: ReadableStream<Uint8Array>): Promise<Uint8Array> => {
  const parts: Array<Uint8Array> = []
  const reader = stream.getReader()
  for (let next = await reader.read(); next.done !== true; next = await reader.read()) parts.push(next.value)
  return Buffer.concat(parts)
}

/** The next `n` changes, failing after 5 s rather than waiting for ever. */
const take = async (changes: Changes, n: number): Promise<Array<Change>> => {
  const seen: Array<Change> = []
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`only ${seen.length} of ${n} changes within 5 s`)), 5000)
  })
  try {
    while (seen.length < n) {
      const next = await Promise.race([changes.next(), timeout])
      if (next.done === true) break
      seen.push(next.value)
    }
  } finally {
    clearTimeout(timer)
  }
  return seen
}

const rejection = async (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(() => expect.fail("resolved"), (error: unknown) => error)

describe.each(stores)("promise API on %s", (_, make) => {
  it("runs the README scenario", async () => {
    await using store = await make()
    await store.assocIn(["foo", "bar"], { foo: "baz" })
    expect(await store.getIn(["foo"])).toEqual({ bar: { foo: "baz" } })
    expect(await store.getIn(["foo", "bar", "foo"])).toBe("baz")
    expect(await store.exists("foo")).toBe(true)
    await store.assoc("bar", 42)
    expect(await store.update("bar", (n) => (n as number) + 1)).toEqual({ before: 42, after: 43 })
    expect(await store.get("bar")).toBe(43)
    expect(await store.dissoc("bar")).toBe(true)
    expect(await store.exists("bar")).toBe(false)
    await store.multiAssoc({ apple: 1, pear: 2, plum: 3 })
    expect(await store.multiGet(["apple", "plum", "kiwi"])).toEqual(new Map([["apple", 1], ["plum", 3]]))
    await store.append("error-log", { type: "horrible" })
    await store.append("error-log", { type: "worse" })
    expect(await store.log("error-log")).toEqual([{ type: "horrible" }, { type: "worse" }])
    expect(await store.reduceLog("error-log", 0, (n) => n + 1)).toBe(2)
    const banana = new Uint8Array(10 * MiB).fill(42)
    await store.bassoc("banana", banana)
    const binary = await store.bget("banana")
    expect(binary?.size).toBe(10 * MiB)
    expect(binary?.meta.type).toBe("binary")
    const read = await bytesOf(binary!.stream)
    expect(read.length).toBe(10 * MiB)
    expect(read.every((byte) => byte === 42)).toBe(true)
    const keys: Array<string> = []
    for await (const meta of store.keys()) keys.push(`${meta.key}:${meta.type}`)
    expect(keys.sort()).toEqual([
      "apple:value",
      "banana:binary",
      "error-log:log",
      "foo:value",
      "pear:value",
      "plum:value"
    ])
  })

  it("gives undefined for absent values, and update's function receives undefined", async () => {
    await using store = await make()
    expect(await store.get("none")).toBeUndefined()
    expect(await store.getIn(["none", "a"])).toBeUndefined()
    expect(await store.getMeta("none")).toBeUndefined()
    expect(await store.log("none")).toBeUndefined()
    expect(await store.bget("none")).toBeUndefined()
    const seen: Array<unknown> = []
    expect(await store.update("n", (n) => (seen.push(n), 1))).toEqual({ before: undefined, after: 1 })
    expect(await store.updateIn(["m", "a"], (n) => (seen.push(n), 2))).toEqual({ before: undefined, after: 2 })
    expect(seen).toEqual([undefined, undefined])
    expect(await store.get("m")).toEqual({ a: 2 })
  })

  it("awaits update functions that return a Promise, losing no concurrent update", async () => {
    await using store = await make()
    const inc = async (n: unknown) => {
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 5))
      return ((n as number | undefined) ?? 0) + 1
    }
    expect(await store.update("c", inc)).toEqual({ before: undefined, after: 1 })
    await Promise.all(Array.from({ length: 8 }, () => store.update("c", inc)))
    expect(await store.get("c")).toBe(9)
    expect(await store.updateIn(["d", "x"], async () => "y")).toEqual({ before: undefined, after: "y" })
    expect(await store.get("d")).toEqual({ x: "y" })
    const error = await rejection(store.update("c", async () => 0, { ifAbsent: true }))
    expect(error).toBeInstanceOf(ConditionFailed)
    expect(await store.get("c")).toBe(9)
  })

  it("rejects with the store's error classes, never a FiberFailure", async () => {
    await using store = await make(MiB)
    const invalid = await rejection(store.get(""))
    expect(invalid).toBeInstanceOf(InvalidKey)
    expect(invalid).toMatchObject({ _tag: "InvalidKey", key: "" })
    const large = await rejection(store.bassoc("big", new Uint8Array(MiB + 1)))
    expect(large).toBeInstanceOf(ItemTooLarge)
    expect(large).toMatchObject({ _tag: "ItemTooLarge", key: "big", size: MiB + 1, limit: MiB })
    expect(String(large)).toMatch(/^ItemTooLarge: .*big.*1048577.*1048576/)
    await store.assoc("k", 1)
    const condition = await rejection(store.assoc("k", 2, { ifAbsent: true }))
    expect(condition).toBeInstanceOf(ConditionFailed)
    expect((condition as Error).name).not.toMatch(/FiberFailure/)
    const thrown = new Error("from f")
    expect(
      await rejection(store.update("k", () => {
        throw thrown
      }))
    ).toBe(thrown)
  })

  it("takes binaries as strings, async iterables and web streams, and reads them back", async () => {
    await using store = await make()
    await store.bassoc("s", "héllo")
    expect(new TextDecoder().decode(await bytesOf((await store.bget("s"))!.stream))).toBe("héllo")
    async function* parts() {
      yield new Uint8Array([1, 2])
      yield new Uint8Array([3])
    }
    await store.bassoc("i", parts())
    expect(Array.from(await bytesOf((await store.bget("i"))!.stream))).toEqual([1, 2, 3])
    const big = Uint8Array.from({ length: 3 * MiB }, (_, i) => i % 251)
    await store.bassoc("w", new Blob([big]).stream())
    const binary = (await store.bget("w"))!
    expect(binary.size).toBe(big.length)
    expect(Buffer.compare(await bytesOf(binary.stream), big)).toBe(0)
    await (await store.bget("w"))!.stream.cancel()
  })

  it("closes with await using; operations afterwards reject with StoreClosed", async () => {
    let escaped: Store | undefined
    {
      await using store = await make()
      await store.assoc("a", 1)
      escaped = store
    }
    const error = await rejection(escaped.get("a"))
    expect(error).toBeInstanceOf(StoreClosed)
    expect((error as Error).message).toMatch(/store\.get: the store is closed/)
    await escaped.close()
  })

  it("keys(): breaking the loop ends the listing", async () => {
    await using store = await make()
    await store.multiAssoc(Array.from({ length: 30 }, (_, i) => [`k${i}`, i] as const), { atomic: false })
    let seen = 0
    for await (const _meta of store.keys()) {
      if (++seen === 3) break
    }
    expect(seen).toBe(3)
    let all = 0
    for await (const _meta of store.keys()) all++
    expect(all).toBe(30)
  })
  it("changes(): subscribed when it returns; yields each write as a Change; break and close release it", async () => {
    await using store = await make()
    const changes = store.changes()
    await store.assoc("a", { n: 1 })
    await store.multiAssoc({ b: 1, c: 2 })
    await store.dissoc("a")
    await store.dissoc("missing")
    await store.assoc("d", 4)
    const seen: Array<Change> = []
    const watchdog = setTimeout(() => void changes.return(), 5000) // a missed change fails the test, not hangs it
    for await (const change of changes) {
      seen.push(change)
      if (seen.length === 4) break
    }
    clearTimeout(watchdog)
    expect(seen.map((change) => `${change.op}:${change.key}`)).toEqual(["write:a", "write:b", "write:c", "remove:a"])
    const [a, b, c, removed] = seen
    expect(a).toMatchObject({ key: "a", op: "write", value: { n: 1 }, meta: { key: "a", type: "value" } })
    expect(a.version).toBe(a.meta?.version)
    expect("batch" in a).toBe(false)
    expect(typeof b.batch).toBe("string")
    expect(c.batch).toBe(b.batch)
    expect(removed).toEqual({ key: "a", op: "remove", version: removed.version })
    // released: the queued "d" is not delivered, the loop is over
    expect(await changes.next()).toEqual({ done: true, value: undefined })
    // a subscription waiting for a change ends when the store closes
    const waiting = store.changes()
    const pending = waiting.next()
    await store.close()
    expect(await pending).toEqual({ done: true, value: undefined })
    expect(() => store.changes()).toThrow(StoreClosed)
  })

  it("transact: a two-key transfer, awaited or not, with one batch in changes()", async () => {
    await using store = await make()
    await store.multiAssoc({ from: 100, to: 5 })
    const changes = store.changes()
    const result = await store.transact(["from", "to"], async (current) => {
      await new Promise((resolve) => setTimeout(resolve, 1))
      const from = current.get("from") as number
      const to = current.get("to") as number
      return { assoc: { from: from - 30, to: to + 30 }, result: `moved 30, ${from - 30} left` }
    })
    expect(result).toBe("moved 30, 70 left")
    expect(await store.multiGet(["from", "to"])).toEqual(new Map([["from", 70], ["to", 35]]))
    const [one, two] = await take(changes, 2)
    expect(new Set([one.key, two.key])).toEqual(new Set(["from", "to"]))
    expect(one.batch).toBeDefined()
    expect(two.batch).toBe(one.batch)
    await changes.return()
    const read = await store.transact(["to", "none"], (current) => ({ dissoc: ["to"], result: current }))
    expect(read).toEqual(new Map([["to", 35]]))
    expect(await store.exists("to")).toBe(false)
  })

  it("transact: a rejection or throw of f writes nothing and rejects with that very error", async () => {
    await using store = await make()
    await store.multiAssoc({ x: 1, y: 2 })
    const thrown = new Error("no")
    let runs = 0
    const rejected = await rejection(store.transact(["x", "y"], async () => {
      runs++
      await Promise.resolve()
      throw thrown
    }))
    expect(rejected).toBe(thrown)
    expect(
      await rejection(store.transact(["x"], () => {
        runs++
        throw thrown
      }))
    ).toBe(thrown)
    // f's own ConditionFailed is f's failure, not a conflict: not re-run
    const own = new ConditionFailed({ key: "x", operation: "assoc" })
    expect(
      await rejection(store.transact(["x"], async () => {
        runs++
        throw own
      }))
    ).toBe(own)
    expect(runs).toBe(3)
    expect(await store.multiGet(["x", "y"])).toEqual(new Map([["x", 1], ["y", 2]]))
  })

  it("transact: a concurrent write re-runs f on the fresh values; retries: 0 rejects with ConditionFailed", async () => {
    await using store = await make()
    await store.assoc("x", 1)
    const received: Array<unknown> = []
    const result = await store.transact(["x"], async (current) => {
      received.push(current.get("x"))
      if (received.length === 1) await store.assoc("x", 10)
      return { assoc: { x: (current.get("x") as number) + 1 }, result: current.get("x") }
    })
    expect(received).toEqual([1, 10])
    expect(result).toBe(10)
    expect(await store.get("x")).toBe(11)
    const conflict = await rejection(store.transact(["x"], async () => {
      await store.assoc("x", 0)
      return { assoc: { x: 1 }, result: undefined }
    }, { retries: 0 }))
    expect(conflict).toBeInstanceOf(ConditionFailed)
    expect(conflict).toMatchObject({ _tag: "ConditionFailed", operation: "transact" })
    expect(await store.get("x")).toBe(0)
  })

  it("transact: limits and plans outside the keys read reject with the store's error classes", async () => {
    await using store = await make()
    let runs = 0
    const keys = Array.from({ length: 101 }, (_, i) => `k${i}`)
    const limit = await rejection(store.transact(keys, () => {
      runs++
      return { result: 0 }
    }))
    expect(limit).toBeInstanceOf(TransactionLimitExceeded)
    expect(limit).toMatchObject({ _tag: "TransactionLimitExceeded", items: 101, limit: 100 })
    expect(runs).toBe(0)
    const outside = await rejection(store.transact(["a"], () => ({ assoc: { a: 1, b: 2 }, result: 0 })))
    expect(outside).toBeInstanceOf(InvalidKey)
    expect(await store.multiGet(["a", "b"])).toEqual(new Map())
  })
})

describe("changes() on a subscriber that falls behind", () => {
  it("delivers the changes it had queued, in order, then rejects with ChangesOverflow", async () => {
    await using store = await open({ memory: true })
    const changes = store.changes()
    await store.multiAssoc(Array.from({ length: 1100 }, (_, i) => [`k${i}`, i] as const), { atomic: false })
    const seen: Array<string> = []
    const error = await rejection((async () => {
      for await (const change of changes) seen.push(change.key)
    })())
    // 1024 queued, and the first one the subscription's waiting pull had already taken
    expect(seen).toEqual(Array.from({ length: 1025 }, (_, i) => `k${i}`))
    expect(error).toMatchObject({ _tag: "DynamoDBError", code: "ChangesOverflow" })
  })
})

describe("Run.subscribe", () => {
  const runtime = Effect.runSync(Effect.runtime<never>())

  it("starts the stream before it returns; return() answers a waiting next() and releases it", async () => {
    let started = false
    let released = false
    const stream = Stream.unwrapScoped(
      Effect.acquireRelease(
        Effect.sync(() => (started = true, Stream.never)),
        () => Effect.sync(() => (released = true))
      )
    )
    const subscription = Run.subscribe(runtime, stream)
    expect(started).toBe(true)
    const pending = subscription.next()
    await subscription.return()
    expect(released).toBe(true)
    expect(await pending).toEqual({ done: true, value: undefined })
  })

  it("releases a subscription never iterated, and one left by break", async () => {
    const releases: Array<string> = []
    const counting = (name: string) =>
      Stream.iterate(0, (n) => n + 1).pipe(Stream.ensuring(Effect.sync(() => releases.push(name))))
    await Run.subscribe(runtime, counting("idle"))[Symbol.asyncDispose]()
    for await (const n of Run.subscribe(runtime, counting("loop"))) {
      if (n === 5) break
    }
    expect(releases).toEqual(["idle", "loop"])
  })
})

describe("Run.iterate", () => {
  it("closes the stream's scope when the loop breaks", async () => {
    let released = false
    const stream = Stream.iterate(0, (n) => n + 1).pipe(Stream.ensuring(Effect.sync(() => (released = true))))
    for await (const n of Run.iterate(Effect.runSync(Effect.runtime<never>()), stream)) {
      if (n === 5) break
    }
    expect(released).toBe(true)
  })

  it("rethrows the stream's failure as it is", async () => {
    const failure = new InvalidKey({ key: "", reason: "empty" })
    const iterable = Run.iterate(Effect.runSync(Effect.runtime<never>()), Stream.fail(failure))
    await expect(async () => {
      for await (const _ of iterable) {
        // nothing
      }
    }).rejects.toBe(failure)
  })
})
