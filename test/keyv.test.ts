/**
 * `KeyvKonserve` under Keyv 5 (`keyv`) and Keyv 6.1 (`keyv6`, an npm alias):
 * our own cases. Keyv's own suite runs in test/keyv-suite/ (it needs vitest 4).
 */
import Keyv5 from "keyv"
import Keyv6 from "keyv6"
import { describe, expect, it } from "vitest"
import { KeyvKonserve } from "../src/keyv.js"
import { open, type Store } from "../src/promise.js"
import { endpoint, uniqueTable } from "./utils/dynamodb.js"

type AnyKeyv = {
  set(key: string, value: unknown, ttl?: number): Promise<boolean>
  get(key: string | Array<string>): Promise<unknown>
  has(key: string): Promise<boolean>
  delete(key: string | Array<string>): Promise<boolean>
  clear(): Promise<void>
  iterator?: unknown
  store: unknown
}

const majors = [
  ["Keyv 5", (options: object) => KeyvKonserve.withIterator(new Keyv5(options as never)) as unknown as AnyKeyv],
  ["Keyv 6.1", (options: object) => new Keyv6(options as never) as unknown as AnyKeyv]
] as const

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const iterate = async (keyv: AnyKeyv): Promise<Array<[string, unknown]>> => {
  const entries: Array<[string, unknown]> = []
  const iterator = keyv.iterator as () => AsyncIterable<[string, unknown]>
  for await (const entry of iterator.call(keyv)) entries.push(entry)
  return entries.sort(([a], [b]) => a.localeCompare(b))
}

describe.each(majors)("KeyvKonserve under %s", (major, make) => {
  const withStore = async (f: (store: Store) => Promise<void>) => {
    const store = await open({ memory: true })
    try {
      await f(store)
    } finally {
      await store.close()
    }
  }

  it("is taken by new Keyv({ store }) without throwing, with an iterator", () =>
    withStore(async (store) => {
      const adapter = new KeyvKonserve(store)
      const keyv = make({ store: adapter, namespace: "app" })
      expect(typeof keyv.iterator).toBe("function")
      if (major === "Keyv 6.1") expect(keyv.store).toBe(adapter)
      else expect(() => new Keyv5({ store: new KeyvKonserve(store) })).not.toThrow()
    }))

  it("writes keys with the namespace part, the same under both majors, with no default expiry", () =>
    withStore(async (store) => {
      const keyv = make({ store: new KeyvKonserve(store), namespace: "app" })
      expect(await keyv.set("fruit", "banana")).toBe(true)
      expect(await keyv.get("fruit")).toBe("banana")
      expect(await keyv.has("fruit")).toBe(true)
      const meta = await store.getMeta("app:fruit")
      expect(meta?.key).toBe("app:fruit")
      expect(meta?.expiresAt).toBeUndefined()
      expect(await keyv.delete("fruit")).toBe(true)
      expect(await keyv.delete("fruit")).toBe(false)
      expect(await store.exists("app:fruit")).toBe(false)
    }))

  it("turns Keyv's ttl into the store's ttl", () =>
    withStore(async (store) => {
      const keyv = make({ store: new KeyvKonserve(store), namespace: "app" })
      const before = Date.now()
      await keyv.set("short", "x", 60)
      const meta = await store.getMeta("app:short")
      expect(meta?.expiresAt?.getTime()).toBeGreaterThanOrEqual(before + 50)
      expect(meta?.expiresAt?.getTime()).toBeLessThanOrEqual(Date.now() + 70)
      await sleep(90)
      expect(await store.get("app:short")).toBeUndefined()
      expect(await keyv.get("short")).toBeUndefined()
    }))

  it("getMany, deleteMany, clear of its namespace only, iterator across every key", () =>
    withStore(async (store) => {
      const a = make({ store: new KeyvKonserve(store), namespace: "a" })
      const b = make({ store: new KeyvKonserve(store), namespace: "b" })
      await Promise.all(Array.from({ length: 30 }, (_, i) => a.set(`k${i}`, i)))
      await b.set("k0", "other")
      await store.assoc("plain", 1)
      expect(await a.get(["k1", "nope", "k2"])).toEqual([1, undefined, 2])
      expect(await a.delete(["k28", "k29"])).toEqual(major === "Keyv 5" ? true : [true, true])
      const entries = await iterate(a)
      expect(entries.length).toBe(28)
      expect(entries.map(([key]) => key)).toContain("k10")
      expect(entries.find(([key]) => key === "k10")?.[1]).toBe(10)
      await a.clear()
      expect(await a.get("k1")).toBeUndefined()
      expect(await b.get("k0")).toBe("other")
      expect(await store.get("plain")).toBe(1)
      const whole = make({ store: new KeyvKonserve(store), namespace: undefined })
      await whole.clear()
      const left: Array<string> = []
      for await (const meta of store.keys()) left.push(meta.key)
      expect(left).toEqual([])
    }))

  it("stores values past one DynamoDB item on DynamoDB Local", async () => {
    const adapter = new KeyvKonserve({
      table: uniqueTable("keyv"),
      endpoint: endpoint(),
      region: "us-east-1",
      credentials: { accessKeyId: "local", secretAccessKey: "local" }
    })
    const keyv = make({ store: adapter, namespace: "big" })
    const value = "x".repeat(1024 * 1024)
    expect(await keyv.set("v", value)).toBe(true)
    expect(await keyv.get("v")).toBe(value)
    await adapter.disconnect()
    await expect(adapter.get("big:v")).rejects.toThrow(/closed/)
  })
})

describe("KeyvKonserve.withIterator", () => {
  it("is needed by Keyv 5: it wires no iterator for an adapter it does not know by name", async () => {
    const store = await open({ memory: true })
    const keyv = new Keyv5({ store: new KeyvKonserve(store) })
    expect(keyv.iterator).toBeUndefined()
    KeyvKonserve.withIterator(keyv)
    await keyv.set("x", 1)
    const entries: Array<unknown> = []
    for await (const entry of keyv.iterator!(undefined)) entries.push(entry)
    expect(entries).toEqual([["x", 1]])
    await store.close()
  })
})
