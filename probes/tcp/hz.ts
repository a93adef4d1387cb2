/**
 * The kernel's CONFIG_HZ, to turn rto/ato from jiffies into seconds.
 *
 * @module
 */

import { gunzipSync } from "node:zlib";

/** Where HZ came from, for status. */
export interface KernelHz {
  hz: number;
  source: string;
}

/** Read CONFIG_HZ from /proc/config.gz or /boot/config-<release>; 250 (with a note) otherwise. */
export function kernelHz(): KernelHz {
  const fromText = (t: string) => Number(/^CONFIG_HZ=(\d+)$/m.exec(t)?.[1] ?? NaN);
  try {
    const hz = fromText(new TextDecoder().decode(gunzipSync(Deno.readFileSync("/proc/config.gz"))));
    if (hz > 0) return { hz, source: "/proc/config.gz" };
  } catch { /* try /boot next */ }
  try {
    const file = `/boot/config-${Deno.osRelease()}`;
    const hz = fromText(Deno.readTextFileSync(file));
    if (hz > 0) return { hz, source: file };
  } catch { /* fall through */ }
  return { hz: 250, source: "assumed (no kernel config found); rto/ato may be off by HZ/250" };
}
