/**
 * Every request the store sends, built without I/O by pure functions: the
 * modules that do I/O only send what these build (`client.ts`'s `send` /
 * `call`). One file per family of requests.
 *
 * @internal
 */
export * from "./checkpoint.js"
export * from "./heads.js"
export * from "./listing.js"
export * from "./names.js"
export * from "./reads.js"
export * from "./sweep.js"
export * from "./table.js"
