/**
 * BPF programs and the links that attach them (tracepoint, raw_tp, tp_btf, iter, cgroup).
 *
 * @module
 */

import { ptrOrThrow } from "./check.ts";
import { BpfError, unwrap } from "./errors.ts";
import { cstr, lastErrno, libc, O_RDONLY_CLOEXEC, readCString } from "./libc.ts";
import { logMark, logSince } from "./log.ts";
import type { BpfObject } from "./object.ts";
import { libbpf } from "./symbols.ts";

/** What {@link BpfProgram.info} returns. */
export interface ProgramInfo {
  id: number;
  /** Total run time while run statistics were enabled. */
  runTimeNs: number;
  runCount: number;
}

/**
 * Turn on run-time statistics for every BPF program until the returned handle is closed
 * (`bpf_enable_stats(BPF_STATS_RUN_TIME)`; same effect as `sysctl kernel.bpf_stats_enabled=1`).
 */
export function enableRunStats(): { close(): void } {
  const fd = unwrap("enable BPF run-time statistics", libbpf().bpf_enable_stats(0));
  let open = true;
  return {
    close() {
      if (open) libc().close(fd);
      open = false;
    },
  };
}

/** One program of a {@link BpfObject}. Valid while the object is open. */
export class BpfProgram {
  readonly #ptr: Deno.PointerObject;
  readonly #obj: BpfObject;
  /** The C function name. */
  readonly name: string;

  /** @internal built by {@link BpfObject.program}. */
  constructor(ptr: Deno.PointerObject, obj: BpfObject) {
    this.#ptr = ptr;
    this.#obj = obj;
    this.name = readCString(libbpf().bpf_program__name(ptr));
  }

  /** Whether {@link BpfObject.load} loads this program (set before load). */
  get autoload(): boolean {
    return libbpf().bpf_program__autoload(this.#ptr);
  }

  set autoload(on: boolean) {
    unwrap(`set autoload of ${this.name}`, libbpf().bpf_program__set_autoload(this.#ptr, on));
  }

  /** The program fd (after load). */
  get fd(): number {
    return unwrap(`fd of program ${this.name}`, libbpf().bpf_program__fd(this.#ptr));
  }

  /**
   * Kernel-side facts about the loaded program: its id and, while `kernel.bpf_stats_enabled=1`
   * (or a {@link enableRunStats} handle is open), how often it ran and for how long.
   */
  info(): ProgramInfo {
    // struct bpf_prog_info: id @4, run_time_ns @192, run_cnt @200 (uapi, append-only)
    const buf = new Uint8Array(232);
    const len = new Uint32Array([buf.byteLength]);
    unwrap(`info of program ${this.name}`, libbpf().bpf_obj_get_info_by_fd(this.fd, buf, len));
    const dv = new DataView(buf.buffer);
    return {
      id: dv.getUint32(4, true),
      runTimeNs: Number(dv.getBigUint64(192, true)),
      runCount: Number(dv.getBigUint64(200, true)),
    };
  }

  /** Attach as its SEC() name says (`tp_btf/x`, `raw_tp/x`, `tp/cat/x`, `iter/tcp`...). */
  attach(): BpfLink {
    return this.#link(`attach ${this.name}`, () => libbpf().bpf_program__attach(this.#ptr));
  }

  /** Attach to the classic tracepoint `category:name` (needs tracefs). */
  attachTracepoint(category: string, name: string): BpfLink {
    return this.#link(
      `attach ${this.name} to tracepoint ${category}:${name}`,
      () => libbpf().bpf_program__attach_tracepoint(this.#ptr, cstr(category), cstr(name)),
    );
  }

  /** Attach to the raw tracepoint `name`. */
  attachRawTracepoint(name: string): BpfLink {
    return this.#link(
      `attach ${this.name} to raw tracepoint ${name}`,
      () => libbpf().bpf_program__attach_raw_tracepoint(this.#ptr, cstr(name)),
    );
  }

  /**
   * Attach an `iter/*` program; read it with {@link BpfLink.readIter}. An `iter/bpf_map_elem`
   * program needs the map it walks (`opts.map`).
   */
  attachIter(opts: { map?: { fd: number; name: string } } = {}): BpfLink {
    if (!opts.map) {
      return this.#link(
        `attach iterator ${this.name}`,
        () => libbpf().bpf_program__attach_iter(this.#ptr, null),
      );
    }
    // union bpf_iter_link_info { struct { __u32 map_fd; } map; ... } (16 bytes)
    const linkInfo = new Uint8Array(16);
    new DataView(linkInfo.buffer).setUint32(0, opts.map.fd, true);
    // struct bpf_iter_attach_opts { size_t sz; union bpf_iter_link_info *link_info;
    //                                __u32 link_info_len; }
    const o = new Uint8Array(24);
    const dv = new DataView(o.buffer);
    dv.setBigUint64(0, 24n, true);
    dv.setBigUint64(8, BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(linkInfo))), true);
    dv.setUint32(16, linkInfo.byteLength, true);
    return this.#link(
      `attach iterator ${this.name} to map ${opts.map.name}`,
      () => libbpf().bpf_program__attach_iter(this.#ptr, o),
    );
  }

  /** Attach a cgroup program to the cgroup v2 directory `cgroupPath`. */
  attachCgroup(cgroupPath: string): BpfLink {
    const fd = libc().open(cstr(cgroupPath), O_RDONLY_CLOEXEC);
    if (fd < 0) throw new BpfError(`open cgroup ${cgroupPath}`, lastErrno());
    try {
      return this.#link(
        `attach ${this.name} to cgroup ${cgroupPath}`,
        () => libbpf().bpf_program__attach_cgroup(this.#ptr, fd),
      );
    } finally {
      libc().close(fd);
    }
  }

  #link(op: string, fn: () => Deno.PointerValue): BpfLink {
    const mark = logMark();
    const p = ptrOrThrow(op, fn(), () => logSince(mark, 5));
    const link = new BpfLink(p, this.name, this.#obj);
    this.#obj.own(link);
    return link;
  }
}

/** An attachment. Destroying it detaches the program. Closed exactly once. */
export class BpfLink implements Disposable {
  #ptr: Deno.PointerObject | null;
  readonly #obj: BpfObject;
  /** The program this link attaches. */
  readonly program: string;

  /** @internal made by {@link BpfProgram} attach methods. */
  constructor(ptr: Deno.PointerObject, program: string, obj: BpfObject) {
    this.#ptr = ptr;
    this.program = program;
    this.#obj = obj;
  }

  /** True until {@link close}. */
  get open(): boolean {
    return this.#ptr !== null;
  }

  /** The link fd. */
  get fd(): number {
    if (!this.#ptr) throw new BpfError(`use of closed link of ${this.program}`, 9);
    return unwrap(`fd of link ${this.program}`, libbpf().bpf_link__fd(this.#ptr));
  }

  /** Pin the link in a bpffs at `path`. */
  pin(path: string): void {
    if (!this.#ptr) throw new BpfError(`pin closed link of ${this.program}`, 9);
    unwrap(`pin link ${this.program} at ${path}`, libbpf().bpf_link__pin(this.#ptr, cstr(path)));
  }

  /**
   * Run an iterator link once and return everything it wrote (`bpf_seq_write`/`printf`).
   * The iterator walks the network namespace of the calling thread at this moment.
   */
  readIter(chunk = 1 << 16): Uint8Array {
    const fd = unwrap(`create iterator ${this.program}`, libbpf().bpf_iter_create(this.fd));
    return readAllFd(fd, `read iterator ${this.program}`, chunk);
  }

  /**
   * {@link readIter} into a caller-kept buffer, for readers that run every period: no
   * allocation once the buffer has grown to fit. Returns a view of the bytes read, over `buf` or
   * over a larger buffer that replaces it (keep the view's `.buffer` for the next read).
   */
  readIterInto(buf: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> {
    const fd = unwrap(`create iterator ${this.program}`, libbpf().bpf_iter_create(this.fd));
    return readFdInto(fd, `read iterator ${this.program}`, buf);
  }

  /**
   * {@link readIter} a buffer at a time, for readers that decode records as they come: memory
   * stays `buf` however much the iterator writes. `onChunk` gets, after each read(2), the whole
   * records of `unit` bytes read so far (a record split across two reads is put back together
   * first), as a view over `buf` valid during the call.
   *
   * @returns the bytes the iterator wrote
   */
  readIterChunks(
    buf: Uint8Array<ArrayBuffer>,
    unit: number,
    onChunk: (records: Uint8Array<ArrayBuffer>) => void,
  ): number {
    const fd = unwrap(`create iterator ${this.program}`, libbpf().bpf_iter_create(this.fd));
    return readFdChunks(fd, `read iterator ${this.program}`, buf, unit, onChunk);
  }

  /** Detach and free. Safe to call twice. */
  close(): void {
    if (!this.#ptr) return;
    const p = this.#ptr;
    this.#ptr = null;
    this.#obj.disown(this);
    libbpf().bpf_link__destroy(p);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** Read a raw fd to EOF, then close it. One scratch buffer is reused; only data is kept. */
export function readAllFd(fd: number, op: string, chunk = 1 << 16): Uint8Array {
  const buf = scratch.length >= chunk ? scratch : (scratch = new Uint8Array(chunk));
  const parts: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const n = Number(libc().read(fd, buf, BigInt(buf.length)));
      if (n < 0) {
        const e = lastErrno();
        if (e === 4 || e === 11) continue; // EINTR, EAGAIN: the seq file retries
        throw new BpfError(op, e);
      }
      if (n === 0) break;
      parts.push(buf.slice(0, n)); // a seq_file read returns at most a few pages
      total += n;
    }
  } finally {
    libc().close(fd);
  }
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

let scratch = new Uint8Array(0);

/** Room left below which {@link readFdInto} grows its buffer (a seq_file read fills what it gets). */
const MIN_ROOM = 1 << 16;

/** One read(2) of `fd` into `room`: the bytes read, 0 at EOF (EINTR and EAGAIN are retried). */
function readSome(fd: number, op: string, room: Uint8Array<ArrayBuffer>): number {
  for (;;) {
    const n = Number(libc().read(fd, room, BigInt(room.length)));
    if (n >= 0) return n;
    const e = lastErrno();
    if (e !== 4 && e !== 11) throw new BpfError(op, e); // EINTR, EAGAIN: the seq file retries
  }
}

/** Read a raw fd to EOF into `buf` (doubled while short of room), then close it. */
export function readFdInto(
  fd: number,
  op: string,
  buf: Uint8Array<ArrayBuffer>,
): Uint8Array<ArrayBuffer> {
  let len = 0;
  try {
    for (;;) {
      if (buf.length - len < MIN_ROOM) {
        const bigger = new Uint8Array(Math.max(2 * buf.length, len + 2 * MIN_ROOM));
        bigger.set(buf.subarray(0, len));
        buf = bigger;
      }
      const n = readSome(fd, op, buf.subarray(len));
      if (n === 0) break;
      len += n;
    }
  } finally {
    libc().close(fd);
  }
  return buf.subarray(0, len);
}

/**
 * Read a raw fd to EOF through `buf`, then close it: after each read(2), `onChunk` gets the
 * whole units of `unit` bytes in `buf` and the part of a unit after them is moved to its start.
 * A seq_file read fills at most the room it is given (a bpf iterator's seq buffer is 32 KiB), so a
 * buffer of 64 KiB takes each read whole. Bytes after the last whole unit at EOF are left out.
 *
 * @returns the bytes read
 */
export function readFdChunks(
  fd: number,
  op: string,
  buf: Uint8Array<ArrayBuffer>,
  unit: number,
  onChunk: (units: Uint8Array<ArrayBuffer>) => void,
): number {
  let held = 0, total = 0;
  try {
    if (buf.length < 2 * unit) {
      const detail = `a buffer of ${buf.length} bytes for units of ${unit}: give it two units`;
      throw new BpfError(op, 22, detail);
    }
    for (;;) {
      const n = readSome(fd, op, buf.subarray(held));
      if (n === 0) break;
      total += n;
      const len = held + n, whole = len - len % unit;
      if (whole) onChunk(buf.subarray(0, whole));
      held = len - whole;
      if (held) buf.copyWithin(0, whole, len);
    }
  } finally {
    libc().close(fd);
  }
  return total;
}
