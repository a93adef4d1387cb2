/**
 * Socket address → slot, as open addressing over typed arrays. Every close record looks its
 * socket up here; a `Map` keyed by the address (a double above 2^31) boxed the key per lookup and
 * cost ~45 ns at the runner's `--max-opt=2`, a third of a record's whole handling.
 *
 * @module
 */

const EMPTY = -1;

/**
 * Where a 48-bit socket address lands in a table of `2^bits` (Fibonacci hashing: kernel addresses
 * are multiples of their object size, so the low bits alone would crowd).
 */
function home(sk: number, shift: number): number {
  const lo = sk >>> 0, hi = (sk / 4294967296) | 0;
  return Math.imul(lo ^ Math.imul(hi, 0x85ebca6b), 0x9e3779b1) >>> shift;
}

/** Socket addresses (integers below 2^53) to non-negative ints. */
export class SocketIndex {
  #keys = new Float64Array(16);
  #vals = new Int32Array(16).fill(EMPTY);
  /** 32 - log2(table size). */
  #shift = 28;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /** The value of `sk`, or -1. */
  get(sk: number): number {
    const keys = this.#keys, vals = this.#vals, mask = vals.length - 1;
    for (let i = home(sk, this.#shift);; i = (i + 1) & mask) {
      const v = vals[i];
      if (v === EMPTY || keys[i] === sk) return v;
    }
  }

  /** Set the value of `sk` (`v` >= 0). */
  set(sk: number, v: number): void {
    if ((this.#size + 1) * 2 > this.#vals.length) this.#grow(); // at most half full
    const keys = this.#keys, vals = this.#vals, mask = vals.length - 1;
    let i = home(sk, this.#shift);
    while (vals[i] !== EMPTY && keys[i] !== sk) i = (i + 1) & mask;
    if (vals[i] === EMPTY) this.#size++;
    keys[i] = sk;
    vals[i] = v;
  }

  /** Remove `sk` if held. */
  delete(sk: number): void {
    const keys = this.#keys, vals = this.#vals, mask = vals.length - 1, shift = this.#shift;
    let i = home(sk, shift);
    while (vals[i] !== EMPTY && keys[i] !== sk) i = (i + 1) & mask;
    if (vals[i] === EMPTY) return;
    this.#size--;
    // Backward shift: move up each later entry of the run whose home is not between the hole
    // and it, so that no lookup meets an empty slot before its key.
    for (let j = (i + 1) & mask; vals[j] !== EMPTY; j = (j + 1) & mask) {
      const h = home(keys[j], shift);
      const between = i <= j ? i < h && h <= j : i < h || h <= j;
      if (between) continue;
      keys[i] = keys[j];
      vals[i] = vals[j];
      i = j;
    }
    vals[i] = EMPTY;
  }

  #grow(): void {
    const keys = this.#keys, vals = this.#vals;
    this.#keys = new Float64Array(vals.length * 2);
    this.#vals = new Int32Array(vals.length * 2).fill(EMPTY);
    this.#shift--;
    this.#size = 0;
    for (let i = 0; i < vals.length; i++) if (vals[i] !== EMPTY) this.set(keys[i], vals[i]);
  }
}
