/**
 * How many sample rows per second the KV store sustains here, measured side by side in one run:
 * the store's chunked writes (many rows per KV entry) against one KV entry per row committed in
 * atomic batches of 1 and 400. Rows have a tcp_link-like shape: 7 labels, 20 values.
 *
 * Run: deno run -A --unstable-kv bench/store_bench.ts [rows]
 */
import { Store } from "../runner/store.ts";
import type { Row } from "../runner/probe_api.ts";

const rows = Number(Deno.args[0] ?? 50_000);

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

async function chunked(): Promise<number> {
  const dir = await Deno.makeTempDir({ prefix: "demarc-kvbench-" });
  const store = await Store.open(`${dir}/kv`, {
    retentionMs: 3_600_000,
    flushIntervalMs: 3_600_000,
  });
  const t0 = performance.now();
  for (let i = 0; i < rows; i += 1000) store.addSamples("bench", "tcp_link", batch, Date.now() + i);
  await store.flush();
  const secs = (performance.now() - t0) / 1000;
  if (store.stats.rowsWritten !== rows) {
    throw new Error(`wrote ${store.stats.rowsWritten} of ${rows} rows`);
  }
  const back = await store.samples("tcp_link", 0, rows);
  if (back.length !== rows) throw new Error(`read back ${back.length} of ${rows} rows`);
  await store.close();
  await Deno.remove(dir, { recursive: true });
  return rows / secs;
}

const results: Array<[string, number]> = [
  ["one entry per row, 1 per commit", await rowPerEntry(1)],
  ["one entry per row, 400 per commit", await rowPerEntry(400)],
  ["store: chunked rows (what demarc does)", await chunked()],
];
const base = results[1][1];
console.log(`KV sample writes, ${rows} rows (${navigator.hardwareConcurrency} cpus):`);
for (const [what, r] of results) {
  console.log(
    `  ${what.padEnd(40)} ${Math.round(r).toLocaleString("en").padStart(10)} rows/s  (${
      (r / base).toFixed(2)
    }x of 400 per commit)`,
  );
}
