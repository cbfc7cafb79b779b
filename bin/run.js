#!/usr/bin/env node
import { flush, run } from '@oclif/core';

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
