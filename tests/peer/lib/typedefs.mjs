// Shared helpers: locating the repo and turning an Ontograph ontology into type
// definitions that @neo4j/graphql v7 accepts.
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse, print, visit, Kind } from "graphql";

export const PEER_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const REPO_ROOT = path.resolve(PEER_DIR, "..", "..");
export const DEFAULT_TYPEDEFS = path.join(REPO_ROOT, "schema", "ontology.graphql");

/** Directives that only Ontograph understands; the library would reject them. */
export const ONTOGRAPH_ONLY_DIRECTIVES = new Set(["unique", "index"]);

/**
 * Parse the SDL, drop every use (and any definition) of the Ontograph-only directives,
 * and print it back. Descriptions and everything else are kept as they are.
 */
export function stripOntographDirectives(sdl) {
  const doc = parse(sdl, { noLocation: true });
  const stripped = visit(doc, {
    [Kind.DIRECTIVE](node) {
      return ONTOGRAPH_ONLY_DIRECTIVES.has(node.name.value) ? null : undefined;
    },
    [Kind.DIRECTIVE_DEFINITION](node) {
      return ONTOGRAPH_ONLY_DIRECTIVES.has(node.name.value) ? null : undefined;
    },
  });
  return print(stripped);
}

export function loadTypeDefs(file = DEFAULT_TYPEDEFS) {
  return stripOntographDirectives(readFileSync(file, "utf8"));
}

/** Tiny `--name value` / `--name=value` / `--flag` argument parser. */
export function parseArgs(argv, { flags = [], options = {} } = {}) {
  const out = { ...options, _: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith("--")) {
      out._.push(a);
      continue;
    }
    let name = a.slice(2);
    let value;
    const eq = name.indexOf("=");
    if (eq >= 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    const key = name.replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if (flags.includes(name)) {
      out[key] = value === undefined ? true : value !== "false";
    } else if (name in options || Object.keys(options).map((k) => k.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase())).includes(name)) {
      if (value === undefined) {
        value = argv[++i];
        if (value === undefined) throw new Error(`missing value for --${name}`);
      }
      out[key] = value;
    } else {
      throw new Error(`unknown argument --${name}`);
    }
  }
  return out;
}
