/**
 * The live connections of a {@link FlowTable}, stored column-wise in typed arrays indexed by a
 * slot number instead of one object (plus a Float64Array, its ArrayBuffer and malloc'd backing
 * store) per connection: with 10,000 sockets the driver's live V8 heap went from 13.0 to 10.1 MB
 * and its RSS down by ~6 MB (bench/tcp_driver_mem_bench.ts). Values are stored at the width the
 * kernel gives them: the 64-bit ones as doubles, the 32-bit ones (most) as Uint32. A flow's
 * connections are a doubly linked list through the slots, so walking them allocates nothing.
 *
 * @module
 */

import type { RecordBytes } from "./record_bytes.ts";
import { SocketIndex } from "./socket_index.ts";

/** The unsigned int of `width` bytes at byte offset `at` (u64 as a number: below 2^53). */
function uintAt(b: RecordBytes, at: number, width: number): number {
  switch (width) {
    case 1:
      return b.u8[at];
    case 2:
      return b.u16[at >> 1];
    case 4:
      return b.u32[at >> 2];
    default:
      return b.u64(at);
  }
}

/** No slot (end of a list, or a flow without connections). */
export const NONE = -1;

/** A flow's list of live connections (the owner keeps these two numbers). */
export interface ConnList {
  head: number;
  count: number;
}

/**
 * Slots for live connections, each with a row of values: the first `wideWidth` (64-bit in the
 * kernel) in `wide`, the next `narrowWidth` (32-bit) in `narrow`.
 */
export class ConnSlots<F extends ConnList> {
  /** Values per slot in `wide` and in `narrow`. */
  readonly wideWidth: number;
  readonly narrowWidth: number;
  #cap = 0;
  /** Values 0..wideWidth of slot `s`: `wide[s * wideWidth + i]`. */
  wide = new Float64Array(0);
  /** Values wideWidth.. of slot `s`: `narrow[s * narrowWidth + i - wideWidth]`. */
  narrow = new Uint32Array(0);
  /** Socket address (low 48 bits, see flows.ts skAt). */
  sk = new Float64Array(0);
  tgid = new Uint32Array(0);
  role = new Uint8Array(0);
  /** 1 once the connection was counted as opened in its flow. */
  counted = new Uint8Array(0);
  /** The read that last listed it. */
  seen = new Uint32Array(0);
  next = new Int32Array(0);
  prev = new Int32Array(0);
  /** The flow each slot belongs to (undefined when free). */
  flow: (F | undefined)[] = [];
  /** Socket → slot. */
  readonly #bySk = new SocketIndex();
  /** Free slots (a stack). */
  #free: number[] = [];

  constructor(wideWidth: number, narrowWidth: number) {
    this.wideWidth = wideWidth;
    this.narrowWidth = narrowWidth;
  }

  get size(): number {
    return this.#bySk.size;
  }

  /** Slot of a socket, or NONE. */
  find(sk: number): number {
    return this.#bySk.get(sk); // -1 (NONE) when absent
  }

  /** Every slot in use (iterating while removing the current one is fine). */
  *slots(): IterableIterator<number> {
    const flow = this.flow;
    for (let s = 0; s < this.#cap; s++) if (flow[s] !== undefined) yield s;
  }

  /** A new slot for `sk` in flow `f` (values zeroed, not counted, never seen). */
  add(sk: number, f: F, tgid: number, role: number): number {
    if (!this.#free.length) this.#grow();
    const s = this.#free.pop()!;
    this.#bySk.set(sk, s);
    this.sk[s] = sk;
    this.tgid[s] = tgid;
    this.role[s] = role;
    this.counted[s] = 0;
    this.seen[s] = 0;
    this.wide.fill(0, s * this.wideWidth, (s + 1) * this.wideWidth);
    this.narrow.fill(0, s * this.narrowWidth, (s + 1) * this.narrowWidth);
    this.#link(s, f);
    return s;
  }

  /** Store the row of values `v` (wide ones first) in slot `s`. */
  store(s: number, v: Float64Array): void {
    const w = this.wideWidth, n = this.narrowWidth, wide = this.wide, narrow = this.narrow;
    for (let i = 0, o = s * w; i < w; i++) wide[o + i] = v[i];
    for (let i = 0, o = s * n; i < n; i++) narrow[o + i] = v[w + i];
  }

  /**
   * Store slot `s`'s values straight from a record: value `i` is the unsigned int of `width[i]`
   * bytes (1, 2, 4 or 8; naturally aligned) at byte offset `off + at[i]` of `b`.
   */
  storeFrom(s: number, b: RecordBytes, off: number, at: Int32Array, width: Uint8Array): void {
    const w = this.wideWidth, n = this.narrowWidth, wide = this.wide, narrow = this.narrow;
    for (let i = 0, o = s * w; i < w; i++) wide[o + i] = uintAt(b, off + at[i], width[i]);
    for (let i = 0, o = s * n; i < n; i++) {
      narrow[o + i] = uintAt(b, off + at[w + i], width[w + i]);
    }
  }

  /** Move slot `s` to flow `f`'s list. */
  move(s: number, f: F): void {
    this.#unlink(s);
    this.#link(s, f);
  }

  /** Free slot `s`. */
  remove(s: number): void {
    this.#unlink(s);
    this.#bySk.delete(this.sk[s]);
    this.flow[s] = undefined;
    this.#free.push(s);
  }

  #link(s: number, f: F): void {
    this.flow[s] = f;
    this.prev[s] = NONE;
    this.next[s] = f.head;
    if (f.head !== NONE) this.prev[f.head] = s;
    f.head = s;
    f.count++;
  }

  #unlink(s: number): void {
    const f = this.flow[s]!;
    const p = this.prev[s], n = this.next[s];
    if (p !== NONE) this.next[p] = n;
    else f.head = n;
    if (n !== NONE) this.prev[n] = p;
    f.count--;
  }

  /** Double the capacity (the arrays are copied; free slots are the new ones). */
  #grow(): void {
    const cap = Math.max(256, this.#cap * 2);
    const n = this.#cap;
    const wide = new Float64Array(cap * this.wideWidth), sk = new Float64Array(cap);
    const narrow = new Uint32Array(cap * this.narrowWidth);
    const tgid = new Uint32Array(cap), seen = new Uint32Array(cap);
    const role = new Uint8Array(cap), counted = new Uint8Array(cap);
    const next = new Int32Array(cap), prev = new Int32Array(cap);
    wide.set(this.wide.subarray(0, n * this.wideWidth));
    narrow.set(this.narrow.subarray(0, n * this.narrowWidth));
    sk.set(this.sk.subarray(0, n));
    tgid.set(this.tgid.subarray(0, n));
    seen.set(this.seen.subarray(0, n));
    role.set(this.role.subarray(0, n));
    counted.set(this.counted.subarray(0, n));
    next.set(this.next.subarray(0, n));
    prev.set(this.prev.subarray(0, n));
    this.wide = wide;
    this.narrow = narrow;
    this.sk = sk;
    this.tgid = tgid;
    this.seen = seen;
    this.role = role;
    this.counted = counted;
    this.next = next;
    this.prev = prev;
    // Lowest slots first: a small table stays in the first pages of the arrays.
    for (let s = cap - 1; s >= this.#cap; s--) this.#free.push(s);
    this.#cap = cap;
  }
}
