#!/usr/bin/env -S node --import tsx
// Runs the CLI from the TypeScript sources (no build step); oclif maps dist/ to src/ in development mode.
import { flush, run } from '@oclif/core';

await run(process.argv.slice(2), { development: true, root: new URL('..', import.meta.url).pathname });
await flush();
