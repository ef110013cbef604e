'use strict';
// Reads folder paths from stdin, one per line, and for each prints one JSON line with what
// Next.js's own loader (@next/env, as `next build` / `next start` use it) reads from the
// .env files there. Start it with NODE_ENV=production. Values only ever travel through the
// files and this process's stdout, never argv.
const readline = require('readline');
const { loadEnvConfig } = require('@next/env');

function load(dir) {
  const errors = [];
  const log = {
    info() {},
    warn() {},
    // Only the error's kind: messages could quote a value.
    error(message, err) {
      errors.push(`${String(message).split(' from ')[0]}: ${err && err.name}`);
    },
  };
  // forceReload: every folder is loaded afresh from the initial process.env.
  const result = loadEnvConfig(dir, false, log, true);
  return {
    files: result.loadedEnvFiles.map((f) => ({ path: f.path, env: Object.entries(f.env) })),
    parsedEnv: Object.entries(result.parsedEnv),
    errors,
  };
}

const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
lines.on('line', (dir) => {
  if (dir) process.stdout.write(JSON.stringify(load(dir)) + '\n');
});
