/**
 * Running a synchronous piece of work (e.g. creating an `iter/tcp` reader) inside another
 * network namespace. `setns` only switches the calling thread, and FFI calls run on the JS
 * thread, so the switch is invisible to the rest of the process and undone before returning.
 *
 * @module
 */

import { BpfError } from "./errors.ts";
import { CLONE_NEWNET, cstr, lastErrno, libc, O_RDONLY_CLOEXEC } from "./libc.ts";

/** An open network-namespace file (`/proc/<pid>/ns/net`, `/run/netns/<name>`). */
export class NetnsHandle implements Disposable {
  #fd: number;
  /** The path it was opened from. */
  readonly path: string;

  /**
   * @throws {BpfError} when the file cannot be opened (process gone, no permission).
   */
  constructor(path: string) {
    const fd = libc().open(cstr(path), O_RDONLY_CLOEXEC);
    if (fd < 0) throw new BpfError(`open network namespace ${path}`, lastErrno());
    this.#fd = fd;
    this.path = path;
  }

  /** The raw fd (-1 once closed). */
  get fd(): number {
    return this.#fd;
  }

  /** Close the fd. Safe to call twice. */
  close(): void {
    if (this.#fd < 0) return;
    libc().close(this.#fd);
    this.#fd = -1;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

let home: NetnsHandle | undefined;

/**
 * Run `fn` with the calling thread in the namespace `target`, then switch back.
 * `fn` must be synchronous: no await may run while the thread is elsewhere.
 *
 * @throws {BpfError} when setns fails (needs CAP_SYS_ADMIN).
 */
export function inNetns<T>(target: NetnsHandle, fn: () => T): T {
  home ??= new NetnsHandle("/proc/thread-self/ns/net");
  if (libc().setns(target.fd, CLONE_NEWNET) !== 0) {
    throw new BpfError(`enter network namespace ${target.path}`, lastErrno());
  }
  let result: T;
  try {
    result = fn();
  } catch (e) {
    restoreHome(home);
    throw e;
  }
  restoreHome(home);
  return result;
}

function restoreHome(h: NetnsHandle): void {
  if (libc().setns(h.fd, CLONE_NEWNET) !== 0) {
    // Cannot happen with the capability that let us leave; stop rather than run misplaced.
    throw new BpfError("return to the runner's network namespace", lastErrno());
  }
}

/** The network namespace inode of `pid` (or undefined when it is gone). */
export function netnsInode(pid: number | "self"): number | undefined {
  try {
    const link = Deno.readLinkSync(`/proc/${pid}/ns/net`);
    const m = /\[(\d+)\]/.exec(link);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Open handles to the distinct network namespaces of a pid set. */
export class NetnsSet {
  #handles = new Map<number, NetnsHandle>();
  readonly #self = netnsInode("self") ?? 0;

  /** Number of namespaces read each period (including the runner's own). */
  get size(): number {
    return this.#handles.size + 1;
  }

  /** Inodes of the namespaces held (plus the runner's own). */
  inodes(): number[] {
    return [this.#self, ...this.#handles.keys()];
  }

  /** Follow `pids`: open namespaces that appeared, close those no watched process uses. */
  update(pids: Iterable<number>): void {
    const seen = new Set<number>();
    for (const pid of pids) {
      const ino = netnsInode(pid);
      if (ino === undefined || ino === this.#self || seen.has(ino)) continue;
      seen.add(ino);
      if (this.#handles.has(ino)) continue;
      try {
        this.#handles.set(ino, new NetnsHandle(`/proc/${pid}/ns/net`));
      } catch {
        seen.delete(ino); // the process exited meanwhile
      }
    }
    for (const [ino, h] of this.#handles) {
      if (!seen.has(ino)) {
        h.close();
        this.#handles.delete(ino);
      }
    }
  }

  /** Run `fn` once in each namespace (synchronously), collecting the results. */
  map<T>(fn: () => T): T[] {
    const out = [fn()];
    for (const h of this.#handles.values()) out.push(inNetns(h, fn));
    return out;
  }

  /** Close every handle. Safe to call twice. */
  close(): void {
    for (const h of this.#handles.values()) h.close();
    this.#handles.clear();
  }
}
