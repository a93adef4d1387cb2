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

/** One part of the RSS, finer than {@link MemoryBreakdown}: what a mapping is, and its kB. */
export interface MappingPart {
  part: string;
  rssKb: number;
  /** How many mappings the part adds up. */
  mappings: number;
}

/** 256 KiB: the size of a V8 heap page, each its own anonymous mapping. */
const V8_PAGE_KB = 256;
/** glibc's thread arenas are mmapped at 64 MiB boundaries. */
const ARENA_ALIGN = 64 * 2 ** 20;

/**
 * Where each MB goes, per mapping: the deno binary by segment (its relocation table and read-only
 * data, code, relocated data, and the builtins V8 maps a second time next to its code range),
 * V8's heap pages and code range, glibc's brk heap and thread arenas, thread stacks (an
 * anonymous mapping right after its guard page), BPF maps, each shared library; the rest is
 * anonymous memory of other sizes (large V8 objects, ArrayBuffers and buffers malloc mmapped).
 * Sorted by size, largest first.
 */
export function mappingParts(pid: number | "self"): MappingPart[] {
  interface M {
    start: bigint;
    end: bigint;
    perm: string;
    offset: bigint;
    name: string;
    rssKb: number;
  }
  const maps: M[] = [];
  for (const l of Deno.readTextFileSync(`/proc/${pid}/smaps`).split("\n")) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S+) ([0-9a-f]+) \S+ \S+\s*(.*)$/.exec(l);
    if (head) {
      maps.push({
        start: BigInt(`0x${head[1]}`),
        end: BigInt(`0x${head[2]}`),
        perm: head[3],
        offset: BigInt(`0x${head[4]}`),
        name: head[5],
        rssKb: 0,
      });
      continue;
    }
    const m = /^Rss:\s+(\d+) kB/.exec(l);
    if (m && maps.length) maps[maps.length - 1].rssKb = Number(m[1]);
  }
  const isDeno = (n: string) => /\/(deno|denort)( \(deleted\))?$/.test(n);
  // The binary's own segments follow each other from where it is loaded; a mapping of the file
  // elsewhere is V8's copy of its embedded builtins (short builtin calls).
  const base = maps.find((m) => isDeno(m.name) && m.offset === 0n)?.start;
  const binarySpan = 2n ** 28n;
  const parts = new Map<string, MappingPart>();
  const add = (part: string, kb: number) => {
    const p = parts.get(part) ?? { part, rssKb: 0, mappings: 0 };
    p.rssKb += kb;
    p.mappings++;
    parts.set(part, p);
  };
  maps.forEach((m, i) => {
    const kb = Number((m.end - m.start) / 1024n);
    if (isDeno(m.name)) {
      const main = base !== undefined && m.start >= base && m.start < base + binarySpan;
      if (!main) add("deno builtins remapped by V8", m.rssKb);
      else if (m.perm.startsWith("r-x")) add("deno code", m.rssKb);
      else if (m.perm.startsWith("r--") && m.offset === 0n) add("deno relocations+rodata", m.rssKb);
      else add("deno data (relocated, .data, .bss)", m.rssKb);
    } else if (m.name === "[heap]") add("malloc brk heap", m.rssKb);
    else if (m.name === "[stack]") add("main thread stack", m.rssKb);
    else if (m.name.startsWith("anon_inode:")) add(m.name.replace("anon_inode:", ""), m.rssKb);
    else if (m.name.startsWith("/")) add(m.name.split("/").pop()!, m.rssKb);
    else if (m.name.startsWith("[")) add(m.name, m.rssKb);
    else if (m.perm === "rwxp") add("V8 code range", m.rssKb);
    else if (m.perm === "---p") return; // guard pages and reservations: never resident
    else if (kb === V8_PAGE_KB) add("V8 heap pages (256 KiB)", m.rssKb);
    else if (m.start % BigInt(ARENA_ALIGN) === 0n) add("malloc thread arenas", m.rssKb);
    else if (
      (kb === 2044 || kb === 2048 || kb === 8188 || kb === 8192) && i > 0 &&
      maps[i - 1].perm === "---p" && maps[i - 1].end === m.start &&
      maps[i - 1].end - maps[i - 1].start === 4096n
    ) {
      add("thread stacks", m.rssKb);
    } else add("other anonymous (large objects, ArrayBuffers)", m.rssKb);
  });
  return [...parts.values()].sort((a, b) => b.rssKb - a.rssKb);
}

/** The process's threads by name: `deno ×2, V8 DefaultWorker ×2, ...`. */
export function threadNames(pid: number | "self"): string {
  const names = new Map<string, number>();
  for (const t of Deno.readDirSync(`/proc/${pid}/task`)) {
    const n = Deno.readTextFileSync(`/proc/${pid}/task/${t.name}/comm`).trim();
    names.set(n, (names.get(n) ?? 0) + 1);
  }
  return [...names].map(([n, c]) => c > 1 ? `${n} ×${c}` : n).join(", ");
}

/** The parts of at least `minKb`, one line: `deno code 25.3, V8 heap pages (256 KiB) 11.5 (×46), ...`. */
export function formatParts(parts: MappingPart[], minKb = 300): string {
  const shown = parts.filter((p) => p.rssKb >= minKb);
  const rest = parts.filter((p) => p.rssKb < minKb).reduce((a, p) => a + p.rssKb, 0);
  return [
    ...shown.map((p) => `${p.part} ${mb(p.rssKb)}${p.mappings > 1 ? ` (×${p.mappings})` : ""}`),
    `the rest ${mb(rest)}`,
  ].join(", ");
}
