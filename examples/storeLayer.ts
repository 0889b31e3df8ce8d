/**
 * The store the example runs on: a DynamoDBStore on a fresh table of an
 * embedded DynamoDB Local, started for the run and stopped after it.
 */
import { Layer } from "effect"
import { DynamoDBLocal } from "../src/testing.js"

// The example's own run: no Node 20 support notice from the AWS SDK before its output (README, "Install").
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true"

export const storeLayer = DynamoDBLocal.storeLayer().pipe(Layer.provide(DynamoDBLocal.layer()))
