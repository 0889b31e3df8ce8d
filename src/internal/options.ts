/**
 * The options both stores take as a `Schema`, and how options are checked
 * when a store is built: a bad option fails with a readable `DynamoDBError`
 * code "InvalidConfiguration" that says which field and why, before anything
 * is sent (DynamoDB's own options: `dynamodb/options.ts`).
 *
 * @internal
 */
import * as Either from "effect/Either"
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
