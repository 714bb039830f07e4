/**
 * Group commit: work items that arrive while a transaction runs wait and share the next one.
 * The owner's `flush` runs one batch (items with the same key, up to `maxSize` in total) and
 * settles each item itself; at most `concurrency` batches run at once.
 *
 * A batch starts on `setImmediate`, after the requests already received have been read: on the
 * embedded database HTTP and the database share one thread, and starting at once took one
 * request per transaction (docs/benchmarks.md, evening session).
 */
export interface GroupCommitOptions<S> {
  readonly concurrency: number;
  readonly maxSize: number;
  /** The item's share of maxSize (e.g. its messages). */
  size(item: S): number;
  /** Only items with the same key share a batch (e.g. the tenant). */
  key(item: S): string;
  /** Runs one batch; must settle every item (it is never retried here). */
  flush(batch: readonly S[]): Promise<void>;
}

export class GroupCommit<S> {
  readonly #opts: GroupCommitOptions<S>;
  #queue: S[] = [];
  #active = 0;
  #scheduled = false;
  #idle: (() => void)[] = [];

  constructor(opts: GroupCommitOptions<S>) {
    this.#opts = opts;
  }

  push(item: S): void {
    this.#queue.push(item);
    this.#schedule();
  }

  /** Resolves when no batch runs and nothing waits (shutdown, tests). */
  idle(): Promise<void> {
    if (this.#active === 0 && this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #schedule(): void {
    if (this.#scheduled || this.#active >= this.#opts.concurrency) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#pump();
    });
  }

  #pump(): void {
    while (this.#active < this.#opts.concurrency && this.#queue.length > 0) {
      const batch = this.#take();
      this.#active++;
      void this.#opts
        .flush(batch)
        .catch(() => undefined)
        .finally(() => {
          this.#active--;
          this.#schedule();
          if (this.#active === 0 && this.#queue.length === 0) for (const f of this.#idle.splice(0)) f();
        });
    }
  }

  /** The oldest waiting item, and after it those with the same key, up to maxSize. */
  #take(): S[] {
    const first = this.#queue[0] as S;
    const key = this.#opts.key(first);
    const taken: S[] = [];
    const rest: S[] = [];
    let size = 0;
    for (const s of this.#queue) {
      const n = this.#opts.size(s);
      if (this.#opts.key(s) === key && (taken.length === 0 || size + n <= this.#opts.maxSize)) {
        taken.push(s);
        size += n;
      } else rest.push(s);
    }
    this.#queue = rest;
    return taken;
  }
}
