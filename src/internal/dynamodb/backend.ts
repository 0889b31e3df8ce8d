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
import type { Backend } from "../backend.js"
import * as Version from "../version.js"
import { append } from "./append.js"
import type { Client } from "./client.js"
import type { Context } from "./context.js"
import type { Layout } from "./item.js"
import * as Listing from "./listing.js"
import * as Reads from "./reads.js"
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
    versions: Version.makeClock(),
    scanPlan: Listing.scanPlan(options.scanSegments)
  }
  return {
    readHead: (key) => Reads.readHead(ctx, key),
    readEntry: (key, now) => Reads.readEntry(ctx, key, now),
    readBinary: (key) => Reads.readBinary(ctx, key),
    readLog: (key) => Reads.readLog(ctx, key),
    readMany: (keys, now) => Reads.readMany(ctx, keys, now),
    scan: Listing.scan(ctx),
    put: (request) => Writes.put(ctx, request),
    putStream: (header, bytes) => Writes.putStream(ctx, header, bytes),
    remove: (key, now, condition) => Writes.remove(ctx, key, now, condition),
    putMany: (requests, atomic) => Transactions.putMany(ctx, requests, atomic),
    removeMany: (keys, atomic, now) => Transactions.removeMany(ctx, keys, atomic, now),
    append: (request) => append(ctx, request),
    transact: (keys, now) => Transact.transact(ctx, keys, now)
  }
}
