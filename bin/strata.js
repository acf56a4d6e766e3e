#!/usr/bin/env node
// Entry point for the `strata` command; the CLI lives in dist/src/cli (compiled TypeScript).
// fsync-heavy file I/O runs on libuv's thread pool: give it room before anything uses it.
process.env.UV_THREADPOOL_SIZE ??= '32';

const { main } = await import('../dist/src/cli/main.js');
main(process.argv.slice(2)).catch((error) => {
  console.error(`strata: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
