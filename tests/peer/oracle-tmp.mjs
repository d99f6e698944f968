// usage: node oracle-tmp.mjs typedefs.graphql fixture.cypher 'query'
import { readFileSync } from "node:fs";
import { graphql } from "graphql";
import neo4j from "neo4j-driver";
import { Neo4jGraphQL } from "@neo4j/graphql";
import { hasApocConvertFormat, wrapDriver } from "./lib/apoc-shim.mjs";
const [tdf, fx, ...queries] = process.argv.slice(2);
const driver0 = neo4j.driver(process.env.NEO4J_URI, neo4j.auth.basic(process.env.NEO4J_USER || "neo4j", process.env.NEO4J_PASSWORD || "password"));
const shim = !(await hasApocConvertFormat(driver0, undefined));
const driver = shim ? wrapDriver(driver0) : driver0;
const s = driver0.session();
await s.run("MATCH (n) DETACH DELETE n");
for (const stmt of readFileSync(fx, "utf8").split(/;\s*\n/).filter(x => x.trim())) await s.run(stmt);
await s.close();
const lib = new Neo4jGraphQL({ typeDefs: readFileSync(tdf, "utf8"), driver, debug: false });
const schema = await lib.getSchema();
for (const q of queries) {
  const r = await graphql({ schema, source: q, contextValue: {} });
  console.log(JSON.stringify(r));
}
await driver0.close();
