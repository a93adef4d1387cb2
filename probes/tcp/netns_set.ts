/**
 * The network namespaces of the watched processes, each held open so iter/tcp can be read
 * inside it (iter/tcp only walks the namespace of the thread that creates the reader).
 *
 * @module
 */

import { inNetns, NetnsHandle, netnsInode } from "../../ffi/libbpf.ts";

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
