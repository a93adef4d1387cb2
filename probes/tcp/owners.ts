/**
 * Owners of sockets that existed before the probe saw them: `/proc/<pid>/fd/*` links read
 * `socket:[<inode>]`, so a socket inode leads to the process holding it.
 *
 * @module
 */

/** A process holding a socket. */
export interface SocketOwner {
  pid: number;
  comm: string;
}

/**
 * Find which of `pids` hold the socket inodes in `wanted`.
 *
 * @returns inode → owner for the inodes found (the first holder wins)
 */
export function findSocketOwners(
  pids: Iterable<number>,
  wanted: ReadonlySet<number>,
): Map<number, SocketOwner> {
  const out = new Map<number, SocketOwner>();
  if (!wanted.size) return out;
  for (const pid of pids) {
    let entries: Iterable<Deno.DirEntry>;
    try {
      entries = Deno.readDirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // exited, or a kernel thread
    }
    let comm: string | undefined;
    for (const e of entries) {
      let link: string;
      try {
        link = Deno.readLinkSync(`/proc/${pid}/fd/${e.name}`);
      } catch {
        continue;
      }
      if (!link.startsWith("socket:[")) continue;
      const ino = Number(link.slice(8, -1));
      if (!wanted.has(ino) || out.has(ino)) continue;
      comm ??= readComm(pid);
      out.set(ino, { pid, comm });
    }
    if (out.size === wanted.size) break;
  }
  return out;
}

/** /proc/<pid>/comm, or "" when the process is gone. */
export function readComm(pid: number): string {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/comm`).trim();
  } catch {
    return "";
  }
}
