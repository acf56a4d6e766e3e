// Builds a directory tree of random files for client sync tests and compares trees.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

export function writeTree(root: string, files: Record<string, number>): void {
  for (const [path, size] of Object.entries(files)) {
    const full = join(root, path);
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, randomBytes(size));
  }
}

export function listTree(root: string): string[] {
  const out: string[] = [];
  const walk = (directory: string) => {
    for (const name of readdirSync(directory)) {
      const full = join(directory, name);
      if (statSync(full).isDirectory()) walk(full);
      else out.push(relative(root, full));
    }
  };
  walk(root);
  return out.sort();
}

export function treesEqual(a: string, b: string): boolean {
  const left = listTree(a);
  const right = listTree(b);
  if (left.join('\n') !== right.join('\n')) return false;
  return left.every((path) => readFileSync(join(a, path)).equals(readFileSync(join(b, path))));
}
