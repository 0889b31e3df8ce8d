/**
 * @since 0.1.0
 */
export * as KonserveStore from "./KonserveStore.js"

/**
 * @since 0.1.0
 */
export * as KonserveError from "./KonserveError.js"

/**
 * @since 0.1.0
 */
export * as DynamoDBStore from "./DynamoDBStore.js"

/**
 * @since 0.1.0
 */
export * as MemoryStore from "./MemoryStore.js"
