/**
 * The store's own `DynamoDBError` codes: one literal union, and one
 * constructor per code, used wherever the store makes one. Each code's
 * `retryable` is fixed here. `DynamoDBError.code` stays a `string`: the
 * service's exception names and Node.js network codes come through it too.
 * docs/errors.md lists every code of this union (test/errors.test.ts checks
 * it). `WriteTooSlow`, and `TimeoutError` and `InvalidConfiguration` when
 * an attempt's, are made as a request attempt's code (dynamodb/failure.ts)
 * and become a `DynamoDBError` with the request's failure.
 *
 * @internal
 */
import * as Predicate from "effect/Predicate"
import { DynamoDBError } from "../KonserveError.js"

/** Each code, with whether trying again later may help. */
const RETRYABLE = {
  UnknownOutcome: false,
  ConcurrentModification: true,
  InvalidConfiguration: false,
  InvalidTableSchema: false,
  TimeoutError: true,
  InvalidArgument: false,
  WriteTooSlow: false,
  StreamNotEnabled: false,
  CheckpointConflict: false,
  ClockSkew: false,
  InputStreamError: false,
  ChangesOverflow: true
} as const satisfies Record<string, boolean>

/** A code the store itself gives a `DynamoDBError`. @internal */
export type StoreCode = keyof typeof RETRYABLE

/** Every `StoreCode`. @internal */
export const storeCodes: ReadonlyArray<StoreCode> = Object.keys(RETRYABLE) as Array<StoreCode>

/** Whether a `DynamoDBError.code` is one of the store's own. @internal */
export const isStoreCode = (code: string): code is StoreCode => Object.hasOwn(RETRYABLE, code)

/** Whether a failure is a `DynamoDBError` of code "UnknownOutcome" (whether its write was applied is unknown). @internal */
export const isUnknownOutcome = (error: unknown): boolean =>
  Predicate.isTagged(error, "DynamoDBError") && Predicate.hasProperty(error, "code") &&
  error.code === ("UnknownOutcome" satisfies StoreCode)

/** Whether a failure with this code may succeed when tried again later. @internal */
export const isRetryableCode = (code: StoreCode): boolean => RETRYABLE[code]

/** A constructor of one code's `DynamoDBError`. @internal */
export type Constructor = (operation: string, message: string, cause?: unknown) => DynamoDBError

const constructor = (code: StoreCode): Constructor => (operation, message, cause) =>
  new DynamoDBError({
    operation,
    code,
    message,
    retryable: RETRYABLE[code],
    ...(cause === undefined ? {} : { cause })
  })

/** A write that may have been applied, whose outcome could not be established. @internal */
export const unknownOutcome: Constructor = constructor("UnknownOutcome")

/** A read that kept meeting concurrent rewrites of its key. @internal */
export const concurrentModification: Constructor = constructor("ConcurrentModification")

/** A configuration that cannot work. @internal */
export const invalidConfiguration: Constructor = constructor("InvalidConfiguration")

/** A table whose primary key is not the store's. @internal */
export const invalidTableSchema: Constructor = constructor("InvalidTableSchema")

/** A table (or its stream) that did not reach the state waited for in time. @internal */
export const timeoutError: Constructor = constructor("TimeoutError")

/** An argument of an operation that cannot work (`gc`'s options, `transact`'s `retries`). @internal */
export const invalidArgument: Constructor = constructor("InvalidArgument")

/** `changes` on a table without a DynamoDB stream. @internal */
export const streamNotEnabled: Constructor = constructor("StreamNotEnabled")

/** A checkpoint saved by another reader of the same name. @internal */
export const checkpointConflict: Constructor = constructor("CheckpointConflict")

/** A write whose versions cannot be anchored to DynamoDB's clock. @internal */
export const clockSkew: Constructor = constructor("ClockSkew")

/** A `bassoc` input stream that failed. @internal */
export const inputStreamError: Constructor = constructor("InputStreamError")

/** A `changes` subscriber too far behind. @internal */
export const changesOverflow: Constructor = constructor("ChangesOverflow")
