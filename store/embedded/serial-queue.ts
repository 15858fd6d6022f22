/**
 * Runs async tasks one after another in submission order. A DuckDB connection runs one statement at a time and a
 * transaction belongs to its connection, so each connection is used through one of these.
 *
 * A task's failure is reported to its caller only; later tasks still run.
 */
export class SerialQueue {
  #tail: Promise<void> = Promise.resolve();
  #depth = 0;

  /** Tasks queued or running. */
  get depth(): number {
    return this.#depth;
  }

  run<T>(task: () => Promise<T>): Promise<T> {
    this.#depth++;
    const result = this.#tail.then(task);
    const done = (): void => {
      this.#depth--;
    };
    this.#tail = result.then(done, done);
    return result;
  }

  /** Resolves once every task submitted so far has settled. */
  idle(): Promise<void> {
    return this.#tail;
  }
}
