/**
 * A BPF object file: open from memory → configure (map sizes, rodata) → load → programs/maps.
 * Closing the object destroys what hangs off it (links, ring buffers) first, exactly once.
 *
 * @module
 */

import { ptrOrThrow } from "./check.ts";
import { BpfError, unwrap } from "./errors.ts";
import { cstr, withSignalsBlocked } from "./libc.ts";
import { installLibbpfLog, logMark, logSince } from "./log.ts";
import { BpfMap } from "./map.ts";
import { BpfProgram } from "./program.ts";
import { libbpf } from "./symbols.ts";

/** Something owned by an object that must be released before the object itself. */
export interface Owned {
  close(): void;
}

/**
 * An opened (and later loaded) BPF object.
 *
 * @example
 * ```ts
 * using obj = BpfObject.openMem(await Deno.readFile("build/bpf/tcp.bpf.o"), "tcp");
 * obj.map("conns").setMaxEntries(65536);
 * obj.load();
 * obj.program("on_state").attach();
 * ```
 */
export class BpfObject implements Disposable {
  #ptr: Deno.PointerObject | null;
  #owned = new Set<Owned>();
  #loaded = false;
  /** Name given at open (used in messages). */
  readonly name: string;
  // libbpf keeps pointers to the ELF bytes and the name until close; keep them reachable.
  #keepAlive: Uint8Array[];

  /** Bytes held for libbpf while open (the ELF image and name). */
  get heldBytes(): number {
    return this.#keepAlive.reduce((n, b) => n + b.byteLength, 0);
  }

  private constructor(
    ptr: Deno.PointerObject,
    name: string,
    bytes: Uint8Array,
    nameBuf: Uint8Array,
  ) {
    this.#ptr = ptr;
    this.name = name;
    this.#keepAlive = [bytes, nameBuf];
  }

  /**
   * Open an object from ELF bytes.
   *
   * @throws {BpfError} when the bytes are not a BPF ELF or BTF is missing.
   */
  static openMem(bytes: Uint8Array, name: string): BpfObject {
    installLibbpfLog();
    const copy = new Uint8Array(bytes);
    const nameBuf = cstr(name);
    // struct bpf_object_open_opts { size_t sz; const char *object_name; } (older, smaller sz is valid)
    const opts = new BigUint64Array(2);
    opts[0] = 16n;
    opts[1] = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(nameBuf)));
    const mark = logMark();
    const p = libbpf().bpf_object__open_mem(copy, BigInt(copy.byteLength), opts);
    const ptr = ptrOrThrow(`open BPF object ${name}`, p, () => logSince(mark));
    return new BpfObject(ptr, name, copy, nameBuf);
  }

  /** Read a file and {@link openMem} it. */
  static async openFile(path: string, name = path.replace(/^.*\//, "")): Promise<BpfObject> {
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(path);
    } catch (e) {
      throw new BpfError(`read ${path}`, 2, "run `deno task build --bpf-only` first", { cause: e });
    }
    return BpfObject.openMem(bytes, name);
  }

  /** The raw `struct bpf_object *`; throws once closed. */
  get ptr(): Deno.PointerObject {
    if (!this.#ptr) throw new BpfError(`use of closed BPF object ${this.name}`, 9);
    return this.#ptr;
  }

  /** True once {@link load} succeeded. */
  get loaded(): boolean {
    return this.#loaded;
  }

  /**
   * Load (verify) all programs set to autoload and create the maps.
   *
   * @throws {BpfError} with the tail of the verifier log on failure.
   */
  load(): void {
    const mark = logMark();
    // Verification gives up when a signal is pending for this thread (see withSignalsBlocked).
    const rc = withSignalsBlocked(() => libbpf().bpf_object__load(this.ptr));
    unwrap(`load BPF object ${this.name}`, rc, () => logSince(mark));
    this.#loaded = true;
  }

  /** A program by its C function name; throws ENOENT naming the programs that exist. */
  program(name: string): BpfProgram {
    const p = libbpf().bpf_object__find_program_by_name(this.ptr, cstr(name));
    if (!p) {
      const names = this.programs().map((x) => x.name).join(", ");
      throw new BpfError(`find program ${name} in ${this.name}`, 2, `programs: ${names}`);
    }
    return new BpfProgram(p, this);
  }

  /** All programs in the object. */
  programs(): BpfProgram[] {
    const out: BpfProgram[] = [];
    let p: Deno.PointerValue = null;
    while ((p = libbpf().bpf_object__next_program(this.ptr, p))) out.push(new BpfProgram(p, this));
    return out;
  }

  /** A map by name (`.rodata`, `.bss` for globals); throws ENOENT naming the maps that exist. */
  map(name: string): BpfMap {
    const p = libbpf().bpf_object__find_map_by_name(this.ptr, cstr(name));
    if (!p) {
      const names = this.maps().map((m) => m.name).join(", ");
      throw new BpfError(`find map ${name} in ${this.name}`, 2, `maps: ${names}`);
    }
    return new BpfMap(p, this);
  }

  /** All maps in the object. */
  maps(): BpfMap[] {
    const out: BpfMap[] = [];
    let p: Deno.PointerValue = null;
    while ((p = libbpf().bpf_object__next_map(this.ptr, p))) out.push(new BpfMap(p, this));
    return out;
  }

  /** Register something to release before the object closes (links, ring buffers). */
  own(x: Owned): void {
    this.#owned.add(x);
  }

  /** Forget an owned thing that was released on its own. */
  disown(x: Owned): void {
    this.#owned.delete(x);
  }

  /** Release links, ring buffers, then the object. Safe to call twice. */
  close(): void {
    if (!this.#ptr) return;
    for (const x of [...this.#owned].reverse()) {
      try {
        x.close();
      } catch { /* closing is best effort; the object below still goes */ }
    }
    this.#owned.clear();
    libbpf().bpf_object__close(this.#ptr);
    this.#ptr = null;
    this.#keepAlive = [];
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
