/**
 * How many sample rows per second the KV store sustains here, by batch size, measured side by side
 * in one run (rows of a tcp_link-like shape: 7 labels, 20 values).
 *
 * Run: deno run -A --unstable-kv bench/store_bench.ts [rows]
 */
import { Store } from "../runner/store.ts";

const rows = Number(Deno.args[0] ?? 50_000);

function row(i: number) {
  const values: Record<string, number> = {};
  for (let v = 0; v < 20; v++) values[`metric_${v}`] = i * 31 + v;
  return {
    labels: { tgid: 1000 + (i % 50), comm: "java", role: "client", client_ip: "10.0.0.1", server_ip: "10.0.0.2", server_port: 20880, family: "ipv4" },
    values,
  };
}

async function measure(batchRows: number): Promise<number> {
  const dir = await Deno.makeTempDir({ prefix: "demarc-kvbench-" });
  const store = await Store.open(`${dir}/kv`, { retentionMs: 3_600_000, batchRows, flushIntervalMs: 3_600_000 });
  const batch = Array.from({ length: 1000 }, (_, i) => row(i));
  const t0 = performance.now();
  for (let i = 0; i < rows; i += 1000) store.addSamples("bench", "tcp_link", batch);
  await store.flush();
  const secs = (performance.now() - t0) / 1000;
  if (store.stats.rowsWritten !== rows) throw new Error(`wrote ${store.stats.rowsWritten} of ${rows} rows`);
  await store.close();
  await Deno.remove(dir, { recursive: true });
  return rows / secs;
}

const results: Array<[number, number]> = [];
for (const b of [1, 50, 400]) results.push([b, await measure(b)]);
const base = results[0][1];
console.log(`KV sample writes, ${rows} rows per run (${Deno.build.os}, ${navigator.hardwareConcurrency} cpus):`);
for (const [b, r] of results) {
  console.log(`  batch ${String(b).padStart(3)} rows/commit: ${Math.round(r).toLocaleString("en")} rows/s  (${(r / base).toFixed(1)}x batch 1)`);
}
