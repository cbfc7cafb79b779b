#!/usr/bin/env node
import { flush, run, settings } from '@oclif/core';

// dist/ is what runs (bin/dev.js runs the sources): under NODE_ENV=development or test oclif would
// otherwise look for the TypeScript sources and fail to load the help class, so --help printed nothing.
settings.enableAutoTranspile = false;

// Commands print their own errors; this catches what oclif raises before a command runs
// (an unknown command) and keeps it to one line.
try {
  await run(process.argv.slice(2), import.meta.url);
  await flush();
} catch (error) {
  if (error?.oclif?.exit === 0) process.exit(0);
  const message = String(error?.message ?? error).split('\n')[0];
  process.stderr.write(`dslab: ${message}\n`);
  process.exitCode = 1;
}
