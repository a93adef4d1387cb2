/**
 * Adopting sockets the kernel side did not see being created (they existed before the probe,
 * or before their process was watched): owners are found through /proc socket inodes.
 *
 * @module
 */

import { KIND, OWNER, TcpSnap } from "./layout.ts";
import type { TcpKernel } from "./kernel.ts";
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
 * processes) an owner in the kernel maps. A connection whose local port is a listening port of
 * its namespace is a server one. Reads only the few fields it needs from the iterator's bytes.
 */
export function adoptSockets(
  kernel: TcpKernel,
  buffers: readonly Uint8Array[],
  pids: ReadonlySet<number>,
): Adopted {
  const done: Adopted = { connections: 0, listeners: 0 };
  if (!pids.size) return done;
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
  if (!wanted.size) return done;
  const owners = findSocketOwners(pids, new Set(wanted.keys()));
  for (const [ino, o] of owners) {
    const c = wanted.get(ino)!;
    if (c.kind === KIND.LISTENER) {
      kernel.addListener(c.netns, c.sport, o.pid, o.comm);
      done.listeners++;
    } else {
      const role = listening.has(`${c.netns}:${c.sport}`) ? 2 : 1;
      if (kernel.adoptSocket(c.sk, o.pid, o.comm, role, OWNER.PROC)) done.connections++;
    }
  }
  return done;
}
