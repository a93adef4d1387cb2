/**
 * Adopting sockets the kernel side did not see being created (they existed before the probe,
 * or before their process was watched): owners are found through /proc socket inodes.
 *
 * @module
 */

import { KIND, OWNER, TcpSnap } from "./layout.ts";
import type { AdoptRequest, TcpKernel } from "./kernel.ts";
import type { NetnsSet } from "../../ffi/libbpf.ts";
import { findSocketOwners } from "./owners.ts";

/** What one adoption pass did. */
export interface Adopted {
  connections: number;
  listeners: number;
}

const R = TcpSnap.read as Record<string, (v: DataView, b: number) => number | bigint>;

interface Candidate {
  kind: number;
  ino: number;
  netns: number;
  sport: number;
  sk: bigint;
}

/**
 * Give the untracked connections and unknown listeners held by `pids` (the newly watched
 * processes) an owner in the kernel maps: {@link planAdoption}, then the kernel's insert
 * during a second walk of the namespaces in `netns` (TcpKernel.adoptSockets), which skips
 * every connection that closed in between.
 */
export function adoptSockets(
  kernel: TcpKernel,
  buffers: readonly Uint8Array[],
  pids: ReadonlySet<number>,
  netns: NetnsSet,
): Adopted {
  const plan = planAdoption(kernel, buffers, pids);
  const connections = plan.connections.length ? kernel.adoptSockets(plan.connections, netns) : 0;
  return { connections, listeners: plan.listeners };
}

/**
 * From an adoption scan's records (`buffers`) and the /proc fd tables of `pids`: record the
 * owners of unknown listeners in the kernel, and say which connections to adopt. A connection
 * whose local port is a listening port of its namespace is a server one. Reads only the few
 * fields it needs from the iterator's bytes.
 */
export function planAdoption(
  kernel: TcpKernel,
  buffers: readonly Uint8Array[],
  pids: ReadonlySet<number>,
): { connections: AdoptRequest[]; listeners: number } {
  const plan = { connections: [] as AdoptRequest[], listeners: 0 };
  if (!pids.size) return plan;
  const listening = new Set<string>();
  const wanted = new Map<number, Candidate>();
  for (const bytes of buffers) {
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let off = 0; off + TcpSnap.size <= bytes.byteLength; off += TcpSnap.size) {
      const kind = R.kind(dv, off) as number;
      if (kind !== KIND.LISTENER && kind !== KIND.UNTRACKED) continue;
      const c: Candidate = {
        kind,
        ino: R.ino(dv, off) as number,
        netns: R.netns(dv, off) as number,
        sport: R.sport(dv, off) as number,
        sk: R.sk(dv, off) as bigint,
      };
      if (kind === KIND.LISTENER) {
        listening.add(`${c.netns}:${c.sport}`);
        if (kernel.hasListener(c.netns, c.sport)) continue;
      }
      if (c.ino) wanted.set(c.ino, c);
    }
  }
  if (!wanted.size) return plan;
  for (const [ino, o] of findSocketOwners(pids, new Set(wanted.keys()))) {
    const c = wanted.get(ino)!;
    if (c.kind === KIND.LISTENER) {
      kernel.addListener(c.netns, c.sport, o.pid, o.comm);
      plan.listeners++;
    } else {
      const role = listening.has(`${c.netns}:${c.sport}`) ? 2 : 1;
      plan.connections.push({
        sk: c.sk,
        ino,
        tgid: o.pid,
        comm: o.comm,
        role,
        ownerSrc: OWNER.PROC,
      });
    }
  }
  return plan;
}
