/** What the buffer asks of its source when it is full, and again when it has room. @internal */
export interface FlowControl {
  pause(): void;
  resume(): void;
}

/**
 * A bounded FIFO between a push source (a file stream and its parser) and a pull consumer (the
 * reader's `read()`). The source is paused when `capacity` entries wait and resumed when half of
 * them have been taken, so memory stays bounded whatever the file size, while `read()` finds an
 * entry ready, and returns it synchronously, almost every time.
 *
 * The bound is soft: a parser handles a whole file chunk at once (64 KiB by default), so the
 * buffer may exceed `capacity` by the records of one chunk.
 *
 * @internal
 */
export class RecordBuffer<E> {
  private entries: Array<E | undefined> = [];
  private head = 0;
  private paused = false;
  private waiters: Array<() => void> = [];
  private isEnded = false;
  private error: Error | undefined;

  constructor(
    private readonly capacity: number,
    private readonly flow: FlowControl,
  ) {}

  get size(): number {
    return this.entries.length - this.head;
  }

  /** True when the source has ended; entries may still wait to be taken. */
  get ended(): boolean {
    return this.isEnded;
  }

  /** Set when the source failed; taken entries before it are still valid. */
  get failure(): Error | undefined {
    return this.error;
  }

  push(entry: E): void {
    this.entries.push(entry);
    if (!this.paused && this.size >= this.capacity) {
      this.paused = true;
      this.flow.pause();
    }
    this.wake();
  }

  take(): E | undefined {
    if (this.head === this.entries.length) return undefined;
    const entry = this.entries[this.head] as E;
    this.entries[this.head] = undefined;
    this.head += 1;
    if (this.head === this.entries.length) {
      this.entries.length = 0;
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.entries.length) {
      // Drop the taken prefix now and then, so a consumer that never fully drains stays O(1) per entry.
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
    if (this.paused && !this.isEnded && this.size <= this.capacity >> 1) {
      this.paused = false;
      this.flow.resume();
    }
    return entry;
  }

  end(): void {
    this.isEnded = true;
    this.wake();
  }

  fail(error: Error): void {
    this.error ??= error;
    this.wake();
  }

  /** Resolves when an entry arrives, the source ends or fails. */
  whenReadable(): Promise<void> {
    return new Promise((resolve) => {
      this.waiters.push(resolve);
    });
  }

  private wake(): void {
    if (this.waiters.length === 0) return;
    for (const waiter of this.waiters.splice(0)) waiter();
  }
}
