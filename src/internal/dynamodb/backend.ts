/**
 * The DynamoDB backend: every `Backend` primitive as a small, counted number
 * of DynamoDB requests — reads in `reads.ts`, writes in `writes.ts`,
 * `transactions.ts`, `transact.ts` and `append.ts` (plan → write chunks → send → resolve →
 * drop old content). See
 * `docs/data-model.md` for the items and `docs/consistency.md` for the
 * protocol that applies each write at most once.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type { DynamoDBError } from "../../KonserveError.js"
import type { Backend } from "../backend.js"
import * as Version from "../version.js"
import { append } from "./append.js"
import type { Client } from "./client.js"
import type { Context } from "./context.js"
import * as Failure from "./failure.js"
import type { Layout } from "./keyLayout.js"
import * as Listing from "./listing.js"
import * as Reads from "./reads.js"
import * as ScanPlan from "./scanPlan.js"
import * as Transact from "./transact.js"
import * as Transactions from "./transactions.js"
import * as Writes from "./writes.js"

/** @internal */
export interface BackendOptions {
  readonly consistentRead: boolean
  /** How many times a write runs again after a concurrent change before `ConditionFailed`. */
  readonly conflictRetries: number
  readonly maxValueBytes: number
  /** `keys`' `Scan` segments; undefined: learned from the table (`listing.ts`). */
  readonly scanSegments: number | undefined
  /** DynamoDB's clock as the store's answers tell it: versions are minted from it (undefined: the machine's). */
  readonly anchor?: Version.Anchor | undefined
}

/**
 * Builds the backend on a table.
 *
 * @internal
 */
export const make = (client: Client, layout: Layout, options: BackendOptions): Backend => {
  const ctx: Context = {
    client,
    layout,
    consistent: options.consistentRead,
    conflictRetries: options.conflictRetries,
    maxValueBytes: options.maxValueBytes,
    versions: Version.makeClock(options.anchor),
    scanPlan: ScanPlan.scanPlan(options.scanSegments)
  }
  // A write whose versions cannot be anchored to DynamoDB's clock fails before it sends anything.
  const anchored = <A, E, R>(operation: string, key: string, write: Effect.Effect<A, E, R>) =>
    Effect.suspend((): Effect.Effect<A, E | DynamoDBError, R> => {
      const problem = options.anchor?.problem()
      return problem === undefined ? write : Effect.fail(Failure.clockSkew(operation, key, problem))
    })
  return {
    readHead: (key) => Reads.readHead(ctx, key),
    readEntry: (key, now) => Reads.readEntry(ctx, key, now),
    readBinary: (key) => Reads.readBinary(ctx, key),
    readLog: (key) => Reads.readLog(ctx, key),
    readMany: (keys, now) => Reads.readMany(ctx, keys, now),
    scan: Listing.scan(ctx),
    put: (request) => anchored(request.operation, request.key, Writes.put(ctx, request)),
    putStream: (header, bytes) => anchored(header.operation, header.key, Writes.putStream(ctx, header, bytes)),
    remove: (key, now, condition) => anchored("dissoc", key, Writes.remove(ctx, key, now, condition)),
    putMany: (requests, options) =>
      anchored(
        requests[0]?.operation ?? "multiAssoc",
        requests[0]?.key ?? "",
        Transactions.putMany(ctx, requests, options)
      ),
    removeMany: (keys, options) => anchored("multiDissoc", keys[0] ?? "", Transactions.removeMany(ctx, keys, options)),
    append: (request) => anchored("append", request.key, append(ctx, request)),
    transact: (keys, now) =>
      Effect.map(Transact.transact(ctx, keys, now), (snapshot) => ({
        found: snapshot.found,
        commit: (puts, removes) =>
          anchored("transact", puts[0]?.key ?? removes[0] ?? keys[0] ?? "", snapshot.commit(puts, removes))
      }))
  }
}
