/**
 * BPF maps: sizing before load, and lookup/update/delete/iterate (batch where the kernel can).
 *
 * Keys and values are raw bytes laid out like the C structs; per-CPU maps return
 * `valueSize` rounded up to 8 bytes, once per possible CPU.
 *
 * @module
 */

import { BpfError, unwrap } from "./errors.ts";
import { readCString } from "./libc.ts";
import type { BpfObject } from "./object.ts";
import { libbpf } from "./symbols.ts";

/** `bpf_map_update_elem` flags. */
export const BPF_ANY = 0, BPF_NOEXIST = 1, BPF_EXIST = 2;

/** `enum bpf_map_type` values that store one value per CPU. */
const PERCPU_TYPES = new Set([5, 6, 10, 21]);

let cpus = 0;
/** Number of possible CPUs (the per-CPU value count). */
export function possibleCpus(): number {
  if (!cpus) cpus = unwrap("libbpf_num_possible_cpus", libbpf().libbpf_num_possible_cpus());
  return cpus;
}

/** One map of a {@link BpfObject}; valid while the object is open. */
export class BpfMap {
  readonly #ptr: Deno.PointerObject;
  readonly #obj: BpfObject;
  /** The map's name (`.rodata` style names for global sections). */
  readonly name: string;

  /** @internal built by {@link BpfObject.map}. */
  constructor(ptr: Deno.PointerObject, obj: BpfObject) {
    this.#ptr = ptr;
    this.#obj = obj;
    this.name = readCString(libbpf().bpf_map__name(ptr));
  }

  /** The map fd (after load). */
  get fd(): number {
    void this.#obj.ptr; // throws if the object was closed
    return unwrap(`fd of map ${this.name}`, libbpf().bpf_map__fd(this.#ptr));
  }

  get keySize(): number {
    return libbpf().bpf_map__key_size(this.#ptr);
  }

  get valueSize(): number {
    return libbpf().bpf_map__value_size(this.#ptr);
  }

  /** `enum bpf_map_type`. */
  get type(): number {
    return libbpf().bpf_map__type(this.#ptr);
  }

  get maxEntries(): number {
    return libbpf().bpf_map__max_entries(this.#ptr);
  }

  /** True for per-CPU maps. */
  get perCpu(): boolean {
    return PERCPU_TYPES.has(this.type);
  }

  /** Bytes one lookup returns: the value, or one 8-aligned slot per possible CPU. */
  get lookupSize(): number {
    return this.perCpu ? Math.ceil(this.valueSize / 8) * 8 * possibleCpus() : this.valueSize;
  }

  /** Set the capacity (before load). */
  setMaxEntries(n: number): void {
    unwrap(
      `set max_entries of ${this.name} to ${n}`,
      libbpf().bpf_map__set_max_entries(this.#ptr, n),
    );
  }

  /**
   * The initial contents of a global data map (`.rodata`, `.data`, `.bss`) as a writable view of
   * libbpf's copy: write before load to set `const volatile` globals.
   */
  initialValue(): DataView {
    if (this.#obj.loaded) throw new BpfError(`write initial value of ${this.name} after load`, 16);
    const size = new BigUint64Array(1);
    const p = libbpf().bpf_map__initial_value(this.#ptr, size);
    if (!p) throw new BpfError(`initial value of ${this.name}`, 22, "not a global data map");
    return new DataView(Deno.UnsafePointerView.getArrayBuffer(p, Number(size[0])));
  }

  /** Value for `key`, or undefined when absent. */
  lookup(key: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> | undefined {
    const value = new Uint8Array(this.lookupSize);
    const r = libbpf().bpf_map_lookup_elem(this.fd, key, value);
    if (r === -2) return undefined;
    unwrap(`lookup in map ${this.name}`, r);
    return value;
  }

  /** Insert or replace (`flags`: {@link BPF_ANY}, {@link BPF_NOEXIST}, {@link BPF_EXIST}). */
  update(key: Uint8Array<ArrayBuffer>, value: Uint8Array<ArrayBuffer>, flags = BPF_ANY): void {
    unwrap(
      `update map ${this.name}`,
      libbpf().bpf_map_update_elem(this.fd, key, value, BigInt(flags)),
    );
  }

  /**
   * {@link update} off the event loop, for updates the kernel makes wait (a map of maps': an RCU
   * grace period, so that no program still uses what was replaced when this resolves).
   */
  async updateAsync(
    key: Uint8Array<ArrayBuffer>,
    value: Uint8Array<ArrayBuffer>,
    flags = BPF_ANY,
  ): Promise<void> {
    const r = await libbpf().bpf_map_update_elem_nonblocking(this.fd, key, value, BigInt(flags));
    unwrap(`update map ${this.name}`, r);
  }

  /** Delete `key`; returns false when it was absent. */
  delete(key: Uint8Array<ArrayBuffer>): boolean {
    const r = libbpf().bpf_map_delete_elem(this.fd, key);
    if (r === -2) return false;
    unwrap(`delete from map ${this.name}`, r);
    return true;
  }

  /** All keys, by `bpf_map_get_next_key` (a snapshot that tolerates concurrent deletes). */
  *keys(): Generator<Uint8Array<ArrayBuffer>> {
    const fd = this.fd;
    let prev: Uint8Array<ArrayBuffer> | null = null;
    for (;;) {
      const next = new Uint8Array(this.keySize);
      const r = libbpf().bpf_map_get_next_key(fd, prev, next);
      if (r === -2) return;
      unwrap(`iterate map ${this.name}`, r);
      yield next;
      prev = next;
    }
  }

  /**
   * All entries. Uses `bpf_map_lookup_batch` (one syscall per `batch` entries) and falls back to
   * key-by-key lookups where the map type or kernel lacks batch ops.
   */
  entries(batch = 4096): Array<[Uint8Array<ArrayBuffer>, Uint8Array<ArrayBuffer>]> {
    try {
      return this.#batchEntries(batch);
    } catch (e) {
      if (!(e instanceof BpfError) || ![22, 95, 524].includes(e.errno)) throw e;
    }
    const out: Array<[Uint8Array<ArrayBuffer>, Uint8Array<ArrayBuffer>]> = [];
    for (const k of this.keys()) {
      const v = this.lookup(k);
      if (v) out.push([k, v]);
    }
    return out;
  }

  #batchEntries(batch: number): Array<[Uint8Array<ArrayBuffer>, Uint8Array<ArrayBuffer>]> {
    const ks = this.keySize, vs = this.lookupSize;
    const bufs = { keys: new Uint8Array(ks * batch), values: new Uint8Array(vs * batch) };
    const out: Array<[Uint8Array<ArrayBuffer>, Uint8Array<ArrayBuffer>]> = [];
    this.#walkBatches(false, batch, bufs, (n) => {
      for (let i = 0; i < n; i++) {
        out.push([bufs.keys.slice(i * ks, (i + 1) * ks), bufs.values.slice(i * vs, (i + 1) * vs)]);
      }
    });
    return out;
  }

  /**
   * Every entry in batches of up to `batch` into `bufs` (`bpf_map_lookup_batch`, or with
   * `deleting` `bpf_map_lookup_and_delete_batch`), `onBatch` told how many each time.
   *
   * @returns how many entries in all
   * @throws {BpfError} e.g. EINVAL/EOPNOTSUPP where the map type or kernel lacks batch ops
   */
  #walkBatches(
    deleting: boolean,
    batch: number,
    bufs: { keys: Uint8Array<ArrayBuffer>; values: Uint8Array<ArrayBuffer> },
    onBatch: (n: number) => void,
  ): number {
    const fd = this.fd, token = new Uint8Array(Math.max(this.keySize, 8));
    const inBatch = new Uint8Array(token.length);
    const count = new Uint32Array(1);
    // struct bpf_map_batch_opts { size_t sz; __u64 elem_flags; __u64 flags; }
    const opts = new BigUint64Array([24n, 0n, 0n]);
    const op = deleting ? libbpf().bpf_map_lookup_and_delete_batch : libbpf().bpf_map_lookup_batch;
    let n = 0;
    for (let first = true;; first = false) {
      count[0] = batch;
      const r = op(fd, first ? null : inBatch, token, bufs.keys, bufs.values, count, opts);
      if (r !== 0 && r !== -2) {
        unwrap(`batch lookup${deleting ? " and delete" : ""} in map ${this.name}`, r);
      }
      onBatch(count[0]);
      n += count[0];
      if (r === -2) return n;
      inBatch.set(token);
    }
  }

  /**
   * Remove every entry, handing each to `visit` (views valid during the call only). By
   * `bpf_map_lookup_and_delete_batch` where the kernel has it for this map type, else key by key.
   * Entries added meanwhile may or may not be drained: drain a map no program writes to.
   *
   * @returns how many entries were drained
   */
  drain(visit: (key: Uint8Array, value: Uint8Array) => void, batch = 1024): number {
    try {
      return this.#batchDrain(visit, batch);
    } catch (e) {
      if (!(e instanceof BpfError) || ![22, 95, 524].includes(e.errno)) throw e;
    }
    let n = 0;
    for (const k of [...this.keys()]) {
      const v = this.lookup(k);
      if (!v || !this.delete(k)) continue;
      visit(k, v);
      n++;
    }
    return n;
  }

  #batchDrain(visit: (key: Uint8Array, value: Uint8Array) => void, batch: number): number {
    const ks = this.keySize, vs = this.lookupSize;
    const bufs = { keys: new Uint8Array(ks * batch), values: new Uint8Array(vs * batch) };
    return this.#walkBatches(true, batch, bufs, (n) => {
      for (let i = 0; i < n; i++) {
        visit(bufs.keys.subarray(i * ks, (i + 1) * ks), bufs.values.subarray(i * vs, (i + 1) * vs));
      }
    });
  }

  /**
   * Number of entries. By batch lookups into buffers kept on the map (a few syscalls for
   * thousands of entries; callers count every report period), else key by key.
   */
  count(batch = 4096): number {
    try {
      return this.#batchCount(batch);
    } catch (e) {
      if (!(e instanceof BpfError) || ![22, 95, 524].includes(e.errno)) throw e;
    }
    let n = 0;
    for (const _ of this.keys()) n++;
    return n;
  }

  #countBufs: { keys: Uint8Array<ArrayBuffer>; values: Uint8Array<ArrayBuffer> } | undefined;

  #batchCount(batch: number): number {
    const ks = this.keySize, vs = this.lookupSize;
    if (!this.#countBufs || this.#countBufs.keys.length !== ks * batch) {
      this.#countBufs = { keys: new Uint8Array(ks * batch), values: new Uint8Array(vs * batch) };
    }
    return this.#walkBatches(false, batch, this.#countBufs, () => {});
  }
}
