#!/usr/bin/env node
// GraphQL-over-HTTP conformance audit of a running gateway, using the
// `serverAudits` of the `graphql-http` package (pinned in package.json).
//
//   node tests/http/audit.mjs --url http://127.0.0.1:PORT/graphql [--allow-warn] [--timeout-ms N]
//
// One line per audit (status, id, name); for anything not ok, the reason and the
// response's status, content-type and body (truncated). Then the summary line
//   graphql-http audits: N ok, N warn, N error
// Failed MUST audits are `error`, failed SHOULD audits `warn`, failed MAY audits
// `notice` (informational only, counted on their own line, never fail the run).
//
// Exit codes: 0 all ok (warns allowed with --allow-warn), 1 any error or warn,
// 2 usage error.

import { serverAudits } from 'graphql-http';

const USAGE =
  'usage: node tests/http/audit.mjs --url http://127.0.0.1:PORT/graphql [--allow-warn] [--timeout-ms N]';
const BODY_LIMIT = 300;

function usage(message) {
  if (message) console.error(`audit.mjs: ${message}`);
  console.error(USAGE);
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { url: null, allowWarn: false, timeoutMs: 10_000 };
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let value;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    const takeValue = () => {
      if (value !== undefined) return value;
      if (i + 1 >= argv.length) usage(`${arg} needs a value`);
      return argv[++i];
    };
    switch (arg) {
      case '--url':
        opts.url = takeValue();
        break;
      case '--allow-warn':
        if (value !== undefined) usage('--allow-warn takes no value');
        opts.allowWarn = true;
        break;
      case '--timeout-ms': {
        const n = Number(takeValue());
        if (!Number.isInteger(n) || n <= 0) usage('--timeout-ms must be a positive integer');
        opts.timeoutMs = n;
        break;
      }
      case '-h':
      case '--help':
        console.log(USAGE);
        process.exit(0);
        break;
      default:
        usage(`unknown argument: ${argv[i]}`);
    }
  }
  if (!opts.url) usage('--url is required');
  let parsed;
  try {
    parsed = new URL(opts.url);
  } catch {
    usage(`not a valid URL: ${opts.url}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    usage(`URL must be http or https: ${opts.url}`);
  }
  return opts;
}

function oneLine(text) {
  const flat = text.replace(/\r?\n/g, '\\n');
  return flat.length > BODY_LIMIT ? `${flat.slice(0, BODY_LIMIT)}… (${flat.length} chars)` : flat;
}

async function describeResponse(res) {
  if (!res || typeof res.status !== 'number') return 'response: <none>';
  const contentType = res.headers?.get?.('content-type') ?? '<none>';
  let body;
  if (res.bodyUsed) {
    body = '<body already read by the audit>';
  } else {
    try {
      body = oneLine(await res.text());
    } catch (err) {
      body = `<unreadable body: ${err?.message ?? err}>`;
    }
  }
  return `response: ${res.status} content-type: ${contentType} body: ${body || '<empty>'}`;
}

function fatalReason(err) {
  const cause = err?.cause;
  const detail = cause ? ` (${cause.code ?? cause.name ?? ''}${cause.message ? `: ${cause.message}` : ''})` : '';
  return `fatal: ${err?.name ?? 'Error'}: ${err?.message ?? err}${detail}`;
}

async function main() {
  // A reader that goes away early (`| head`) ends the run quietly instead of with a stack trace.
  process.stdout.on('error', (err) => {
    if (err.code === 'EPIPE') process.exit(1);
    throw err;
  });
  const opts = parseArgs(process.argv.slice(2));

  // Every request gets a timeout, so a hanging server fails the audit instead of the run.
  const fetchFn = (input, init = {}) =>
    fetch(input, { ...init, signal: AbortSignal.timeout(opts.timeoutMs) });

  const audits = serverAudits({ url: opts.url, fetchFn });
  const counts = { ok: 0, notice: 0, warn: 0, error: 0 };

  console.log(`graphql-http server audits against ${opts.url} (${audits.length} audits)`);
  // Sequential on purpose: deterministic output and one request in flight at a time.
  for (const audit of audits) {
    let result;
    try {
      result = await audit.fn();
    } catch (err) {
      // The audit library rethrows anything that is not a failed assertion
      // (connection refused, timeout, ...): that is an error whatever the level.
      result = { id: audit.id, name: audit.name, status: 'error', reason: fatalReason(err) };
    }
    const status = result.status in counts ? result.status : 'error';
    counts[status]++;
    console.log(`${status.padEnd(6)} ${result.id.padEnd(4)} ${result.name}`);
    if (status !== 'ok') {
      console.log(`         reason: ${result.reason}`);
      if (result.response) console.log(`         ${await describeResponse(result.response)}`);
    }
  }

  if (counts.notice) {
    console.log(`graphql-http notices (failed MAY audits, informational): ${counts.notice}`);
  }
  console.log(`graphql-http audits: ${counts.ok} ok, ${counts.warn} warn, ${counts.error} error`);

  const failed = counts.error > 0 || (counts.warn > 0 && !opts.allowWarn);
  process.exit(failed ? 1 : 0);
}

main().catch((err) => {
  console.error(`audit.mjs: ${err?.stack ?? err}`);
  process.exit(1);
});
