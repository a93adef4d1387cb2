/**
 * How many sample rows per second the KV store sustains here, measured side by side in one run:
 * the store's chunked writes (many rows per KV entry) against one KV entry per row committed in
 * atomic batches of 1 and 400. Rows have a tcp_link-like shape: 7 labels, 20 values.
 *
 * With `--base <rev>`, instead: this tree's store against the store of revision `rev` (extracted
 * with git), alternated ABBA in one process, under a budget the writes never reach (the budget's
 * bookkeeping alone) and under one they exceed five times (evicting all along).
 *
 * With `--scan-mb <n>`: fill a store to a budget of n MiB, close it, and time the reopen (the scan
 * that rebuilds the index of chunks).
 *
 * Run: deno run -A --unstable-kv bench/store_bench.ts [rows] [--base <rev>] [--scan-mb <n>]
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { Store } from "../runner/store.ts";
import type { Row } from "../runner/probe_api.ts";
import { extractRevision } from "./base_revision.ts";

const args = parseArgs({
  args: Deno.args,
  options: { base: { type: "string" }, "scan-mb": { type: "string" } },
  allowPositionals: true,
});
const rows = Number(args.positionals[0] ?? 50_000);
const MiB = 1024 * 1024;

function row(i: number): Row {
  const values: Record<string, number> = {};
  for (let v = 0; v < 20; v++) values[`metric_${v}`] = i * 31 + v;
  return {
    labels: {
      tgid: 1000 + (i % 50),
      comm: "java",
      role: "client",
      client_ip: "10.0.0.1",
      server_ip: "10.0.0.2",
      server_port: 20000 + i,
      family: "ipv4",
    },
    values,
  };
}
const batch = Array.from({ length: 1000 }, (_, i) => row(i));

async function rowPerEntry(perCommit: number): Promise<number> {
  const dir = await Deno.makeTempDir({ prefix: "demarc-kvbench-" });
  const kv = await Deno.openKv(`${dir}/kv`);
  const n = perCommit === 1 ? Math.min(rows, 5000) : rows;
  const t0 = performance.now();
  let seq = 0;
  for (let i = 0; i < n; i += perCommit) {
    const op = kv.atomic();
    for (let j = 0; j < perCommit; j++) {
      op.set(["sample", "tcp_link", 1, seq++], batch[(i + j) % 1000], { expireIn: 3_600_000 });
    }
    await op.commit();
  }
  const secs = (performance.now() - t0) / 1000;
  kv.close();
  await Deno.remove(dir, { recursive: true });
  return n / secs;
}

/** What the bench needs of a store, old or new. */
interface BenchStore {
  addSamples(probe: string, table: string, rows: Row[], ts?: number): void;
  flush(): Promise<void>;
  samples(table: string, sinceMs: number, limit: number): Promise<unknown[]>;
  close(): Promise<void>;
  readonly stats: { rowsWritten: number };
}
type OpenStore = (
  path: string,
  opts: { retentionMs: number; flushIntervalMs: number; maxBytes?: number },
) => Promise<BenchStore>;

/** CPU seconds of this process, all threads (KV commits run off the JS thread). */
function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/**
 * Rows/s of `rows` written through a store (buffered, then flushed in commits of 600 KB): per
 * second of wall-clock time, and per second of the process's CPU time, which other load on a
 * shared machine disturbs less.
 */
async function chunked(open: OpenStore, maxBytes?: number): Promise<{ wall: number; cpu: number }> {
  const dir = await Deno.makeTempDir({ prefix: "demarc-kvbench-" });
  const store = await open(`${dir}/kv`, {
    retentionMs: 3_600_000,
    flushIntervalMs: 3_600_000,
    maxBytes,
  });
  const t0 = performance.now();
  const c0 = cpuSeconds();
  for (let i = 0; i < rows; i += 1000) store.addSamples("bench", "tcp_link", batch, Date.now() + i);
  await store.flush();
  const secs = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds() - c0;
  if (store.stats.rowsWritten !== rows) {
    throw new Error(`wrote ${store.stats.rowsWritten} of ${rows} rows`);
  }
  const back = await store.samples("tcp_link", 0, rows);
  if (maxBytes === undefined && back.length !== rows) {
    throw new Error(`read back ${back.length} of ${rows} rows`);
  }
  await store.close();
  await Deno.remove(dir, { recursive: true });
  return { wall: rows / secs, cpu: rows / cpu };
}

const ROUNDS = 8;
const fmt = (r: number) => Math.round(r).toLocaleString("en").padStart(10);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** This tree's store against revision `rev`'s, ABBA, 8 rounds, both with and without eviction. */
async function againstBase(rev: string): Promise<void> {
  const dir = await extractRevision(rev, ["runner"]);
  try {
    const base = (await import(`${dir}/runner/store.ts`)).Store as { open: OpenStore };
    const oldOpen: OpenStore = (p, o) => base.open(p, o);
    const newOpen: OpenStore = (p, o) => Store.open(p, o);
    // ~450 bytes a row: `rows` rows take ~rows*450 bytes; the small budget is a fifth of that.
    const small = Math.max(1, Math.round(rows * 450 / 5 / MiB)) * MiB;
    const cases: Array<[string, OpenStore, number | undefined]> = [
      [`${rev.slice(0, 10)} (no budget)`, oldOpen, undefined],
      ["this tree, 256 MiB budget (not reached)", newOpen, undefined],
      [`this tree, ${small / MiB} MiB budget (evicting)`, newOpen, small],
    ];
    const got: Array<Array<{ wall: number; cpu: number }>> = cases.map(() => []);
    await chunked(oldOpen); // warm-up of both
    await chunked(newOpen);
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 ? [...cases.keys()].reverse() : [...cases.keys()];
      for (const c of order) got[c].push(await chunked(cases[c][1], cases[c][2]));
    }
    console.log(
      `Store writes, ${rows} rows, ${ROUNDS} rounds alternated (${navigator.hardwareConcurrency} ` +
        "cpus); ratios are this tree / base, per round, then their median:",
    );
    for (const how of ["wall", "cpu"] as const) {
      console.log(how === "wall" ? "  rows per wall-clock second:" : "  rows per CPU second:");
      cases.forEach(([what], c) => {
        const r = got[c].map((g) => g[how]);
        const ratios = r.map((x, i) => x / got[0][i][how]);
        console.log(
          `    ${what.padEnd(42)} median ${fmt(median(r))}` +
            (c ? `  ratio ${median(ratios).toFixed(2)}x (${ratios.map((x) => x.toFixed(2))})` : ""),
        );
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Fill a store to `mb` MiB, reopen it, and say how long the open (the index scan) took. */
async function reopenScan(mb: number): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "demarc-kvbench-" });
  const path = `${dir}/kv`;
  const opts = { retentionMs: 3_600_000, flushIntervalMs: 3_600_000, maxBytes: mb * MiB };
  try {
    let store = await Store.open(path, opts);
    const t0 = Date.now();
    for (let i = 0; store.stats.chunksEvicted === 0; i++) {
      store.addSamples("bench", "tcp_link", batch, t0 + i);
      if (i % 5 === 4) await store.flush();
    }
    await store.flush();
    const { bytesStored } = store.stats;
    await store.close();
    const size = (await Deno.stat(path)).size;
    const t1 = performance.now();
    store = await Store.open(path, opts);
    const openMs = performance.now() - t1;
    if (store.stats.bytesStored !== bytesStored) {
      throw new Error(`reopened with ${store.stats.bytesStored} bytes, closed with ${bytesStored}`);
    }
    await store.close();
    console.log(
      `Reopen of a full ${mb} MiB budget (${(bytesStored / MiB).toFixed(1)} MiB of samples, file ` +
        `${(size / MiB).toFixed(1)} MiB): open ${Math.round(openMs)} ms, of it the index scan ` +
        `${Math.round(store.stats.openScanMs)} ms`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (args.values.base) {
  await againstBase(args.values.base);
} else if (args.values["scan-mb"]) {
  await reopenScan(Number(args.values["scan-mb"]));
} else {
  const results: Array<[string, number]> = [
    ["one entry per row, 1 per commit", await rowPerEntry(1)],
    ["one entry per row, 400 per commit", await rowPerEntry(400)],
    ["store: chunked rows (what demarc does)", (await chunked((p, o) => Store.open(p, o))).wall],
  ];
  const base = results[1][1];
  console.log(`KV sample writes, ${rows} rows (${navigator.hardwareConcurrency} cpus):`);
  for (const [what, r] of results) {
    console.log(
      `  ${what.padEnd(40)} ${fmt(r)} rows/s  (${(r / base).toFixed(2)}x of 400 per commit)`,
    );
  }
}
