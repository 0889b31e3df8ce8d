/**
 * The options of a DynamoDB store as one `Schema` (the shared ones of
 * `internal/options.ts` and DynamoDB's own), and its credentials, checked
 * apart so that no secret can end up in a message.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type { DynamoDBError } from "../../KonserveError.js"
import { invalidConfiguration, PositiveInt, StoreOptions } from "../options.js"
import { invalidPrefix } from "./keyLayout.js"

const DurationInput = Schema.declare(
  (u: unknown): u is Duration.DurationInput => Option.isSome(Duration.decodeUnknown(u)),
  { identifier: "Duration", message: () => "a Duration (a number of milliseconds, or e.g. \"20 millis\")" }
)

const FinitePositiveDuration = DurationInput.pipe(
  Schema.filter((input) => {
    const duration = Duration.decode(input)
    return Duration.isFinite(duration) && Duration.toMillis(duration) > 0
  }, { message: () => "a finite, positive Duration" })
)

const TableName = Schema.String.pipe(
  Schema.filter((name) => /^[a-zA-Z0-9_.-]{3,255}$/.test(name), {
    message: () => "3 to 255 of a-z, A-Z, 0-9, '_', '-', '.'"
  })
)

const Prefix = Schema.String.pipe(
  Schema.filter((prefix) => {
    const reason = invalidPrefix(prefix)
    return reason === undefined ? true : `a prefix that ${reason}`
  })
)

const Endpoint = Schema.String.pipe(
  Schema.filter((url) => {
    try {
      const parsed = new URL(url)
      return parsed.protocol === "http:" || parsed.protocol === "https:"
    } catch {
      return false
    }
  }, { message: () => "not an http:// or https:// URL (e.g. http://localhost:8000)" })
)

/** The most `Scan` segments `keys` may read side by side. @internal */
export const MAX_SCAN_SEGMENTS = 64

/** The options of a DynamoDB store besides its credentials and its client. @internal */
export const DynamoDBOptions = Schema.Struct({
  ...StoreOptions.fields,
  table: TableName,
  prefix: Schema.optional(Prefix),
  region: Schema.optional(Schema.NonEmptyString),
  endpoint: Schema.optional(Endpoint),
  consistentRead: Schema.optional(Schema.Boolean),
  consumedCapacity: Schema.optional(Schema.Boolean),
  stream: Schema.optional(Schema.Boolean),
  createTable: Schema.optional(Schema.Union(
    Schema.Literal(false),
    Schema.Struct({ billingMode: Schema.Literal("PAY_PER_REQUEST") }),
    Schema.Struct({ billingMode: Schema.Literal("PROVISIONED"), readCapacity: PositiveInt, writeCapacity: PositiveInt })
  )),
  retry: Schema.optional(Schema.Struct({
    maxAttempts: Schema.optional(PositiveInt),
    baseDelay: Schema.optional(DurationInput)
  })),
  scanSegments: Schema.optional(Schema.Number.pipe(
    Schema.filter((n) => Number.isInteger(n) && n >= 1 && n <= MAX_SCAN_SEGMENTS, {
      message: () => `an integer from 1 to ${MAX_SCAN_SEGMENTS}`
    })
  )),
  timeouts: Schema.optional(Schema.Struct({
    connection: Schema.optional(FinitePositiveDuration),
    request: Schema.optional(FinitePositiveDuration)
  }))
})

/** Checks credentials without ever printing them. @internal */
export const checkCredentials = (credentials: unknown): Either.Either<void, DynamoDBError> => {
  if (credentials === undefined) return Either.void
  const ok = Predicate.isRecord(credentials) && typeof credentials.accessKeyId === "string" &&
    credentials.accessKeyId.length > 0 && Redacted.isRedacted(credentials.secretAccessKey) &&
    (credentials.sessionToken === undefined || Redacted.isRedacted(credentials.sessionToken))
  return ok
    ? Either.void
    : Either.left(
      invalidConfiguration(
        "credentials: need a non-empty accessKeyId, a Redacted secretAccessKey and, " +
          "if any, a Redacted sessionToken",
        "DynamoDBStore.make"
      )
    )
}
