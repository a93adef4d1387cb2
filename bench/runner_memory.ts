/**
 * Where a process's resident memory goes, from /proc/<pid>/smaps: the Deno binary's pages, other
 * shared libraries (libbpf, libc...), BPF maps mapped into the process (ring buffers), the brk
 * heap, and anonymous mappings (V8's heap, malloc arenas, thread stacks). Used by the runner
 * benches to explain an RSS figure instead of only printing it.
 *
 * @module
 */

/** Resident kB by kind of mapping. */
export interface MemoryBreakdown {
  rssKb: number;
  /** Pages of the deno executable (shared with every other deno process; file-backed). */
  denoBinaryKb: number;
  /** Other file-backed mappings: shared libraries, fonts of ICU data, the KV file. */
  libsKb: number;
  /** `anon_inode:bpf-map` mappings (ring buffers, mmapable arrays). */
  bpfMapsKb: number;
  /** `[heap]` (brk): glibc malloc's main arena. */
  brkHeapKb: number;
  /** Anonymous mappings: V8's heap spaces, malloc's thread arenas, thread stacks. */
  anonKb: number;
  /** Anonymous + brk, the memory this process alone holds. */
  privateAnonKb: number;
}

/** Read and classify `/proc/<pid>/smaps`. */
export function memoryBreakdown(pid: number | "self"): MemoryBreakdown {
  const b: MemoryBreakdown = {
    rssKb: 0,
    denoBinaryKb: 0,
    libsKb: 0,
    bpfMapsKb: 0,
    brkHeapKb: 0,
    anonKb: 0,
    privateAnonKb: 0,
  };
  let kind: keyof MemoryBreakdown = "anonKb";
  for (const l of Deno.readTextFileSync(`/proc/${pid}/smaps`).split("\n")) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(l)) {
      const name = l.split(/\s+/).slice(5).join(" ");
      if (!name || name.startsWith("[anon") || name === "[stack]") kind = "anonKb";
      else if (name === "[heap]") kind = "brkHeapKb";
      else if (name.includes("bpf-map") || name.startsWith("anon_inode:")) kind = "bpfMapsKb";
      else if (/\/deno( \(deleted\))?$/.test(name) || /\/denort$/.test(name)) kind = "denoBinaryKb";
      else if (name.startsWith("[")) kind = "libsKb"; // [vdso], [vvar]
      else kind = "libsKb";
      continue;
    }
    const m = /^Rss:\s+(\d+) kB/.exec(l);
    if (m) {
      b[kind] += Number(m[1]);
      b.rssKb += Number(m[1]);
    }
  }
  b.privateAnonKb = b.anonKb + b.brkHeapKb;
  return b;
}

const mb = (kb: number) => (kb / 1024).toFixed(1);

/** One line: `RSS 112.8 MB = binary 30.1 + libs 6.0 + bpf maps 4.0 + brk 20.0 + anon 52.7`. */
export function formatBreakdown(b: MemoryBreakdown): string {
  return `RSS ${mb(b.rssKb)} MB = deno binary ${mb(b.denoBinaryKb)} + libs ${mb(b.libsKb)}` +
    ` + bpf maps ${mb(b.bpfMapsKb)} + brk heap ${mb(b.brkHeapKb)} + anon ${mb(b.anonKb)}`;
}

/** V8's own view, as `GET /api/v1/runner` or `Deno.memoryUsage()` give it. */
export function formatV8(m: Deno.MemoryUsage | undefined): string {
  if (!m) return "V8 heap not reported (a version without GET /api/v1/runner)";
  const f = (n: number) => (n / 2 ** 20).toFixed(1);
  return `V8 heap used ${f(m.heapUsed)} of ${f(m.heapTotal)} MB, external ${f(m.external)} MB`;
}
