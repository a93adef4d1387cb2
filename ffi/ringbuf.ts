/**
 * BPF ring buffer consumer: records are handed to a callback during {@link RingBuffer.consume},
 * which the caller runs on a timer (the BPF side writes with `BPF_RB_NO_WAKEUP`).
 *
 * The ring is read here, from its memory mapped into the process (the consumer position page
 * read-write; the producer position page and the data pages read-only), instead of through
 * `ring_buffer__consume` and a callback from C into JavaScript per record: at tens of thousands of
 * closed connections a second that per-record call and the ArrayBuffer it wrapped around each
 * record were most of what consuming cost.
 *
 * The kernel offers the data pages twice in a row so that a record wrapping around the end reads
 * as one piece, and libbpf maps both copies; but it maps every page at mmap time, so the second
 * copy doubles the ring's share of the RSS. Here the data is mapped once and the rare record that
 * wraps is copied into a scratch buffer.
 *
 * @module
 */

import { lastErrno, libc } from "./libc.ts";
import { BpfError } from "./errors.ts";
import type { BpfMap } from "./map.ts";
import type { BpfObject } from "./object.ts";

/** Receives one record; `data` is a copy the callee may keep. */
export type RecordHandler = (data: Uint8Array<ArrayBuffer>) => void;

/**
 * Receives one record in place: `size` bytes at `offset` of `bytes`, valid only during the call.
 * `bytes` is one view of the whole mapped ring (or of a scratch copy of a record that wraps), the
 * same object call after call: nothing is allocated per record.
 */
export type RecordAtHandler = (
  bytes: Uint8Array<ArrayBuffer>,
  offset: number,
  size: number,
) => void;

const PROT_READ = 1, PROT_WRITE = 2, MAP_SHARED = 1, SC_PAGESIZE = 30;
/** `struct bpf_ringbuf_hdr`: u32 len (with the two flag bits), u32 pg_off. */
const HDR_SIZE = 8, BUSY_BIT = 0x80000000, DISCARD_BIT = 0x40000000;
const BPF_MAP_TYPE_RINGBUF = 27;

function mmap(what: string, len: number, prot: number, fd: number, offset: number) {
  const p = libc().mmap(null, BigInt(len), prot, MAP_SHARED, fd, BigInt(offset));
  if (!p || Deno.UnsafePointer.value(p) === 0xffffffffffffffffn) {
    const errno = lastErrno();
    throw new BpfError(
      `mmap of ${what}`,
      errno,
      "the map must be a BPF_MAP_TYPE_RINGBUF of a loaded object (kernel >= 5.8)",
    );
  }
  return p;
}

/** One RINGBUF map, mapped into the process. Closed exactly once (also by its object). */
export class RingBuffer implements Disposable {
  readonly #obj: BpfObject;
  readonly #onRecord: RecordHandler | undefined;
  readonly #onRecordAt: RecordAtHandler | undefined;
  readonly #pageSize: number;
  readonly #dataSize: number;
  #consumerPage: Deno.PointerObject | null;
  #producerArea: Deno.PointerObject | null;
  /** The consumer position (u64 at offset 0 of its page), written back after each record. */
  #consumerPos: BigUint64Array | null;
  /** The producer position page followed by the data pages, as numbers and as bytes. */
  #view: DataView | null;
  #bytes: Uint8Array<ArrayBuffer> | null;
  /** Where a record that wraps around the end of the data is put together. */
  #scratch = new Uint8Array(0);
  /** Errors thrown by the handler (kept, never stopping the consumer). */
  handlerErrors = 0;
  /** Last handler error, for status. */
  lastError: unknown;

  /**
   * @param obj the loaded object owning `map`
   * @param map a `BPF_MAP_TYPE_RINGBUF` map
   * @param onRecord called once per record, synchronously inside {@link consume}, with a copy;
   *   or `{ at }`: called with the record in place (see {@link RecordAtHandler}), no copy
   */
  constructor(obj: BpfObject, map: BpfMap, onRecord: RecordHandler | { at: RecordAtHandler }) {
    if (map.type !== BPF_MAP_TYPE_RINGBUF) {
      throw new BpfError(`ring buffer on map ${map.name}`, 22, "the map is not a RINGBUF map");
    }
    this.#obj = obj;
    if (typeof onRecord === "function") this.#onRecord = onRecord;
    else this.#onRecordAt = onRecord.at;
    this.#pageSize = Number(libc().sysconf(SC_PAGESIZE));
    this.#dataSize = map.maxEntries;
    const fd = map.fd;
    this.#consumerPage = mmap(
      `ring buffer ${map.name} (consumer position)`,
      this.#pageSize,
      PROT_READ | PROT_WRITE,
      fd,
      0,
    );
    try {
      this.#producerArea = mmap(
        `ring buffer ${map.name} (data)`,
        this.#pageSize + this.#dataSize,
        PROT_READ,
        fd,
        this.#pageSize,
      );
    } catch (e) {
      libc().munmap(this.#consumerPage, BigInt(this.#pageSize));
      throw e;
    }
    this.#consumerPos = new BigUint64Array(
      Deno.UnsafePointerView.getArrayBuffer(this.#consumerPage, 8),
    );
    const area = Deno.UnsafePointerView.getArrayBuffer(
      this.#producerArea,
      this.#pageSize + this.#dataSize,
    );
    this.#view = new DataView(area);
    this.#bytes = new Uint8Array(area);
    obj.own(this);
  }

  /** Hand every available record to the handler; returns how many. */
  consume(): number {
    const view = this.#view, consumerPos = this.#consumerPos, bytes = this.#bytes;
    if (!view || !consumerPos || !bytes) return 0;
    const dataSize = this.#dataSize, mask = dataSize - 1, data = this.#pageSize;
    const onRecord = this.#onRecord, onRecordAt = this.#onRecordAt;
    // Positions only grow, by bytes written: they stay below 2^53 for centuries of traffic.
    let cons = Number(Atomics.load(consumerPos, 0));
    let n = 0;
    for (;;) {
      const prod = Number(view.getBigUint64(0, true)); // x86-64 loads are acquire loads
      if (cons >= prod) return n;
      let busy = false;
      while (cons < prod) {
        // Headers are 8-byte aligned in a data area of whole pages: a header never wraps.
        const len = view.getUint32(data + (cons & mask), true);
        if (len & BUSY_BIT) { // still being written: the next consume takes it
          busy = true;
          break;
        }
        const size = len & ~(BUSY_BIT | DISCARD_BIT);
        if (!(len & DISCARD_BIT)) {
          const inData = (cons + HDR_SIZE) & mask;
          try {
            if (inData + size <= dataSize) {
              const start = data + inData;
              if (onRecordAt) onRecordAt(bytes, start, size);
              else onRecord!(bytes.slice(start, start + size));
            } else {
              const whole = this.#joinWrapped(inData, size);
              if (onRecordAt) onRecordAt(whole, 0, size);
              else onRecord!(whole.slice(0, size));
            }
          } catch (e) {
            this.handlerErrors++;
            this.lastError = e;
          }
          n++;
        }
        cons += (size + HDR_SIZE + 7) & ~7;
      }
      // One 64-bit store, so the kernel never sees half an update; it frees the space of the
      // records handled. Once per batch rather than per record: a BigInt and an atomic store
      // (~25 ns) per record were a sixth of a close record's whole handling.
      Atomics.store(consumerPos, 0, BigInt(cons));
      if (busy) return n;
    }
  }

  /** The record of `size` bytes at `inData` that runs past the end of the data, in one piece. */
  #joinWrapped(inData: number, size: number): Uint8Array<ArrayBuffer> {
    const bytes = this.#bytes!, data = this.#pageSize, head = this.#dataSize - inData;
    if (this.#scratch.length < size) this.#scratch = new Uint8Array(size);
    this.#scratch.set(bytes.subarray(data + inData, data + this.#dataSize));
    this.#scratch.set(bytes.subarray(data, data + size - head), head);
    return this.#scratch;
  }

  /** Unmap the ring. Safe to call twice. */
  close(): void {
    if (!this.#consumerPage || !this.#producerArea) return;
    this.#view = null;
    this.#bytes = null;
    this.#consumerPos = null;
    libc().munmap(this.#consumerPage, BigInt(this.#pageSize));
    libc().munmap(this.#producerArea, BigInt(this.#pageSize + this.#dataSize));
    this.#consumerPage = null;
    this.#producerArea = null;
    this.#obj.disown(this);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
