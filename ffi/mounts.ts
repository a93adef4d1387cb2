/**
 * The pseudo filesystems BPF work needs: tracefs (classic tracepoints) and a bpffs (pinning).
 *
 * @module
 */

import { BpfError } from "./errors.ts";

async function mounted(path: string, fstype: string): Promise<boolean> {
  const text = await Deno.readTextFile("/proc/self/mounts");
  return text.split("\n").some((l) => {
    const f = l.split(" ");
    return f[1] === path && f[2] === fstype;
  });
}

async function mount(fstype: string, path: string, fix: string): Promise<void> {
  await Deno.mkdir(path, { recursive: true }).catch(() => {});
  const out = await new Deno.Command("mount", { args: ["-t", fstype, "nodev", path] }).output()
    .catch((e) => ({ success: false, stderr: new TextEncoder().encode(String(e)) }));
  if (!out.success) {
    throw new BpfError(
      `mount ${fstype} at ${path}`,
      1,
      `${new TextDecoder().decode(out.stderr).trim()}; run \`${fix}\` as root`,
    );
  }
}

/**
 * Make sure tracefs is mounted at /sys/kernel/tracing (mounting it when missing).
 *
 * @returns true when this call mounted it
 * @throws {BpfError} with the command to run when mounting fails
 */
export async function ensureTracefs(path = "/sys/kernel/tracing"): Promise<boolean> {
  try {
    await Deno.stat(`${path}/events`);
    return false;
  } catch { /* not there: mount it */ }
  if (await mounted(path, "tracefs")) return false;
  await mount("tracefs", path, `mount -t tracefs nodev ${path}`);
  return true;
}

/**
 * Make sure a bpffs is mounted at `path` (demarc pins under its own mount, since
 * `ip netns exec` remounts /sys in the namespaces it enters).
 *
 * @returns true when this call mounted it
 */
export async function ensureBpffs(path: string): Promise<boolean> {
  if (await mounted(path, "bpf")) return false;
  await mount("bpf", path, `mount -t bpf nodev ${path}`);
  return true;
}
