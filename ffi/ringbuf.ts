/**
 * BPF ring buffer consumer: records are handed to a callback during {@link RingBuffer.consume},
 * which the caller runs on a timer (the BPF side writes with `BPF_RB_NO_WAKEUP`).
 *
 * The ring is read here, from its memory mapped into the process as libbpf maps it (the consumer
 * position page read-write; the producer position page and the data pages, mapped twice so a
 * record that wraps is contiguous, read-only), instead of through `ring_buffer__consume` and a
 * callback from C into JavaScript per record: at tens of thousands of closed connections a second
 * that per-record call and the ArrayBuffer it wrapped around each record were most of what
 * consuming cost.
 *
 * @module
 */

import { lastErrno, libc } from "./libc.ts";
import { BpfError } from "./errors.ts";
import type { BpfMap } from "./map.ts";
import type { BpfObject } from "./object.ts";

/** Receives one record; `data` is a copy the callee may keep (unless `copy: false`). */
export type RecordHandler = (data: Uint8Array<ArrayBuffer>) => void;

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
  readonly #onRecord: RecordHandler;
  readonly #copy: boolean;
  readonly #pageSize: number;
  readonly #dataSize: number;
  #consumerPage: Deno.PointerObject | null;
  #producerArea: Deno.PointerObject | null;
  /** The consumer position (u64 at offset 0 of its page), written back after each record. */
  #consumerPos: BigUint64Array | null;
  /** The producer position page followed by the data pages twice. */
  #area: ArrayBuffer | null;
  #view: DataView | null;
  /** Errors thrown by the handler (kept, never stopping the consumer). */
  handlerErrors = 0;
  /** Last handler error, for status. */
  lastError: unknown;

  /**
   * @param obj the loaded object owning `map`
   * @param map a `BPF_MAP_TYPE_RINGBUF` map
   * @param onRecord called once per record, synchronously inside {@link consume}
   * @param opts `copy: false` hands the handler a view of the ring itself, valid only during
   *   the call (no copy per record)
   */
  constructor(obj: BpfObject, map: BpfMap, onRecord: RecordHandler, opts: { copy?: boolean } = {}) {
    if (map.type !== BPF_MAP_TYPE_RINGBUF) {
      throw new BpfError(`ring buffer on map ${map.name}`, 22, "the map is not a RINGBUF map");
    }
    this.#obj = obj;
    this.#onRecord = onRecord;
    this.#copy = opts.copy ?? true;
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
        this.#pageSize + 2 * this.#dataSize,
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
    this.#area = Deno.UnsafePointerView.getArrayBuffer(
      this.#producerArea,
      this.#pageSize + 2 * this.#dataSize,
    );
    this.#view = new DataView(this.#area);
    obj.own(this);
  }

  /** Hand every available record to the handler; returns how many. */
  consume(): number {
    const view = this.#view, consumerPos = this.#consumerPos, area = this.#area;
    if (!view || !consumerPos || !area) return 0;
    const mask = this.#dataSize - 1, data = this.#pageSize;
    // Positions only grow, by bytes written: they stay below 2^53 for centuries of traffic.
    let cons = Number(Atomics.load(consumerPos, 0));
    let n = 0;
    for (;;) {
      const prod = Number(view.getBigUint64(0, true)); // x86-64 loads are acquire loads
      if (cons >= prod) return n;
      let busy = false;
      while (cons < prod) {
        const at = data + (cons & mask);
        const len = view.getUint32(at, true);
        if (len & BUSY_BIT) { // still being written: the next consume takes it
          busy = true;
          break;
        }
        const size = len & ~(BUSY_BIT | DISCARD_BIT);
        if (!(len & DISCARD_BIT)) {
          const start = at + HDR_SIZE;
          try {
            this.#onRecord(
              this.#copy
                ? new Uint8Array(area.slice(start, start + size))
                : new Uint8Array(area, start, size),
            );
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

  /** Unmap the ring. Safe to call twice. */
  close(): void {
    if (!this.#consumerPage || !this.#producerArea) return;
    this.#view = null;
    this.#area = null;
    this.#consumerPos = null;
    libc().munmap(this.#consumerPage, BigInt(this.#pageSize));
    libc().munmap(this.#producerArea, BigInt(this.#pageSize + 2 * this.#dataSize));
    this.#consumerPage = null;
    this.#producerArea = null;
    this.#obj.disown(this);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
