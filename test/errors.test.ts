import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Fs from "node:fs"
import * as FailureCodes from "../src/internal/failureCodes.js"
import * as KonserveError from "../src/KonserveError.js"

describe("KonserveError", () => {
  const samples: ReadonlyArray<KonserveError.KonserveError> = [
    new KonserveError.InvalidKey({ key: "", reason: "must not be empty" }),
    new KonserveError.SerializationError({ key: "k", message: "key \"k\": a function at $" }),
    new KonserveError.DecodeError({ key: "k", message: "key \"k\": bad header" }),
    new KonserveError.ItemTooLarge({ key: "banana", size: 10485760, limit: 1048576 }),
    new KonserveError.TransactionLimitExceeded({ operation: "multiAssoc", items: 101, limit: 100 }),
    new KonserveError.ConditionFailed({ key: "k", operation: "assoc" }),
    new KonserveError.Throttled({ operation: "GetItem", attempts: 10 }),
    new KonserveError.StoreNotFound({ table: "konserve" }),
    new KonserveError.DynamoDBError({
      operation: "GetItem",
      code: "ValidationException",
      message: "bad",
      retryable: false
    })
  ]

  it("isKonserveError recognises every failure and nothing else", () => {
    for (const error of samples) expect(KonserveError.isKonserveError(error)).toBe(true)
    expect(KonserveError.isKonserveError(new Error("x"))).toBe(false)
    expect(KonserveError.isKonserveError({ _tag: "InvalidKey", key: "", reason: "r" })).toBe(false)
    expect(KonserveError.isKonserveError(null)).toBe(false)
  })

  it("messages name the key or operation and the figures", () => {
    expect(samples[0].message).toContain("must not be empty")
    expect(samples[3].message).toBe("key \"banana\" is 10485760 bytes, limit 1048576")
    expect(samples[4].message).toContain("101")
    expect(samples[4].message).toContain("100")
    expect(samples[5].message).toContain("assoc")
    expect(samples[6].message).toContain("10 attempts")
    expect(samples[7].message).toContain("konserve")
  })

  it("name is the class, and String(error) shows the tag once, then the message", () => {
    for (const error of samples) {
      expect(error.name).toBe(error._tag)
      expect(String(error)).toBe(`${error._tag}: ${error.message}`)
      expect(error.message.startsWith(`${error._tag}:`)).toBe(false)
    }
    expect(String(samples[0])).toBe("InvalidKey: key \"\" must not be empty")
    const dynamo = samples[samples.length - 1]
    expect(Cause.pretty(Cause.fail(dynamo)).split("\n")[0]).toBe(`DynamoDBError: ${dynamo.message}`)
  })

  it.effect("every failure is yieldable, catchable by tag and encodable with the union schema", () =>
    Effect.gen(function*() {
      for (const error of samples) {
        const caught = yield* Effect.flip(Effect.gen(function*() {
          return yield* error
        }))
        expect(caught._tag).toBe(error._tag)
        const encoded = yield* Schema.encode(KonserveError.KonserveError)(error)
        expect(encoded._tag).toBe(error._tag)
        const decoded = yield* Schema.decodeUnknown(KonserveError.KonserveError)(encoded)
        expect(KonserveError.isKonserveError(decoded)).toBe(true)
      }
      const handled = yield* new KonserveError.ConditionFailed({ key: "k", operation: "update" }).pipe(
        Effect.catchTag("ConditionFailed", (e) => Effect.succeed(e.key))
      )
      expect(handled).toBe("k")
    }))
})

describe("the store's own DynamoDBError codes", () => {
  const constructors: Record<FailureCodes.StoreCode, FailureCodes.Constructor | undefined> = {
    UnknownOutcome: FailureCodes.unknownOutcome,
    ConcurrentModification: FailureCodes.concurrentModification,
    InvalidConfiguration: FailureCodes.invalidConfiguration,
    InvalidTableSchema: FailureCodes.invalidTableSchema,
    TimeoutError: FailureCodes.timeoutError,
    InvalidArgument: FailureCodes.invalidArgument,
    // made as a request attempt's code (dynamodb/failure.ts writeTooSlow), not by a constructor
    WriteTooSlow: undefined,
    StreamNotEnabled: FailureCodes.streamNotEnabled,
    CheckpointConflict: FailureCodes.checkpointConflict,
    ClockSkew: FailureCodes.clockSkew,
    InputStreamError: FailureCodes.inputStreamError,
    ChangesOverflow: FailureCodes.changesOverflow
  }

  it("each constructor makes a DynamoDBError of its code, its retryable, and the cause only when given", () => {
    for (const [code, make] of Object.entries(constructors)) {
      if (make === undefined) continue
      const error = make("op", "what happened")
      expect(error).toBeInstanceOf(KonserveError.DynamoDBError)
      expect({ code: error.code, operation: error.operation, message: error.message, retryable: error.retryable })
        .toEqual({
          code,
          operation: "op",
          message: "what happened",
          retryable: FailureCodes.isRetryableCode(code as FailureCodes.StoreCode)
        })
      expect("cause" in error && error.cause !== undefined).toBe(false)
      expect(make("op", "m", "the cause").cause).toBe("the cause")
    }
    expect(FailureCodes.concurrentModification("op", "m").retryable).toBe(true)
    expect(FailureCodes.invalidArgument("op", "m").retryable).toBe(false)
  })

  it("isUnknownOutcome: only a DynamoDBError of that code", () => {
    expect(FailureCodes.isUnknownOutcome(FailureCodes.unknownOutcome("assoc", "m"))).toBe(true)
    expect(FailureCodes.isUnknownOutcome(FailureCodes.clockSkew("assoc", "m"))).toBe(false)
    expect(FailureCodes.isUnknownOutcome({ _tag: "ConditionFailed", code: "UnknownOutcome" })).toBe(false)
    expect(FailureCodes.isUnknownOutcome(undefined)).toBe(false)
  })

  it("docs/errors.md lists every store code, and no other, in its table of the store's own codes", () => {
    const page = Fs.readFileSync(new URL("../docs/errors.md", import.meta.url), "utf8")
    const table = page.split("The store's own `DynamoDBError` codes:")[1].split("\n\n")[1]
    const listed = [...table.matchAll(/^\| `([A-Za-z]+)` \|/gm)].map((match) => match[1]).filter((c) => c !== "code")
    expect([...listed].sort()).toEqual([...FailureCodes.storeCodes].sort())
    for (const code of listed) expect(FailureCodes.isStoreCode(code)).toBe(true)
    expect(FailureCodes.isStoreCode("ValidationException")).toBe(false)
  })
})
