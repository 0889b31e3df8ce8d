/**
 * The readiness probe of a DynamoDB Local engine: one raw `ListTables`.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import { Buffer } from "node:buffer"
import * as Http from "node:http"

/**
 * One `ListTables` over raw HTTP (DynamoDB Local checks that a SigV4 header is
 * present, not the signature). Succeeds on 200.
 *
 * @internal
 */
export const listTablesOnce = (port: number): Effect.Effect<void, Error> =>
  Effect.async<void, Error>((resume, signal) => {
    const body = "{}"
    const request = Http.request({
      host: "127.0.0.1",
      port,
      method: "POST",
      path: "/",
      agent: false,
      signal,
      headers: {
        "content-type": "application/x-amz-json-1.0",
        "content-length": Buffer.byteLength(body),
        "x-amz-target": "DynamoDB_20120810.ListTables",
        "authorization":
          "AWS4-HMAC-SHA256 Credential=local/20200101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0",
        "connection": "close"
      }
    }, (response) => {
      response.resume()
      response.once("end", () =>
        resume(
          response.statusCode === 200
            ? Effect.void
            : Effect.fail(new Error(`ListTables answered HTTP ${response.statusCode}`))
        ))
      response.once("error", (cause) => resume(Effect.fail(cause)))
    })
    request.once("error", (cause) => resume(Effect.fail(cause)))
    request.end(body)
  })
