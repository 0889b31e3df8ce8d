/**
 * `KeyvKonserve`: a Keyv storage adapter (Keyv 5 and 6) over a promise
 * store (`konserve-dynamodb/promise`) or its configuration. Values of any
 * size up to `maxValueBytes`, listing across every page, no default expiry,
 * errors as the store's error classes. See docs/promise.md#keyv.
 *
 * ```ts
 * import Keyv from "keyv"
 * import { KeyvKonserve } from "konserve-dynamodb/keyv"
 *
 * const keyv = new Keyv({ store: new KeyvKonserve({ table: "konserve", prefix: "cache" }), namespace: "app" })
 * await keyv.set("fruit", "banana", 60_000)
 * ```
 *
 * The two majors speak differently to an adapter, and the adapter follows
 * the one it is given to:
 *
 * - Keyv 5 passes keys with its namespace part (`app:fruit`) and a relative
 *   ttl in milliseconds; `deleteMany` answers one boolean.
 * - Keyv 6 reads `capabilities` when it takes the adapter; `expires: true`
 *   there makes it pass keys without the namespace (the adapter adds
 *   `namespace:`, so both majors store the same key) and an absolute expiry;
 *   `deleteMany` answers a boolean per key.
 *
 * The adapter speaks 5 until `capabilities` is read; `{ keyv: 5 }` or
 * `{ keyv: 6 }` fixes the major.
 *
 * @since 0.1.0
 */
import { EventEmitter } from "node:events"
import type { Key } from "./KonserveStore.js"
import { type DynamoDBConfig, type MemoryConfig, open, type Store } from "./promise.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface KeyvKonserveOptions {
  /** The Keyv major that uses the adapter; default: 6 once Keyv 6 reads `capabilities`, else 5. */
  readonly keyv?: 5 | 6 | undefined
}

/**
 * An entry of `setMany`: Keyv 5 gives a relative `ttl`, Keyv 6 an absolute `expires`.
 *
 * @since 0.1.0
 * @category models
 */
export interface KeyvEntry {
  readonly key: string
  readonly value: unknown
  readonly ttl?: number | undefined
  readonly expires?: number | undefined
}

const methodNames = [
  "get",
  "getMany",
  "has",
  "hasMany",
  "set",
  "setMany",
  "delete",
  "deleteMany",
  "clear",
  "disconnect",
  "iterator"
] as const

/**
 * What the adapter declares to Keyv 6 (`KeyvStorageCapability`).
 *
 * @since 0.1.0
 * @category models
 */
export interface KeyvCapabilities {
  readonly compatible: true
  readonly store: "keyvStorage"
  readonly methods: Readonly<
    Record<(typeof methodNames)[number], { readonly exists: true; readonly methodType: "async" }>
  >
  readonly expires: true
}

const capabilities: KeyvCapabilities = {
  compatible: true,
  store: "keyvStorage",
  methods: Object.fromEntries(
    methodNames.map((name) => [name, { exists: true, methodType: "async" }] as const)
  ) as KeyvCapabilities["methods"],
  expires: true
}

/** Keys removed per request while clearing. */
const CLEAR_BATCH = 500

/**
 * A Keyv storage adapter over a konserve-dynamodb store.
 *
 * @since 0.1.0
 * @category adapters
 */
export class KeyvKonserve extends EventEmitter {
  /** Set by Keyv: its namespace. */
  namespace: string | undefined = undefined
  /**
   * For Keyv 5, which looks at `opts` of an adapter with an `iterator`: a
   * `url` naming no adapter Keyv 5 iterates by itself, so `new Keyv({ store })`
   * never throws; wire `keyv.iterator` with `KeyvKonserve.withIterator`.
   */
  readonly opts: Record<string, unknown> = { url: "konserve-dynamodb:", dialect: "konserve-dynamodb" }
  readonly #store: Promise<Store>
  readonly #owned: boolean
  #major: 5 | 6 | undefined

  /**
   * Over a promise store (the caller's to close) or a configuration for
   * `open` (the adapter opens the store at once and `disconnect` closes it;
   * a failure to open rejects the first operation).
   */
  constructor(store: Store | DynamoDBConfig | MemoryConfig, options?: KeyvKonserveOptions) {
    super()
    this.#major = options?.keyv
    this.#owned = !isStore(store)
    this.#store = isStore(store) ? Promise.resolve(store) : open(store)
    this.#store.catch(() => undefined)
  }

  /**
   * Keyv 5's `keyv.iterator()`: Keyv 5 wires it only for adapters it knows
   * by name. Sets `keyv.iterator` of a Keyv 5 instance over this adapter;
   * does nothing for Keyv 6 (its `iterator()` already reaches the adapter).
   */
  static withIterator<K extends object>(keyv: K): K {
    const k = keyv as {
      iterator?: unknown
      generateIterator?: (iterator: unknown) => unknown
      opts?: { readonly store?: unknown }
    }
    const store = k.opts?.store
    if (k.iterator === undefined && typeof k.generateIterator === "function" && store instanceof KeyvKonserve) {
      k.iterator = k.generateIterator(store.iterator.bind(store))
    }
    return keyv
  }

  /** Keyv 6's capability declaration: every method, native `async`, and absolute `expires`. */
  get capabilities(): KeyvCapabilities {
    this.#major ??= 6
    return capabilities
  }

  /** The store key of a key Keyv gives. */
  #key(key: string): Key {
    return this.#major === 6 && this.namespace !== undefined ? `${this.namespace}:${key}` : key
  }

  /** The store ttl (ms) of Keyv's third argument; 0 when already expired. */
  #ttl(ttlOrExpires: number | undefined): number | undefined {
    if (typeof ttlOrExpires !== "number" || !Number.isFinite(ttlOrExpires)) return undefined
    if (this.#major === 6) return Math.max(0, ttlOrExpires - Date.now())
    return ttlOrExpires > 0 ? ttlOrExpires : undefined
  }

  async get(key: string): Promise<unknown> {
    return (await this.#store).get(this.#key(key))
  }

  async getMany(keys: Array<string>): Promise<Array<unknown>> {
    const store = await this.#store
    const found = await store.multiGet(keys.map((key) => this.#key(key)))
    return keys.map((key) => found.get(this.#key(key)))
  }

  async has(key: string): Promise<boolean> {
    return (await this.#store).exists(this.#key(key))
  }

  async hasMany(keys: Array<string>): Promise<Array<boolean>> {
    const store = await this.#store
    return Promise.all(keys.map((key) => store.exists(this.#key(key))))
  }

  async set(key: string, value: unknown, ttlOrExpires?: number): Promise<boolean> {
    const store = await this.#store
    const ttl = this.#ttl(ttlOrExpires)
    if (ttl === 0) {
      await store.dissoc(this.#key(key))
      return true
    }
    await store.assoc(this.#key(key), value, ttl === undefined ? undefined : { ttl })
    return true
  }

  async setMany(entries: Array<KeyvEntry>): Promise<Array<boolean>> {
    const store = await this.#store
    const lasting = entries.filter((entry) => this.#ttl(entry.expires ?? entry.ttl) === undefined)
    await store.multiAssoc(lasting.map((entry) => [this.#key(entry.key), entry.value] as const), { atomic: false })
    await Promise.all(
      entries.filter((entry) => !lasting.includes(entry)).map((entry) =>
        this.set(entry.key, entry.value, entry.expires ?? entry.ttl)
      )
    )
    return entries.map(() => true)
  }

  async delete(key: string): Promise<boolean> {
    return (await this.#store).dissoc(this.#key(key))
  }

  /** Keyv 5 answers whether every key existed; Keyv 6 one boolean per key. */
  async deleteMany(keys: Array<string>): Promise<boolean | Array<boolean>> {
    const store = await this.#store
    const removed = await store.multiDissoc(keys.map((key) => this.#key(key)), { atomic: false })
    const each = keys.map((key) => removed.get(this.#key(key)) === true)
    return this.#major === 6 ? each : each.every(Boolean)
  }

  /** Removes the keys of Keyv's namespace across every page; every key of the store when there is none. */
  async clear(): Promise<void> {
    const store = await this.#store
    const prefix = this.namespace === undefined ? "" : `${this.namespace}:`
    let batch: Array<Key> = []
    for await (const meta of store.keys()) {
      if (!meta.key.startsWith(prefix)) continue
      batch.push(meta.key)
      if (batch.length >= CLEAR_BATCH) {
        await store.multiDissoc(batch, { atomic: false })
        batch = []
      }
    }
    if (batch.length > 0) await store.multiDissoc(batch, { atomic: false })
  }

  /**
   * `[key, value]` of every value key of Keyv's namespace (every value key
   * when there is none), across every page. Keys as Keyv wrote them: with
   * the `namespace:` part for Keyv 5, without it for Keyv 6. Breaking the
   * loop stops the scan.
   */
  async *iterator(namespace?: string): AsyncGenerator<[string, unknown], void> {
    const store = await this.#store
    const ns = namespace ?? this.namespace
    const prefix = ns === undefined ? "" : `${ns}:`
    for await (const meta of store.keys()) {
      if (meta.type !== "value" || !meta.key.startsWith(prefix)) continue
      const value = await store.get(meta.key)
      if (value === undefined) continue
      yield [this.#major === 6 ? meta.key.slice(prefix.length) : meta.key, value]
    }
  }

  /** Closes the store when the adapter opened it from a configuration; a store passed in stays open. */
  async disconnect(): Promise<void> {
    if (this.#owned) await (await this.#store).close()
  }
}

const isStore = (value: Store | DynamoDBConfig | MemoryConfig): value is Store =>
  typeof (value as Partial<Store>).get === "function"
