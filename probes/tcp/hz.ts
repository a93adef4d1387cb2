/**
 * The kernel's CONFIG_HZ, to turn rto/ato from jiffies into seconds.
 *
 * @module
 */

/** Where HZ came from, for status. */
export interface KernelHz {
  hz: number;
  source: string;
}

/** Read CONFIG_HZ from /proc/config.gz or /boot/config-<release>; 250 (with a note) otherwise. */
export async function kernelHz(): Promise<KernelHz> {
  const fromText = (t: string) => Number(/^CONFIG_HZ=(\d+)$/m.exec(t)?.[1] ?? NaN);
  try {
    // The platform's gunzip: node:zlib would load Node's compatibility layer (~1 MB of RSS).
    const gz = await Deno.open("/proc/config.gz");
    const text = await new Response(gz.readable.pipeThrough(new DecompressionStream("gzip")))
      .text();
    const hz = fromText(text);
    if (hz > 0) return { hz, source: "/proc/config.gz" };
  } catch { /* try /boot next */ }
  try {
    const file = `/boot/config-${Deno.osRelease()}`;
    const hz = fromText(await Deno.readTextFile(file));
    if (hz > 0) return { hz, source: file };
  } catch { /* fall through */ }
  return { hz: 250, source: "assumed (no kernel config found); rto/ato may be off by HZ/250" };
}
