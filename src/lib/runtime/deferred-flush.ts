/**
 * A host's timer for a rate-limited log batch (a narrator's commit lines): when
 * a batch is waiting, it is written at its due time even if nothing else
 * happens after it. One timer at a time.
 */
export class DeferredFlush {
  private timer: NodeJS.Timeout | null = null;

  constructor(
    /** When the waiting batch is due (same clock as `now`), or null when none waits. */
    private readonly dueMs: () => number | null,
    private readonly flush: () => void,
    private readonly now: () => number,
  ) {}

  /** Arms the timer for the waiting batch, unless it is armed already or nothing waits. */
  schedule(): void {
    const due = this.dueMs();
    if (due === null || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush();
    }, Math.max(0, due - this.now()));
  }

  /** Disarms the timer (an embedded host that stops); a batch still waiting is not written. */
  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
