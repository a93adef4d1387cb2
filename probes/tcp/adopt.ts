/**
 * Adopting sockets the kernel side did not see being created (they existed before the probe,
 * or before their process was watched): owners are found through /proc socket inodes.
 *
 * @module
 */

import { KIND, OWNER, type Snap } from "./layout.ts";
import type { TcpKernel } from "./kernel.ts";
import { findSocketOwners } from "./owners.ts";

/** What one adoption pass did. */
export interface Adopted {
  connections: number;
  listeners: number;
}

/**
 * Give untracked connections and unknown listeners of watched processes an owner in the kernel
 * maps. A connection whose local port is a listening port of its namespace is a server one.
 */
export function adoptSockets(
  kernel: TcpKernel,
  snaps: readonly Snap[],
  pids: ReadonlySet<number>,
): Adopted {
  const listening = new Set<string>();
  const wanted = new Set<number>();
  for (const s of snaps) {
    if (s.kind === KIND.LISTENER) {
      listening.add(`${s.netns}:${s.sport}`);
      if (s.ino && !kernel.hasListener(s.netns, s.sport)) wanted.add(s.ino);
    } else if (s.kind === KIND.UNTRACKED && s.ino) {
      wanted.add(s.ino);
    }
  }
  const done: Adopted = { connections: 0, listeners: 0 };
  if (!wanted.size) return done;
  const owners = findSocketOwners(pids, wanted);
  for (const s of snaps) {
    const o = owners.get(s.ino);
    if (!o) continue;
    if (s.kind === KIND.LISTENER) {
      kernel.addListener(s.netns, s.sport, o.pid, o.comm);
      done.listeners++;
    } else if (s.kind === KIND.UNTRACKED) {
      const role = listening.has(`${s.netns}:${s.sport}`) ? 2 : 1;
      if (kernel.adoptSocket(s.sk, o.pid, o.comm, role, OWNER.PROC)) done.connections++;
    }
  }
  return done;
}
