// Group commit for device flushes. Every writer that needs its data durable
// calls flush(); all calls made while no flush is running are served by one
// flush started on the next turn of the event loop (so every writer that
// finishes in the same turn shares it), and calls made while one is running
// wait for the next. A flush therefore always starts after the writes of
// everyone it acknowledges have completed.
export interface GroupFlushStats {
  /** flush() calls. */
  requests: number;
  /** Device flushes actually issued; requests / flushes is the sharing factor. */
  flushes: number;
  failures: number;
}

interface Waiter {
  resolve: () => void;
  reject: (error: unknown) => void;
}

export class GroupFlush {
  private waiting: Waiter[] = [];
  private running = false;
  private readonly counters: GroupFlushStats = { requests: 0, flushes: 0, failures: 0 };

  constructor(private readonly flushDevice: () => Promise<void>) {}

  /** Resolves once a device flush that started after this call has succeeded. */
  flush(): Promise<void> {
    this.counters.requests++;
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      if (!this.running) {
        this.running = true;
        setImmediate(() => void this.runBatches());
      }
    });
  }

  stats(): GroupFlushStats {
    return { ...this.counters };
  }

  private async runBatches(): Promise<void> {
    while (this.waiting.length > 0) {
      const batch = this.waiting;
      this.waiting = [];
      this.counters.flushes++;
      try {
        await this.flushDevice();
        for (const waiter of batch) waiter.resolve();
      } catch (error) {
        // Nobody in this batch may be acknowledged: their bytes may not be durable.
        this.counters.failures++;
        for (const waiter of batch) waiter.reject(error);
      }
    }
    this.running = false;
  }
}
