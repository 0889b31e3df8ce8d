/**
 * The options both stores take as a `Schema`, and how options are checked
 * when a store is built: a bad option fails with a readable `DynamoDBError`
 * code "InvalidConfiguration" that says which field and why, before anything
 * is sent (DynamoDB's own options: `dynamodb/options.ts`).
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { DynamoDBError } from "../KonserveError.js"

/** @internal */
export const PositiveInt = Schema.Number.pipe(
  Schema.filter((n) => Number.isInteger(n) && n >= 1, { message: () => "a positive integer" })
)
/** @internal */
export const NonNegativeInt = Schema.Number.pipe(
  Schema.filter((n) => Number.isInteger(n) && n >= 0, { message: () => "an integer >= 0" })
)

/** The options both stores take. @internal */
export const StoreOptions = Schema.Struct({
  maxValueBytes: Schema.optional(PositiveInt),
  conflictRetries: Schema.optional(NonNegativeInt)
})

/** A configuration that cannot work. @internal */
export const invalidConfiguration = (message: string, operation: string): DynamoDBError =>
  new DynamoDBError({ operation, code: "InvalidConfiguration", message, retryable: false })

/**
 * Checks options against a schema: the options as given, or
 * `InvalidConfiguration` naming every field that is wrong.
 *
 * @internal
 */
export const check = <A, I>(
  schema: Schema.Schema<A, I>,
  options: unknown,
  operation: string
): Either.Either<A, DynamoDBError> =>
  Either.mapLeft(
    Schema.decodeUnknownEither(schema)(options, { errors: "all", onExcessProperty: "ignore" }),
    (error) => invalidConfiguration(`invalid options: ${ParseResult.TreeFormatter.formatErrorSync(error)}`, operation)
  )

/**
 * A duration that is not negative: `Duration.decodeUnknown` reads "-30
 * days", a negative number and NaN as zero, which for a grace period or a
 * cutoff means "everything". None for those, and for what is no duration.
 *
 * @internal
 */
export const nonNegativeDuration = (input: unknown): Option.Option<Duration.Duration> => {
  if (typeof input === "number" && (Number.isNaN(input) || input < 0)) return Option.none()
  if (typeof input === "bigint" && input < 0n) return Option.none()
  if (typeof input === "string" && /^\s*(-|nan\b)/i.test(input)) return Option.none()
  if (Array.isArray(input) && input.some((part) => typeof part !== "number" || Number.isNaN(part) || part < 0)) {
    return Option.none()
  }
  return Duration.decodeUnknown(input)
}
