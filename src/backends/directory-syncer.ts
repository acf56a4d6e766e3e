// Coalesces directory fsyncs: callers that ask while a sync of the same
// directory is running share the next one, so N concurrent renames into a
// directory cost at most two fsyncs instead of N (group commit for metadata
// of the filesystem itself).
import { promises as fsp } from 'node:fs';

interface DirectoryState {
  running: Promise<void> | undefined;
  next: Promise<void> | undefined;
}

export class DirectorySyncer {
  private readonly directories = new Map<string, DirectoryState>();

  sync(directory: string): Promise<void> {
    let state = this.directories.get(directory);
    if (!state) {
      state = { running: undefined, next: undefined };
      this.directories.set(directory, state);
    }
    if (!state.running) {
      state.running = this.run(directory, state);
      return state.running;
    }
    // A sync is under way, but it may have started before our rename: wait for a fresh one.
    if (!state.next) {
      const current = state;
      state.next = state.running.then(
        () => this.promoteNext(directory, current),
        () => this.promoteNext(directory, current),
      );
    }
    return state.next;
  }

  private promoteNext(directory: string, state: DirectoryState): Promise<void> {
    state.next = undefined;
    state.running = this.run(directory, state);
    return state.running;
  }

  private async run(directory: string, state: DirectoryState): Promise<void> {
    try {
      const handle = await fsp.open(directory, 'r');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    } finally {
      // Let the queued sync (if any) take over; otherwise forget the directory.
      if (!state.next) {
        state.running = undefined;
        this.directories.delete(directory);
      }
    }
  }
}
