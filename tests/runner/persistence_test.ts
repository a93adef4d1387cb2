/**
 * What survives a restart: configs (the probe that was running runs again), and the store's
 * knowledge of the samples on disk, rebuilt from the KV file so the byte budget holds across runs.
 */
import { assert, assertEquals, assertIncludes } from "../helpers/assert.ts";
import { parseMetrics, startDemarc, waitFor } from "../helpers/demarc.ts";
import { Store } from "../../runner/store.ts";
import { kbRows, samplesOnDisk } from "./kv_file.ts";

const MiB = 1024 * 1024;
const ROOT = new URL("../..", import.meta.url).pathname;

Deno.test("after a restart every probe that was running runs again with the same config", async () => {
  let d = await startDemarc();
  try {
    const doc = { cmd: { probe: ["mem", "host"] }, state: "running", params: { report_period: 5 } };
    assertEquals((await d.put("/baseinfo", doc)).status, 200);
    const before = await d.get<Record<string, unknown>>("/baseinfo");
    assertEquals(await d.stop(), 0, "SIGTERM gives a clean exit");
    d = await d.restart();
    const after = await d.get<{ status: { phase: string } } & Record<string, unknown>>("/baseinfo");
    const { status: _s1, ...cfgBefore } = before;
    const { status, ...cfgAfter } = after;
    assertEquals(cfgAfter, cfgBefore);
    assertEquals(status.phase, "running");
    await waitFor(
      async () =>
        parseMetrics(await d.scrape()).some((m) => m.name === "demarc_host_mem_total_bytes"),
      10_000,
      "host_mem series after restart",
    );
  } finally {
    await d.stop();
    await Deno.remove(d.stateDir, { recursive: true });
  }
});

/** `calls` chunks of 50 rows of ~1 KB at ts t0+i, numbered from `from`. */
async function writeChunks(store: Store, t0: number, from: number, calls: number) {
  for (let i = 0; i < calls; i++) {
    store.addSamples("p", "t", kbRows(from + i * 50, 50), t0 + from / 50 + i);
    if (i % 4 === 3) await store.flush();
  }
  await store.flush();
}

const firstKept = async (store: Store) => (await store.samples("t", 0, 1))[0].values.v as number;

Deno.test("reopened, the store knows the samples on disk: their bytes, and which are oldest", async () => {
  const dir = await Deno.makeTempDir({ prefix: "demarc-store-" });
  const path = `${dir}/kv`;
  const opts = { retentionMs: 3_600_000, flushIntervalMs: 60_000, maxBytes: 2 * MiB };
  const t0 = Date.now();
  let store = await Store.open(path, opts);
  try {
    await writeChunks(store, t0, 0, 100); // 5,000 rows, over twice the budget
    const bytes = store.stats.bytesStored;
    const oldest = await firstKept(store);
    assert(oldest > 0, "some were evicted");
    await store.close();

    store = await Store.open(path, opts);
    assertEquals(store.stats.bytesStored, bytes, "the same byte total as before closing");
    assertEquals(store.stats.chunksEvicted, 0);
    assert(store.stats.openScanMs >= 0);
    // 10 chunks more: exactly the 10 oldest of before go, and the new ones do not overwrite any.
    await writeChunks(store, t0, 5000, 10);
    assertEquals(store.stats.chunksEvicted, 10);
    assertEquals(store.stats.rowsEvicted, 500);
    assertEquals(await firstKept(store), oldest + 500);
    const kept = await store.samples("t", 0, 100_000);
    assertEquals(kept.at(-1)?.values.v, 5499);
    assertEquals(kept.length, 5500 - oldest - 500, "nothing lost but the evicted");
    assert(samplesOnDisk(path).bytes <= store.stats.bytesStored);
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("reopened with a smaller budget or a shorter retention, the store deletes the excess at once", async () => {
  const dir = await Deno.makeTempDir({ prefix: "demarc-store-" });
  const path = `${dir}/kv`;
  const now = Date.now();
  let store = await Store.open(path, {
    retentionMs: 3_600_000,
    flushIntervalMs: 60_000,
    maxBytes: 2 * MiB,
  });
  try {
    await writeChunks(store, now - 600_000, 0, 10); // rows 0-499, 10 minutes old
    await writeChunks(store, now, 500, 25); // rows 500-1749, ~1.3 MB
    assertEquals(store.stats.chunksEvicted, 0);
    await store.close();
    // A chunk written before chunks carried their row count (`n`), older than the recent ones.
    const kv = await Deno.openKv(path);
    await kv.set(["sample", "t", now + 5, 1e6], {
      probe: "p",
      ts: now + 5,
      rows: JSON.stringify(kbRows(5000, 3)),
    });
    kv.close();

    store = await Store.open(path, {
      retentionMs: 300_000,
      flushIntervalMs: 60_000,
      maxBytes: MiB,
    });
    assert(store.stats.bytesStored <= MiB, `${store.stats.bytesStored} bytes after open`);
    const kept = await store.samples("t", 0, 100_000);
    assertEquals(samplesOnDisk(path).entries, kept.length / 50, "expired and evicted are gone");
    assertEquals(kept.at(-1)?.values.v, 1749);
    // The expired chunks do not count as evicted; the old-format one (3 rows, counted by parsing
    // it) and the oldest recent ones do.
    const first = kept[0].values.v as number;
    assert(first > 500, "some recent chunks went for the budget");
    assertEquals(store.stats.rowsEvicted, 3 + first - 500);
    assertEquals(store.stats.chunksEvicted, 1 + (first - 500) / 50);
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("demarc run exports the store budget and refuses a --store-max-mb that is not a size", async () => {
  const d = await startDemarc({ extraArgs: ["--store-max-mb", "1.5"] });
  try {
    const metrics = parseMetrics(await d.scrape());
    const value = (name: string) => metrics.find((m) => m.name === name)?.value;
    assertEquals(value("demarc_runner_store_limit_bytes"), 1.5 * MiB);
    assert(value("demarc_runner_store_bytes") !== undefined, "stored bytes exported");
    assertEquals(value("demarc_runner_store_rows_evicted_total"), 0);
    assertEquals(value("demarc_runner_store_chunks_evicted_total"), 0);
  } finally {
    await d.stop();
    await Deno.remove(d.stateDir, { recursive: true });
  }
  for (const bad of ["lots", "0", "-5", ""]) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--unstable-kv", `${ROOT}main.ts`, "run", `--store-max-mb=${bad}`],
      stdout: "null",
      stderr: "piped",
    }).output();
    assertEquals(out.code, 2, `--store-max-mb '${bad}' is a usage error`);
    assertIncludes(
      new TextDecoder().decode(out.stderr),
      `option '--store-max-mb <MiB>' argument '${bad}' is invalid: must be a number of megabytes ` +
        "(MiB) greater than 0",
    );
  }
});
