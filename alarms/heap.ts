/** A binary min-heap of timed jobs, ordered by time and then by insertion, for the engine's single timer. */

export interface TimedJob {
  at: number;
  seq: number;
  run: () => void;
}

export class JobHeap {
  readonly #a: TimedJob[] = [];
  #seq = 0;

  get size(): number {
    return this.#a.length;
  }

  peek(): TimedJob | undefined {
    return this.#a[0];
  }

  push(at: number, run: () => void): void {
    const a = this.#a;
    a.push({ at, seq: this.#seq++, run });
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(a[i]!, a[p]!)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }

  pop(): TimedJob | undefined {
    const a = this.#a;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && less(a[l]!, a[m]!)) m = l;
        if (r < a.length && less(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }

  clear(): void {
    this.#a.length = 0;
  }
}

function less(x: TimedJob, y: TimedJob): boolean {
  return x.at < y.at || (x.at === y.at && x.seq < y.seq);
}
