import neo4j from "neo4j-driver";
const d = neo4j.driver(process.env.NEO4J_URI, neo4j.auth.basic(process.env.NEO4J_USER || "neo4j", process.env.NEO4J_PASSWORD || "password"));
const s = d.session();
for (const q of process.argv.slice(2)) { try { const r = await s.run(q); console.log(JSON.stringify(r.records.map(x => x.toObject()))); } catch (e) { console.log("ERR", e.message.split("\n")[0]); } }
await s.close(); await d.close();
