/**
 * The input and output types of AWS SDK v3 command classes, read off the
 * classes themselves: a table of constructors (`{ GetItem: GetItemCommand }`)
 * gives `{ GetItem: [GetItemCommandInput, GetItemCommandOutput] }`, so that
 * the store's SDK boundaries (`client.ts`, `feed/streamsClient.ts`) list each
 * command once.
 *
 * @internal
 */

/** What every SDK command instance has: its input, and the handler its middleware resolves to. */
interface SdkCommand {
  readonly input: object
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly resolveMiddleware: (...args: Array<any>) => (...args: Array<any>) => Promise<{ readonly output: unknown }>
}

/** @internal */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type CommandClass = new(input: any) => SdkCommand

/** Each command's `[input, output]`. @internal */
export type CommandTable<T extends Record<string, CommandClass>> = {
  readonly [K in keyof T]: readonly [
    InstanceType<T[K]>["input"],
    Awaited<ReturnType<ReturnType<InstanceType<T[K]>["resolveMiddleware"]>>>["output"]
  ]
}
