/**
 * The typed failures of every store operation.
 *
 * Each failure is a `Schema.TaggedError`: yieldable in `Effect.gen`, catchable
 * with `Effect.catchTag`, encodable with its schema, and never carrying
 * credentials.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * A key that is not a string of 1 to 1024 UTF-8 bytes. Nothing was read or written.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidKey extends Schema.TaggedError<InvalidKey>("konserve-dynamodb/InvalidKey")("InvalidKey", {
  key: Schema.Unknown,
  reason: Schema.String
}) {
  override get message(): string {
    return `${describeKey(this.key)} ${this.reason}`
  }
}

/**
 * A value outside the storable domain (or one the schema of a typed view does
 * not encode). Nothing was written.
 *
 * @since 0.1.0
 * @category errors
 */
export class SerializationError extends Schema.TaggedError<SerializationError>(
  "konserve-dynamodb/SerializationError"
)("SerializationError", {
  key: Schema.String,
  message: Schema.String
}) {}

/**
 * Stored bytes that do not decode: a corrupted item, a failed integrity check,
 * or a typed view whose schema rejects the stored value.
 *
 * @since 0.1.0
 * @category errors
 */
export class DecodeError extends Schema.TaggedError<DecodeError>("konserve-dynamodb/DecodeError")("DecodeError", {
  key: Schema.String,
  message: Schema.String
}) {}

/**
 * A value larger than the store's `maxValueBytes`. The previous value of the
 * key is left as it was.
 *
 * @since 0.1.0
 * @category errors
 */
export class ItemTooLarge extends Schema.TaggedError<ItemTooLarge>("konserve-dynamodb/ItemTooLarge")("ItemTooLarge", {
  key: Schema.String,
  size: Schema.Number,
  limit: Schema.Number,
  /**
   * True when the bytes came from a stream that was stopped once past the
   * limit: `size` is where it stopped, not the whole (which is unknown).
   */
  streamed: Schema.optional(Schema.Boolean)
}) {
  override get message(): string {
    return this.streamed === true
      ? `key ${JSON.stringify(this.key)} is more than ${this.limit} bytes, limit ${this.limit} ` +
        `(its stream was stopped after ${this.size} bytes)`
      : `key ${JSON.stringify(this.key)} is ${this.size} bytes, limit ${this.limit}`
  }
}

/**
 * An atomic multi-key operation over the service's limits: more than `limit`
 * (100) keys, or — `bytes`, the estimated size — more than the 4 MB a
 * DynamoDB transaction may carry even with every value in chunks (large
 * `meta`s). Nothing was written.
 *
 * @since 0.1.0
 * @category errors
 */
export class TransactionLimitExceeded extends Schema.TaggedError<TransactionLimitExceeded>(
  "konserve-dynamodb/TransactionLimitExceeded"
)("TransactionLimitExceeded", {
  operation: Schema.String,
  items: Schema.Number,
  limit: Schema.Number,
  bytes: Schema.optional(Schema.Number)
}) {
  override get message(): string {
    return this.bytes === undefined
      ? `${this.operation} of ${this.items} keys, limit ${this.limit}`
      : `${this.operation} of ${this.items} keys needs about ${this.bytes} bytes in one transaction, ` +
        "more than a DynamoDB transaction carries (4 MB) with every value in chunks"
  }
}

/**
 * A write whose condition did not hold (`ifAbsent`, `ifVersion`), or an
 * `update` whose conflict retries are spent. Nothing was changed.
 *
 * @since 0.1.0
 * @category errors
 */
export class ConditionFailed extends Schema.TaggedError<ConditionFailed>("konserve-dynamodb/ConditionFailed")(
  "ConditionFailed",
  {
    key: Schema.String,
    operation: Schema.String
  }
) {
  override get message(): string {
    return `${this.operation} of key ${
      JSON.stringify(this.key)
    } not applied: its condition does not hold, or other writers kept changing the key`
  }
}

/**
 * DynamoDB kept throttling the store's requests after its retry schedule was spent.
 *
 * @since 0.1.0
 * @category errors
 */
export class Throttled extends Schema.TaggedError<Throttled>("konserve-dynamodb/Throttled")("Throttled", {
  operation: Schema.String,
  attempts: Schema.Number
}) {
  override get message(): string {
    return `${this.operation} still throttled after ${this.attempts} attempts`
  }
}

/**
 * The store's table does not exist and table creation is disabled.
 *
 * @since 0.1.0
 * @category errors
 */
export class StoreNotFound extends Schema.TaggedError<StoreNotFound>("konserve-dynamodb/StoreNotFound")(
  "StoreNotFound",
  {
    table: Schema.String
  }
) {
  override get message(): string {
    return `table ${JSON.stringify(this.table)} does not exist and createTable is false`
  }
}

/**
 * Any other failure of DynamoDB or the network. `code` is the service's
 * exception name (`"ValidationException"`, `"ECONNREFUSED"`, ...) or one of
 * the store's own codes (`"UnknownOutcome"` when the store cannot establish
 * whether its write was applied; see docs/errors.md); `retryable` says
 * whether trying again later may help.
 *
 * @since 0.1.0
 * @category errors
 */
export class DynamoDBError extends Schema.TaggedError<DynamoDBError>("konserve-dynamodb/DynamoDBError")(
  "DynamoDBError",
  {
    operation: Schema.String,
    code: Schema.String,
    message: Schema.String,
    retryable: Schema.Boolean,
    cause: Schema.optional(Schema.Defect)
  }
) {}

/**
 * Every failure of the store.
 *
 * @since 0.1.0
 * @category errors
 */
export type KonserveError =
  | InvalidKey
  | SerializationError
  | DecodeError
  | ItemTooLarge
  | TransactionLimitExceeded
  | ConditionFailed
  | Throttled
  | StoreNotFound
  | DynamoDBError

/**
 * The schema of every failure of the store.
 *
 * @since 0.1.0
 * @category errors
 */
export const KonserveError: Schema.Union<
  [
    typeof InvalidKey,
    typeof SerializationError,
    typeof DecodeError,
    typeof ItemTooLarge,
    typeof TransactionLimitExceeded,
    typeof ConditionFailed,
    typeof Throttled,
    typeof StoreNotFound,
    typeof DynamoDBError
  ]
> = Schema.Union(
  InvalidKey,
  SerializationError,
  DecodeError,
  ItemTooLarge,
  TransactionLimitExceeded,
  ConditionFailed,
  Throttled,
  StoreNotFound,
  DynamoDBError
)

/**
 * Whether a value is one of the store's failures.
 *
 * @since 0.1.0
 * @category errors
 */
export const isKonserveError = (u: unknown): u is KonserveError =>
  KonserveError.members.some((error) => u instanceof error)

const describeKey = (key: unknown): string => {
  if (typeof key === "string") {
    return key.length > 64
      ? `key ${JSON.stringify(key.slice(0, 64))}… (${key.length} chars)`
      : `key ${JSON.stringify(key)}`
  }
  return `key of type ${key === null ? "null" : typeof key}`
}
