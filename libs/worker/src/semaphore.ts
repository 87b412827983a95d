/** Bounds the attempts running at once across every queue a pool serves. */
export class Semaphore {
  private available: number;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new Error(`concurrency must be a positive integer, got ${size}`);
    this.available = size;
  }

  async acquire(): Promise<() => void> {
    if (this.available > 0) this.available--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      // Hand the slot straight to a waiter so a newcomer cannot overtake it.
      if (next) next();
      else this.available++;
    };
  }
}
