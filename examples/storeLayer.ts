/**
 * The store the example runs on: a DynamoDBStore on a fresh table of an
 * embedded DynamoDB Local, started for the run and stopped after it.
 */
import { Layer } from "effect"
import { DynamoDBLocal } from "../src/testing.js"

export const storeLayer = DynamoDBLocal.storeLayer().pipe(Layer.provide(DynamoDBLocal.layer()))
