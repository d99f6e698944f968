// Fallback for a Neo4j without APOC (e.g. a bare embedded instance).
//
// @neo4j/graphql v7 formats every DateTime it returns with
//   apoc.date.convertFormat(toString(X), 'iso_zoned_date_time', 'iso_offset_date_time')
// and then its DateTime scalar serializes the result with `new Date(s).toISOString()`
// (UTC, exactly 3 fractional digits, sub-millisecond digits dropped). Rewriting that call to
//   CASE WHEN X IS NULL THEN null ELSE toString(datetime.fromepochmillis((X).epochMillis)) END
// yields the same instant truncated to the millisecond, so the final GraphQL value is
// identical, and null stays null. Only values stored as Neo4j DateTime are supported (a
// DateTime property stored as a plain string would differ), and nothing else from APOC is
// emulated: apoc.util.validate / validatePredicate (authorization, some mutations) still
// need the real APOC.

const CALL = "apoc.date.convertFormat(";
const TAIL = /^\s*,\s*'iso_zoned_date_time'\s*,\s*'iso_offset_date_time'\s*$/;

/** Index of the parenthesis closing the one opened just before `start`. */
function matchParen(s, start) {
  let depth = 1;
  let quote = null;
  for (let i = start; i < s.length; i++) {
    const c = s[i];
    if (quote) {
      if (c === "\\") i++;
      else if (c === quote) quote = null;
    } else if (c === "'" || c === '"' || c === "`") quote = c;
    else if (c === "(") depth++;
    else if (c === ")" && --depth === 0) return i;
  }
  return -1;
}

export function rewriteCypher(cypher) {
  let out = "";
  let pos = 0;
  for (;;) {
    const at = cypher.indexOf(CALL, pos);
    if (at < 0) return out + cypher.slice(pos);
    const argsStart = at + CALL.length;
    const end = matchParen(cypher, argsStart);
    const args = end < 0 ? "" : cypher.slice(argsStart, end);
    const m = /^\s*toString\(/.exec(args);
    const innerEnd = m ? matchParen(args, m[0].length) : -1;
    if (!m || innerEnd < 0 || !TAIL.test(args.slice(innerEnd + 1))) {
      throw new Error(`apoc shim: unexpected apoc.date.convertFormat call: ${cypher.slice(at, end + 1)}`);
    }
    const inner = rewriteCypher(args.slice(m[0].length, innerEnd));
    out += cypher.slice(pos, at) + `CASE WHEN (${inner}) IS NULL THEN null ELSE toString(datetime.fromepochmillis((${inner}).epochMillis)) END`;
    pos = end + 1;
  }
}

function wrapRunner(runner) {
  return new Proxy(runner, {
    get(target, prop) {
      const v = Reflect.get(target, prop, target);
      if (prop === "run") {
        return (query, ...rest) => target.run(typeof query === "string" ? rewriteCypher(query) : query, ...rest);
      }
      if (prop === "executeRead" || prop === "executeWrite") {
        return (work, ...rest) => target[prop]((tx) => work(wrapRunner(tx)), ...rest);
      }
      if (prop === "beginTransaction") {
        return (...a) => wrapRunner(target.beginTransaction(...a));
      }
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

/** A driver whose sessions and transactions rewrite the APOC DateTime formatting call. */
export function wrapDriver(driver) {
  return new Proxy(driver, {
    get(target, prop) {
      const v = Reflect.get(target, prop, target);
      if (prop === "session") return (...a) => wrapRunner(target.session(...a));
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

/** Whether the database has the APOC function the library needs for DateTime values. */
export async function hasApocConvertFormat(driver, database) {
  const session = driver.session({ database: database ?? "neo4j", defaultAccessMode: "READ" });
  try {
    const res = await session.run("SHOW FUNCTIONS YIELD name WHERE name = 'apoc.date.convertFormat' RETURN count(*) AS n");
    return res.records[0].get("n").toNumber() > 0;
  } finally {
    await session.close();
  }
}
