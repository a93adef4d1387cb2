/**
 * BPF ring buffer consumer: records are handed to a callback during {@link RingBuffer.consume},
 * which the caller runs on a timer (the BPF side writes with `BPF_RB_NO_WAKEUP`).
 *
 * @module
 */

import { ptrOrThrow } from "./check.ts";
import { unwrap } from "./errors.ts";
import type { BpfMap } from "./map.ts";
import type { BpfObject } from "./object.ts";
import { libbpf } from "./symbols.ts";

/** Receives one record; `data` is a copy the callee may keep (unless `copy: false`). */
export type RecordHandler = (data: Uint8Array<ArrayBuffer>) => void;

// int (*ring_buffer_sample_fn)(void *ctx, void *data, size_t size)
const SAMPLE_FN = { parameters: ["pointer", "pointer", "usize"], result: "i32" } as const;

/** A `struct ring_buffer` over one RINGBUF map. Closed exactly once (also by its object). */
export class RingBuffer implements Disposable {
  #ptr: Deno.PointerObject | null;
  #cb: Deno.UnsafeCallback<typeof SAMPLE_FN> | null;
  readonly #obj: BpfObject;
  /** Errors thrown by the handler (kept, not propagated into libbpf). */
  handlerErrors = 0;
  /** Last handler error, for status. */
  lastError: unknown;

  /**
   * @param obj the loaded object owning `map`
   * @param map a `BPF_MAP_TYPE_RINGBUF` map
   * @param onRecord called once per record, synchronously inside {@link consume}
   * @param opts `copy: false` hands the handler a view of the ring itself, valid only during
   *   the call (no allocation per record)
   */
  constructor(obj: BpfObject, map: BpfMap, onRecord: RecordHandler, opts: { copy?: boolean } = {}) {
    const copy = opts.copy ?? true;
    this.#obj = obj;
    const cb = new Deno.UnsafeCallback(SAMPLE_FN, (_ctx, data, size) => {
      if (!data) return 0;
      try {
        onRecord(
          new Uint8Array(
            copy
              ? Deno.UnsafePointerView.getArrayBuffer(data, Number(size)).slice(0)
              : Deno.UnsafePointerView.getArrayBuffer(data, Number(size)),
          ),
        );
      } catch (e) {
        this.handlerErrors++;
        this.lastError = e;
      }
      return 0;
    });
    this.#cb = cb;
    const p = libbpf().ring_buffer__new(map.fd, cb.pointer, null, null);
    try {
      this.#ptr = ptrOrThrow(`ring buffer on map ${map.name}`, p);
    } catch (e) {
      cb.close();
      this.#cb = null;
      throw e;
    }
    obj.own(this);
  }

  /** Hand every available record to the handler; returns how many. */
  consume(): number {
    if (!this.#ptr) return 0;
    return unwrap("ring_buffer__consume", libbpf().ring_buffer__consume(this.#ptr));
  }

  /** Free the ring buffer and its callback. Safe to call twice. */
  close(): void {
    if (!this.#ptr) return;
    libbpf().ring_buffer__free(this.#ptr);
    this.#ptr = null;
    this.#cb?.close();
    this.#cb = null;
    this.#obj.disown(this);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
