/**
 * A fixed-bucket histogram accumulating observations into the runner's {@link HistogramValue}.
 *
 * @module
 */

import type { HistogramValue } from "../../runner/probe_api.ts";

/** Cumulative-since-start histogram over ascending upper bounds (plus +Inf). */
export class Histogram {
  readonly #bounds: readonly number[];
  readonly #counts: number[];
  #sum = 0;
  #count = 0;

  constructor(bounds: readonly number[]) {
    this.#bounds = bounds;
    this.#counts = new Array(bounds.length + 1).fill(0);
  }

  /** Add one observation. */
  observe(v: number): void {
    let i = 0;
    while (i < this.#bounds.length && v > this.#bounds[i]) i++;
    this.#counts[i]++;
    this.#sum += v;
    this.#count++;
  }

  /**
   * Add observations already bucketed over the same bounds: `counts[i]` in bucket i (the last,
   * `bounds.length`, is +Inf; further entries are ignored), their `sum` and `count`.
   */
  merge(counts: ArrayLike<number>, sum: number, count: number): void {
    for (let i = 0; i < this.#counts.length; i++) this.#counts[i] += counts[i];
    this.#sum += sum;
    this.#count += count;
  }

  get count(): number {
    return this.#count;
  }

  /** A copy in the runner's shape (non-cumulative counts). */
  value(): HistogramValue {
    return { counts: [...this.#counts], sum: this.#sum, count: this.#count };
  }
}
