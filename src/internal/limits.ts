/**
 * The limits every store keeps, so that MemoryStore fails where DynamoDB
 * would: atomic operations' key count and transaction size, and the size of
 * a `meta`. See `docs/limits.md`.
 *
 * @internal
 */

/** The most keys of an atomic multi-key operation (DynamoDB's transaction limit). @internal */
export const MAX_ATOMIC_KEYS = 100

/**
 * The most encoded bytes of a write's `meta`. A head holds its meta whatever
 * its value (which can always move to chunks), so with the key, the prefix
 * and the head's own attributes it must fit one DynamoDB item (400 KB).
 *
 * @internal
 */
export const MAX_META_BYTES = 300 * 1024

/**
 * The aggregate size of the items of one transaction that the store aims
 * under (DynamoDB's limit is 4 MB): above it the largest inline values move
 * to chunks, and a transaction that stays above it with every value in
 * chunks fails with `TransactionLimitExceeded` before anything is written.
 *
 * @internal
 */
export const TRANSACTION_BYTES = 3_500_000

/**
 * A bound on what a head weighs besides its key and its meta when its value is
 * in chunks: the longest encoded prefix (512 bytes and its length), the
 * attribute names and numbers, the chunk manifest, the write history.
 *
 * @internal
 */
export const CHUNKED_HEAD_BYTES = 1600

/** The least a transaction of these writes can weigh, every value in chunks: a bound on what DynamoDB counts. @internal */
export const minimalTransactionBytes = (
  writes: ReadonlyArray<{ readonly key: string; readonly user: Uint8Array | undefined }>
): number =>
  writes.reduce(
    (total, write) => total + Buffer.byteLength(write.key, "utf8") + (write.user?.length ?? 0) + CHUNKED_HEAD_BYTES,
    0
  )

/**
 * The most bytes a head holds inline with its key and meta (DynamoDB's
 * `dynamodb/plan.ts` `INLINE_ITEM_BYTES`, attributes included): MemoryStore
 * reports a value of at most this size, key and meta included, as held
 * inline, so that `Change.value` follows one rule on both stores.
 *
 * @internal
 */
export const INLINE_BYTES = 350 * 1024
