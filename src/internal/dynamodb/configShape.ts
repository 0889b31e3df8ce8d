/**
 * The one definition of a DynamoDB store's configuration fields, over how a
 * secret and a duration are written: `DynamoDBStore.DynamoDBStoreConfig`
 * takes `Redacted` secrets and Effect durations, `promise.DynamoDBConfig`
 * plain strings and milliseconds. No Effect type appears here.
 *
 * @internal
 */

/** Where the store's own client connects and as whom. @internal */
export interface ConnectionShape<Secret> {
  /** Else the AWS SDK's own resolution (`AWS_REGION`, the profile). */
  readonly region?: string | undefined
  /** Else `AWS_ENDPOINT_URL_DYNAMODB` or the AWS default. */
  readonly endpoint?: string | undefined
  /** Else the AWS SDK's default provider chain. The secret is unwrapped only to sign requests. */
  readonly credentials?: {
    readonly accessKeyId: string
    readonly secretAccessKey: Secret
    readonly sessionToken?: Secret | undefined
  } | undefined
}

/** @internal */
export interface ConfigShape<Secret, Duration> extends ConnectionShape<Secret> {
  /** The table: one table holds any number of stores, told apart by `prefix`. */
  readonly table: string
  /** Strongly consistent reads (read-your-writes across processes); default true. */
  readonly consistentRead?: boolean | undefined
  /**
   * What to do when the table is missing: create it (default: on-demand
   * `PAY_PER_REQUEST`), wait until it is ACTIVE and register its TTL
   * attribute; `false`: fail with `StoreNotFound`.
   */
  readonly createTable?:
    | false
    | { readonly billingMode: "PAY_PER_REQUEST" }
    | { readonly billingMode: "PROVISIONED"; readonly readCapacity: number; readonly writeCapacity: number }
    | undefined
  /**
   * Several logical stores in one table. Prefixes isolate completely, also
   * when one extends another ("p" and "p2"); at most 512 UTF-8 bytes.
   */
  readonly prefix?: string | undefined
  /** The largest value or binary, in bytes; default 64 MiB. */
  readonly maxValueBytes?: number | undefined
  /**
   * The store's retries of throttling, 5xx, network failures and transaction
   * conflicts: `maxAttempts` in all (default 10), exponential from
   * `baseDelay` (default 20 ms), jittered, each pause capped at 2 s. The
   * store's own clients have the SDK's retries off.
   */
  readonly retry?: {
    readonly maxAttempts?: number | undefined
    readonly baseDelay?: Duration | undefined
  } | undefined
  /** How many times `update`/`append` re-run on a concurrent change before `ConditionFailed`; default 10. */
  readonly conflictRetries?: number | undefined
  /**
   * Ask DynamoDB for the capacity units every request consumed
   * (`ReturnConsumedCapacity: "TOTAL"`) and add them to the
   * `konserve_dynamodb_capacity_units_total` metric (docs/observability.md).
   * Default false: the answers are a few bytes longer.
   */
  readonly consumedCapacity?: boolean | undefined
  /**
   * How many `Scan` segments `keys` reads side by side (1 to 64). Default:
   * learned from the store's last complete listing, one segment per page
   * of 1 MB it read (at most 8); the first listing reads one segment.
   */
  readonly scanSegments?: number | undefined
  /**
   * Timeouts of the store's own client (not of a `layerWithClient` client):
   * `connection`, to open a connection (default 3 seconds), and `request`,
   * for one request from sending it to its whole answer (default 10
   * seconds). A request that times out is retried on the `retry` schedule,
   * which so bounds how long one operation can take.
   */
  readonly timeouts?: {
    readonly connection?: Duration | undefined
    readonly request?: Duration | undefined
  } | undefined
}
