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
