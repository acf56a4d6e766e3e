// Small durable-filesystem helpers: directory fsync (so that a created,
// renamed or deleted file name survives power loss) and a write-then-rename.
import { open, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';

export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Write `data` to dir/name atomically and durably: temp file, fdatasync, rename, directory fsync. */
export async function writeFileDurable(dir: string, name: string, data: Buffer): Promise<void> {
  const temp = join(dir, `${name}.tmp`);
  const handle = await open(temp, 'w');
  try {
    await handle.writeFile(data);
    await handle.datasync();
  } finally {
    await handle.close();
  }
  await rename(temp, join(dir, name));
  await fsyncDir(dir);
}

export async function unlinkIfExists(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}
