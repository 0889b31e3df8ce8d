/**
 * The cache's memory: a least-recently-used map bounded by bytes. Entries
 * are kept in a `Map`, whose iteration order is insertion order: a hit
 * moves its entry to the end, eviction takes from the front. An entry
 * larger than the whole budget is not kept at all.
 *
 * @internal
 */

/** What the LRU needs of an entry: its size in bytes. @internal */
export interface Sized {
  readonly bytes: number
}

/** @internal */
export interface Lru<A extends Sized> {
  /** The entry of a key, made the most recently used. */
  readonly get: (key: string) => A | undefined
  /** The entry of a key, its recency unchanged. */
  readonly peek: (key: string) => A | undefined
  /** Keeps an entry (replacing the key's), then evicts the least recently used ones past the budget. */
  readonly set: (key: string, entry: A) => void
  readonly delete: (key: string) => boolean
  readonly clear: () => void
  /** Bytes held now. */
  readonly bytes: () => number
  readonly size: () => number
}

/**
 * An LRU of at most `maxBytes`; `onEvict(key, entry)` is called for each
 * entry evicted for room (not for `delete`, `clear` or a replacement), and
 * `onBytes(delta)` on every change of the bytes held.
 *
 * @internal
 */
export const make = <A extends Sized>(options: {
  readonly maxBytes: number
  readonly onEvict?: (key: string, entry: A) => void
  readonly onBytes?: (delta: number) => void
}): Lru<A> => {
  const { maxBytes } = options
  const onEvict = options.onEvict ?? (() => {})
  const onBytes = options.onBytes ?? (() => {})
  const entries = new Map<string, A>()
  let held = 0

  const remove = (key: string): A | undefined => {
    const entry = entries.get(key)
    if (entry === undefined) return undefined
    entries.delete(key)
    held -= entry.bytes
    onBytes(-entry.bytes)
    return entry
  }

  return {
    get: (key) => {
      const entry = entries.get(key)
      if (entry !== undefined) {
        entries.delete(key)
        entries.set(key, entry)
      }
      return entry
    },
    peek: (key) => entries.get(key),
    set: (key, entry) => {
      remove(key)
      if (entry.bytes > maxBytes) return
      entries.set(key, entry)
      held += entry.bytes
      onBytes(entry.bytes)
      while (held > maxBytes) {
        const oldest = entries.keys().next()
        if (oldest.done === true) break
        const evicted = remove(oldest.value)
        if (evicted !== undefined) onEvict(oldest.value, evicted)
      }
    },
    delete: (key) => remove(key) !== undefined,
    clear: () => {
      if (held !== 0) onBytes(-held)
      entries.clear()
      held = 0
    },
    bytes: () => held,
    size: () => entries.size
  }
}
