/**
 * What the runner needs to know about a target process before attaching: identity (start time,
 * so a recycled pid is never mistaken for an attached JVM), credentials, namespace pid, and
 * whether it is a HotSpot JVM at all.
 *
 * @module
 */

/** A target process as seen from the host. */
export interface TargetInfo {
  pid: number;
  comm: string;
  /** Start time in clock ticks since boot (/proc/<pid>/stat field 22): identity across pid reuse. */
  startTicks: number;
  uid: number;
  gid: number;
  /** The pid inside the process's innermost pid namespace (last NSpid entry). */
  nspid: number;
  /** True when libjvm.so is mapped (a HotSpot JVM); undefined when the maps are unreadable. */
  isJvm: boolean | undefined;
  /** The process sees the runner's own mount namespace (its /tmp is the runner's). */
  sameMountNamespace: boolean;
}

/** The process cannot be attached to; `message` says why and what to do. */
export class TargetError extends Error {
  override name = "TargetError";
  constructor(readonly pid: number, message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/**
 * Read a target's identity and credentials from `/proc`.
 *
 * @param pid the process id on the host
 * @param procRoot `/proc` (overridable for tests of other roots)
 * @returns what is known about the process
 * @throws {TargetError} when the process does not exist (any more)
 */
export async function inspectTarget(pid: number, procRoot = "/proc"): Promise<TargetInfo> {
  let stat: string, status: string;
  try {
    [stat, status] = await Promise.all([
      Deno.readTextFile(`${procRoot}/${pid}/stat`),
      Deno.readTextFile(`${procRoot}/${pid}/status`),
    ]);
  } catch (e) {
    throw new TargetError(pid, `pid ${pid} does not exist (it exited or never ran)`, { cause: e });
  }
  const close = stat.lastIndexOf(")");
  const comm = stat.slice(stat.indexOf("(") + 1, close);
  const startTicks = Number(stat.slice(close + 2).split(" ")[19]);
  const field = (name: string) => status.match(new RegExp(`^${name}:\\s*(.*)$`, "m"))?.[1] ?? "";
  const uid = Number(field("Uid").split(/\s+/)[1] ?? 0); // effective uid
  const gid = Number(field("Gid").split(/\s+/)[1] ?? 0);
  const nspids = field("NSpid").split(/\s+/).filter(Boolean).map(Number);
  const nspid = nspids.length ? nspids[nspids.length - 1] : pid;
  let isJvm: boolean | undefined;
  try {
    const maps = await Deno.readTextFile(`${procRoot}/${pid}/maps`);
    isJvm = /\/libjvm\.so$/m.test(maps);
  } catch {
    // maps unreadable (exited, or no permission): unknown, the attach helper decides
  }
  let sameMountNamespace = false;
  try {
    const [theirs, ours] = await Promise.all([
      Deno.readLink(`${procRoot}/${pid}/ns/mnt`),
      Deno.readLink(`${procRoot}/self/ns/mnt`),
    ]);
    sameMountNamespace = theirs === ours;
  } catch {
    // unreadable: reached through /proc/<pid>/root, which works either way while it runs
  }
  return { pid, comm, startTicks, uid, gid, nspid, isJvm, sameMountNamespace };
}

/**
 * Is `pid` still the same process as `info` (alive, same start time)?
 *
 * @param info an earlier {@link inspectTarget} result
 */
export async function sameProcess(
  info: Pick<TargetInfo, "pid" | "startTicks">,
  procRoot = "/proc",
): Promise<boolean> {
  try {
    const now = await inspectTarget(info.pid, procRoot);
    return now.startTicks === info.startTicks;
  } catch {
    return false;
  }
}
