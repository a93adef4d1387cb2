/**
 * Process starts, as they happen: a tiny BPF program on `sched_process_exec`
 * (`runner/exec_watch.bpf.c`) writes the tgid of each exec into a ring buffer that this module
 * reads every {@link ExecWatchOptions.pollMs}. Reading a ring buffer is a few memory loads (no
 * syscall, no /proc walk), so a short timer costs nothing measurable, while the runner's /proc
 * scan stays at 1 s. Tgids arriving close together are handed over in one batch after
 * {@link ExecWatchOptions.debounceMs}, so a burst of execs (a shell script) costs one match.
 *
 * Used for every probe with snoopers; where BPF is unavailable (no CAP_BPF, no BTF, no libbpf)
 * {@link openExecWatch} says why and the runner keeps the 1 s scan alone.
 *
 * @module
 */

import type { Logger } from "./probe_api.ts";
import type { BpfObject } from "../ffi/libbpf.ts";

export interface ExecWatchOptions {
  /** `build/bpf/exec_watch.bpf.o`. */
  objectPath: string;
  /** Called with the tgids that exec'd since the last call (deduplicated). */
  onExec: (tgids: number[]) => void;
  log: Logger;
  /** How often the ring buffer is read (100 ms, as the TCP probe reads its own). */
  pollMs?: number;
  /** How long to gather tgids before handing them over. */
  debounceMs?: number;
}

/** A running exec watch. */
export interface ExecWatch {
  /** Execs seen since start. */
  readonly execs: number;
  close(): void;
}

/** Why the exec watch is not running, for status and the log. */
export class ExecWatchUnavailable extends Error {
  override name = "ExecWatchUnavailable";
}

/**
 * Load and attach the exec watcher.
 *
 * @throws {ExecWatchUnavailable} with the reason (missing object, libbpf, permission, BTF) and the
 *   original error as `cause`.
 */
export async function openExecWatch(o: ExecWatchOptions): Promise<ExecWatch> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(o.objectPath);
  } catch (e) {
    throw new ExecWatchUnavailable(
      `cannot read ${o.objectPath}: ${(e as Error).message} (hint: run \`deno task build\`)`,
      { cause: e },
    );
  }
  // Imported here, not at the top: a runner without libbpf (or without probes using snoopers)
  // never loads the FFI bindings.
  let ffi: typeof import("../ffi/libbpf.ts");
  let obj: BpfObject | undefined;
  try {
    ffi = await import("../ffi/libbpf.ts");
    obj = ffi.BpfObject.openMem(bytes, "exec_watch");
    obj.load();
    obj.program("on_exec").attach();
  } catch (e) {
    obj?.close();
    throw new ExecWatchUnavailable(`exec watch not loaded: ${(e as Error).message}`, { cause: e });
  }
  const loaded = obj;
  const pending = new Set<number>();
  let execs = 0;
  let flushTimer: ReturnType<typeof setTimeout> | undefined;
  const flush = () => {
    flushTimer = undefined;
    const tgids = [...pending];
    pending.clear();
    try {
      o.onExec(tgids);
    } catch (e) {
      o.log.warn("exec handler failed", { error: e });
    }
  };
  const ring = new ffi.RingBuffer(loaded, loaded.map("execs"), {
    at: (bytes, offset) => {
      execs++;
      const b = bytes.subarray(offset, offset + 4); // the tgid, a u32 in the host's (LE) order
      pending.add((b[0] | b[1] << 8 | b[2] << 16 | b[3] << 24) >>> 0);
    },
  });
  const poll = setInterval(() => {
    try {
      ring.consume();
    } catch (e) {
      o.log.warn("exec watch read failed", { error: e });
    }
    if (pending.size && !flushTimer) flushTimer = setTimeout(flush, o.debounceMs ?? 20);
  }, o.pollMs ?? 100);
  let closed = false;
  return {
    get execs() {
      return execs;
    },
    close() {
      if (closed) return;
      closed = true;
      clearInterval(poll);
      clearTimeout(flushTimer);
      loaded.close();
    },
  };
}
