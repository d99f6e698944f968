#!/usr/bin/env node
// Print the GraphQL SDL that @neo4j/graphql v7 generates for an ontology file.
// Usage: node print-schema.mjs [--typedefs FILE]   (default: <repo>/schema/ontology.graphql)
// No Neo4j connection is needed.
import path from "node:path";
import { printSchema, lexicographicSortSchema } from "graphql";
import { Neo4jGraphQL } from "@neo4j/graphql";
import { DEFAULT_TYPEDEFS, loadTypeDefs, parseArgs } from "./lib/typedefs.mjs";

process.stdout.on("error", (err) => {
  if (err.code === "EPIPE") process.exit(0); // e.g. piped into `head`
  throw err;
});

const args = parseArgs(process.argv.slice(2), {
  flags: ["sorted"],
  options: { typedefs: DEFAULT_TYPEDEFS },
});
const typeDefs = loadTypeDefs(path.resolve(args.typedefs));
const schema = await new Neo4jGraphQL({ typeDefs }).getSchema();
process.stdout.write(printSchema(args.sorted ? lexicographicSortSchema(schema) : schema) + "\n");
