/**
 * Typed-array views over the buffer records lie in (the ring buffer's mapped area, a read's
 * output), made once per buffer instead of reading through a DataView per field: the runner runs
 * the driver with `--max-opt=2` (deno.json), where each DataView read is a call, and a record's
 * fields are ~30 reads. The records are written by the kernel in the host's byte order, which
 * typed arrays use too.
 *
 * @module
 */

import { TcpSnap } from "./layout.ts";

/** The views a record is read through; {@link at} points them at a record's buffer. */
export class RecordBytes {
  u8: Uint8Array = new Uint8Array(0);
  u16: Uint16Array = new Uint16Array(0);
  u32: Uint32Array = new Uint32Array(0);
  #buffer: ArrayBufferLike | undefined;
  /** An aligned copy for a record that is not 4-byte aligned in its buffer. */
  readonly #scratch = new ArrayBuffer(TcpSnap.size);

  /**
   * Views over the record of `TcpSnap.size` bytes at `byteOffset` in `buffer`.
   *
   * @returns the record's byte offset in {@link u8} (u16 index: `>> 1`, u32 index: `>> 2`)
   */
  at(buffer: ArrayBufferLike, byteOffset: number): number {
    if (byteOffset & 3) {
      // Never seen (ring records and read outputs are 8-byte aligned), but stay correct.
      new Uint8Array(this.#scratch).set(new Uint8Array(buffer, byteOffset, TcpSnap.size));
      this.#cover(this.#scratch);
      return 0;
    }
    if (buffer !== this.#buffer) this.#cover(buffer);
    return byteOffset;
  }

  #cover(buffer: ArrayBufferLike): void {
    this.#buffer = buffer;
    const n = buffer.byteLength;
    this.u8 = new Uint8Array(buffer, 0, n);
    this.u16 = new Uint16Array(buffer, 0, n >> 1);
    this.u32 = new Uint32Array(buffer, 0, n >> 2);
  }

  /** The u64 field at byte offset `at` (4-aligned) as a number (counters stay below 2^53). */
  u64(at: number): number {
    const i = at >> 2;
    return this.u32[i] + this.u32[i + 1] * 4294967296;
  }
}
