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
import type { DynamoDBError } from "../KonserveError.js"
import * as FailureCodes from "./failureCodes.js"

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
  FailureCodes.invalidConfiguration(operation, message)

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
    (error) => invalidConfiguration(describeIssues(options, error), operation)
  )

const at = (input: unknown, path: ReadonlyArray<PropertyKey>): unknown =>
  path.reduce<unknown>(
    (value, key) =>
      typeof value === "object" && value !== null ? (value as Record<PropertyKey, unknown>)[key] : undefined,
    input
  )

const shown = (value: unknown): string => {
  if (Duration.isDuration(value)) return Duration.format(value)
  if (typeof value === "bigint") return `${value}n`
  if (typeof value === "function") return "a function"
  try {
    const text = JSON.stringify(value)
    if (text === undefined) return String(value)
    return text.length > 60 ? `${text.slice(0, 57)}...` : text
  } catch {
    return String(value)
  }
}

/** Why an issue failed, without the schema's type: undefined for a union's `undefined` alternative. */
const reasonOf = (issue: ParseResult.ArrayFormatterIssue): string | undefined => {
  if (issue._tag === "Missing") return "is required"
  const message = issue.message.replace(/\s*\n\s*/g, " ")
  const expected = /^Expected (.*), actual /.exec(message)
  if (expected === null) return message
  const type = expected[1]!
  if (type === "undefined") return undefined
  return /[{|<(]/.test(type) ? undefined : `not a ${type}`
}

/**
 * One line per bad field, each leading with the field, its value and why
 * (`table "my table": 3 to 255 of a-z, ...`), never the schema's type: a
 * union's alternatives are said once, with " or ".
 *
 * @internal
 */
export const describeIssues = (input: unknown, error: ParseResult.ParseError): string => {
  const byPath = new Map<string, { readonly path: ReadonlyArray<PropertyKey>; readonly reasons: Array<string> }>()
  for (const issue of ParseResult.ArrayFormatter.formatErrorSync(error)) {
    const name = issue.path.map(String).join(".")
    const entry = byPath.get(name) ?? { path: issue.path, reasons: [] }
    const reason = reasonOf(issue)
    if (reason !== undefined && !entry.reasons.includes(reason)) entry.reasons.push(reason)
    byPath.set(name, entry)
  }
  const names = Array.from(byPath.keys())
  // a field whose own fields are named below it is said through them (a union's other shapes left out)
  const leaves = Array.from(byPath).filter(([name]) =>
    !names.some((other) => other !== name && (name === "" || other.startsWith(`${name}.`)))
  )
  return leaves.map(([name, { path, reasons }]) => {
    if (reasons.length === 0) reasons.push("not of the expected shape (docs/configuration.md)")
    const value = at(input, path)
    const field = name === "" ? "options" : name
    return reasons[0] === "is required"
      ? `${field}: is required`
      : `${field} ${shown(value)}: ${reasons.join(" or ")}`
  }).join("\n")
}

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
