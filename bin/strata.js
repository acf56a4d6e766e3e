#!/usr/bin/env node
// Entry point for the `strata` command; the CLI lives in dist/src/cli (compiled TypeScript).
import { main } from '../dist/src/cli/main.js';

main(process.argv.slice(2)).catch((error) => {
  console.error(`strata: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
