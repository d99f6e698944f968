import { Neo4jGraphQL } from "@neo4j/graphql";
import { printSchema } from "graphql";
import fs from "fs";
const typeDefs = fs.readFileSync(process.argv[2], "utf8");
const lib = new Neo4jGraphQL({ typeDefs });
const schema = await lib.getSchema();
const want = process.argv.slice(3);
const out = printSchema(schema).split("\n\n").filter(b => want.length === 0 || want.some(w => new RegExp(`^(input|type|enum|union|interface) ${w}\\b`).test(b.replace(/^"""[\s\S]*?"""\n/, ""))));
console.log(out.join("\n\n"));
