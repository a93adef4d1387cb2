/**
 * CPU time used by a set of processes, from a cgroup of their own: what a load costs the host per
 * operation, independent of how much of the CPUs other processes took meanwhile (time they run is
 * not charged to the group). Softirq work that runs in a member's context (loopback and veth
 * receive processing, the TCP tracepoints under it) is charged to that member: this kernel does
 * not account irq time apart (CONFIG_IRQ_TIME_ACCOUNTING unset).
 *
 * Uses the cgroup v1 `cpuacct` hierarchy when mounted (ns resolution), else cgroup v2's
 * `cpu.stat` (present in every v2 group whether or not the cpu controller is enabled).
 *
 * @module
 */

interface Hierarchy {
  root: string;
  read(dir: string): number;
}

function mountsOf(type: string): { dir: string; options: string }[] {
  return Deno.readTextFileSync("/proc/mounts").split("\n").map((l) => l.split(" "))
    .filter((f) => f[2] === type).map((f) => ({ dir: f[1], options: f[3] }));
}

function hierarchy(): Hierarchy {
  const v1 = mountsOf("cgroup").find((m) => m.options.split(",").includes("cpuacct"));
  if (v1) {
    return {
      root: v1.dir,
      read: (dir) => Number(Deno.readTextFileSync(`${dir}/cpuacct.usage`).trim()),
    };
  }
  const v2 = mountsOf("cgroup2")[0];
  if (v2) {
    return {
      root: v2.dir,
      read: (dir) => {
        const line = Deno.readTextFileSync(`${dir}/cpu.stat`).split("\n")
          .find((l) => l.startsWith("usage_usec "));
        if (!line) throw new Error(`${dir}/cpu.stat has no usage_usec line`);
        return Number(line.split(" ")[1]) * 1000;
      },
    };
  }
  throw new Error(
    "no cgroup hierarchy with CPU accounting: neither a cgroup v1 cpuacct nor a cgroup2 mount " +
      "in /proc/mounts (hint: mount -t cgroup2 none /sys/fs/cgroup)",
  );
}

/** A cgroup whose members' CPU time is read as one sum. */
export class CpuGroup {
  private constructor(private readonly h: Hierarchy, readonly dir: string) {}

  /** Creates `<root>/<name>` (an empty leftover of an earlier run is reused). */
  static create(name: string): CpuGroup {
    const h = hierarchy();
    const dir = `${h.root}/${name}`;
    Deno.mkdirSync(dir, { recursive: true });
    return new CpuGroup(h, dir);
  }

  /** Moves a process (all its threads; children it starts later follow it) into the group. */
  add(pid: number): void {
    try {
      Deno.writeTextFileSync(`${this.dir}/cgroup.procs`, `${pid}\n`);
    } catch (e) {
      throw new Error(`moving pid ${pid} into ${this.dir}: ${(e as Error).message}`);
    }
  }

  /** CPU time, in ns, used by the group's members since they joined it. */
  usageNs(): number {
    return this.h.read(this.dir);
  }

  /** Moves every remaining member back to the root and removes the group. */
  remove(): void {
    for (const pid of Deno.readTextFileSync(`${this.dir}/cgroup.procs`).split("\n")) {
      if (!pid) continue;
      try {
        Deno.writeTextFileSync(`${this.h.root}/cgroup.procs`, `${pid}\n`);
      } catch { /* exited meanwhile */ }
    }
    Deno.removeSync(this.dir);
  }
}
