/**
 * Adopting sockets the kernel side did not see being created (they existed before the probe,
 * or before their process was watched): the sockets of each namespace come from
 * /proc/<pid>/net/tcp, their owners from /proc socket inodes.
 *
 * @module
 */

import { OWNER } from "./layout.ts";
import type { AdoptRequest, TcpKernel } from "./kernel.ts";
import { netnsInode, type NetnsSet } from "../../ffi/libbpf.ts";
import { findSocketOwners } from "./owners.ts";
import { type ProcSocket, readProcNetTcp, TCP_STATE } from "./proc_net.ts";

/** What one adoption pass did. */
export interface Adopted {
  connections: number;
  listeners: number;
}

/** States of a connection the kernel side can adopt (tcp.bpf.c adopt_socket refuses the rest). */
const ADOPTABLE = new Set<number>([
  TCP_STATE.ESTABLISHED,
  TCP_STATE.SYN_RECV,
  TCP_STATE.FIN_WAIT1,
  TCP_STATE.FIN_WAIT2,
  TCP_STATE.CLOSE_WAIT,
  TCP_STATE.LAST_ACK,
  TCP_STATE.CLOSING,
]);

/**
 * The TCP sockets of each network namespace of `pids` (inode → sockets), each namespace read
 * once, through the first of its processes still alive.
 */
export function listNamespaces(pids: Iterable<number>): Map<number, ProcSocket[]> {
  const out = new Map<number, ProcSocket[]>();
  for (const pid of pids) {
    const ino = netnsInode(pid);
    if (ino === undefined || out.has(ino)) continue;
    const sockets = readProcNetTcp(pid);
    if (sockets) out.set(ino, sockets);
  }
  return out;
}

/**
 * Give the untracked connections and unknown listeners held by `pids` (the newly watched
 * processes) an owner in the kernel maps: {@link planAdoption}, then the kernel's insert
 * during a walk of the namespaces in `netns` (TcpKernel.adoptSockets), which skips every
 * connection that closed in between and every one tracked already.
 */
export function adoptSockets(
  kernel: TcpKernel,
  pids: ReadonlySet<number>,
  netns: NetnsSet,
): Adopted {
  const plan = planAdoption(kernel, listNamespaces(pids), pids);
  const connections = plan.connections.length ? kernel.adoptSockets(plan.connections, netns) : 0;
  return { connections, listeners: plan.listeners };
}

/**
 * From the sockets of each namespace (`namespaces`: netns inode → /proc/<pid>/net/tcp) and the
 * /proc fd tables of `pids`: record the owners of unknown listeners in the kernel, and say which
 * connections to adopt. A connection whose local port is a listening port of its namespace is a
 * server one.
 */
export function planAdoption(
  kernel: TcpKernel,
  namespaces: ReadonlyMap<number, readonly ProcSocket[]>,
  pids: ReadonlySet<number>,
): { connections: AdoptRequest[]; listeners: number } {
  const plan = { connections: [] as AdoptRequest[], listeners: 0 };
  if (!pids.size) return plan;
  const listening = new Set<string>();
  const wanted = new Map<number, { netns: number; s: ProcSocket }>();
  for (const [netns, sockets] of namespaces) {
    for (const s of sockets) {
      if (s.state === TCP_STATE.LISTEN) {
        listening.add(`${netns}:${s.lport}`);
        if (kernel.hasListener(netns, s.lport)) continue;
      } else if (!ADOPTABLE.has(s.state)) continue;
      if (s.ino) wanted.set(s.ino, { netns, s });
    }
  }
  if (!wanted.size) return plan;
  for (const [ino, o] of findSocketOwners(pids, new Set(wanted.keys()))) {
    const { netns, s } = wanted.get(ino)!;
    if (s.state === TCP_STATE.LISTEN) {
      kernel.addListener(netns, s.lport, o.pid, o.comm);
      plan.listeners++;
    } else {
      plan.connections.push({
        netns,
        family: s.family,
        laddr: s.laddr,
        lport: s.lport,
        raddr: s.raddr,
        rport: s.rport,
        ino,
        tgid: o.pid,
        comm: o.comm,
        role: listening.has(`${netns}:${s.lport}`) ? 2 : 1,
        ownerSrc: OWNER.PROC,
      });
    }
  }
  return plan;
}
