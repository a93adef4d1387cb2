/**
 * The store keeps configs and samples in a real KV file; samples are chunked and read back whole,
 * and kept within their byte budget (checked against what SQLite itself holds).
 */
import { assert, assertEquals, assertRejects } from "../helpers/assert.ts";
import { Store } from "../../runner/store.ts";
import { fileSizes, kbRows, samplesOnDisk } from "./kv_file.ts";

const cfg = {
  probes: ["proc"],
  snoopers: { proc_id: [1], proc_name: [], container_id: [], pod_id: [] },
  blacklist: { proc_id: [], proc_name: [], container_id: [], pod_id: [] },
  params: { report_period: 5 },
  state: "running" as const,
};

Deno.test("samples written in chunks read back row for row, in order, honouring since and limit", async () => {
  const dir = await Deno.makeTempDir({ prefix: "demarc-store-" });
  const store = await Store.open(`${dir}/kv`, { retentionMs: 60_000, flushIntervalMs: 60_000 });
  try {
    const now = Date.now();
    // Rows of ~1 KB so 3,000 of them span many 60 KB chunks and several commits.
    const rows = Array.from(
      { length: 3000 },
      (_, i) => ({ labels: { k: i, pad: "x".repeat(1000) }, values: { v: i } }),
    );
    store.addSamples("p", "t", rows.slice(0, 1000), now - 5000);
    store.addSamples("p", "t", rows.slice(1000), now);
    store.addSamples("p", "other", [{ labels: { k: 0 }, values: { v: -1 } }], now);
    await store.flush();
    assertEquals(store.stats.rowsWritten, 3001);
    assertEquals(store.stats.rowsDropped, 0);
    const all = await store.samples("t", 0, 10_000);
    assertEquals(all.map((r) => r.values.v), rows.map((r) => r.values.v));
    const recent = await store.samples("t", now - 1000, 10_000);
    assertEquals(recent.length, 2000);
    assertEquals(recent[0].labels.k, 1000);
    assertEquals((await store.samples("t", 0, 7)).length, 7);
    const old = await store.samples("t", 0, 1);
    assertEquals(old[0].ts, now - 5000);
    assertEquals(old[0].probe, "p");
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("configs survive closing and reopening the KV file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "demarc-store-" });
  let store = await Store.open(`${dir}/kv`, { retentionMs: 60_000 });
  await store.setConfig("proc", cfg);
  await store.probeState("jvm").set(["attached", "42"], { secret: "s" });
  await store.close();
  store = await Store.open(`${dir}/kv`, { retentionMs: 60_000 });
  assertEquals(await store.getConfig("proc"), cfg);
  assertEquals(await store.probeState("jvm").list(["attached"]), [{
    key: ["attached", "42"],
    value: { secret: "s" },
  }]);
  await store.close();
  await Deno.remove(dir, { recursive: true });
});

const MiB = 1024 * 1024;

/** Write `calls` chunks of 50 rows of ~1 KB (one chunk each), flushing every 4, at ts t0+i. */
async function writeChunks(store: Store, t0: number, from: number, calls: number) {
  for (let i = 0; i < calls; i++) {
    store.addSamples("p", "t", kbRows(from + i * 50, 50), t0 + from / 50 + i);
    if (i % 4 === 3) await store.flush();
  }
  await store.flush();
}

Deno.test("writing five times the byte budget keeps the newest samples within it and the file bounded", async () => {
  const dir = await Deno.makeTempDir({ prefix: "demarc-store-" });
  const path = `${dir}/kv`;
  const budget = 2 * MiB;
  const store = await Store.open(path, {
    retentionMs: 3_600_000,
    flushIntervalMs: 60_000,
    maxBytes: budget,
  });
  try {
    const calls = 200; // 10,000 rows, ~10.5 MB
    await writeChunks(store, Date.now(), 0, calls);
    const disk = samplesOnDisk(path);
    assert(disk.bytes <= store.stats.bytesStored, `${disk.bytes} on disk, counted less`);
    assert(store.stats.bytesStored <= budget, `${store.stats.bytesStored} > budget ${budget}`);
    assert(store.stats.bytesStored > budget * 0.9, "the budget is used, not emptied");
    const sizes = await fileSizes(path);
    assert(sizes.db < 3 * budget, `file ${sizes.db} bytes for a ${budget} byte budget`);
    // The write-ahead log is checkpointed at 1,000 pages (4 MiB) whatever the budget, and reused.
    assert(sizes.wal < 6 * MiB, `write-ahead log of ${sizes.wal} bytes`);
    assertEquals(store.stats.rowsWritten, calls * 50);
    assertEquals(store.stats.commitErrors, 0);
    const kept = await store.samples("t", 0, 100_000);
    const first = kept[0].values.v as number;
    assertEquals(kept.map((r) => r.values.v), kept.map((_, i) => first + i), "a run of rows");
    assertEquals(kept.at(-1)?.values.v, calls * 50 - 1, "the newest row is kept");
    assertEquals(store.stats.rowsEvicted, first, "every row before the first kept was evicted");
    assertEquals(store.stats.chunksEvicted, calls - disk.entries);
    assertEquals(disk.entries * 50, kept.length);
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("configs and probe state survive sample writes of any size over the budget", async () => {
  const dir = await Deno.makeTempDir({ prefix: "demarc-store-" });
  const store = await Store.open(`${dir}/kv`, {
    retentionMs: 3_600_000,
    flushIntervalMs: 60_000,
    maxBytes: MiB,
  });
  try {
    await store.setConfig("proc", cfg);
    await store.probeState("jvm").set(["attached", "42"], { secret: "s" });
    await writeChunks(store, Date.now(), 0, 100); // 5x the budget
    assert(store.stats.chunksEvicted > 0);
    assertEquals(await store.getConfig("proc"), cfg);
    assertEquals(await store.probeState("jvm").get(["attached", "42"]), { secret: "s" });
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("chunks past retention are deleted by the next flush, and are not counted as evicted", async () => {
  const dir = await Deno.makeTempDir({ prefix: "demarc-store-" });
  const path = `${dir}/kv`;
  const store = await Store.open(path, { retentionMs: 1000, flushIntervalMs: 60_000 });
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  try {
    // Half a retention old when written; past it 600 ms later (KV would collect it only later).
    store.addSamples("p", "t", kbRows(0, 10), Date.now() - 500);
    await store.flush();
    assertEquals(samplesOnDisk(path).entries, 1);
    await sleep(600);
    await store.flush(); // nothing to write
    assertEquals(samplesOnDisk(path).entries, 0, "deleted by a flush with nothing to write");
    assertEquals(store.stats.bytesStored, 0);

    store.addSamples("p", "t", kbRows(10, 10), Date.now() - 500);
    await store.flush();
    await sleep(600);
    store.addSamples("p", "t", kbRows(20, 10));
    await store.flush();
    assertEquals(samplesOnDisk(path).entries, 1, "the old chunk deleted beside the new one");
    assertEquals((await store.samples("t", 0, 100)).map((r) => r.values.v)[0], 20);
    assertEquals(store.stats.chunksEvicted, 0);
    assertEquals(store.stats.rowsEvicted, 0);
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("thousands of small chunks are written and evicted within KV's 1,000 mutations a commit", async () => {
  const dir = await Deno.makeTempDir({ prefix: "demarc-store-" });
  const path = `${dir}/kv`;
  const store = await Store.open(path, {
    retentionMs: 3_600_000,
    flushIntervalMs: 60_000,
    maxBytes: MiB / 2,
  });
  try {
    const t0 = Date.now();
    // 3,000 one-row chunks of ~100 bytes in one flush: 6 commits of 500.
    for (let i = 0; i < 3000; i++) {
      store.addSamples("p", "t", [{ labels: { k: i }, values: { v: i } }], t0 + i);
    }
    await store.flush();
    assertEquals(store.stats.commitErrors, 0);
    assertEquals(store.stats.rowsWritten, 3000);
    assertEquals(store.stats.chunksEvicted, 0);
    // 450 KB of big rows: room for them takes over 1,000 of the small chunks, in a commit of
    // deletes of its own before the one that writes them.
    store.addSamples("p", "t", kbRows(3000, 430), t0 + 3000);
    await store.flush();
    assertEquals(store.stats.commitErrors, 0);
    assert(store.stats.chunksEvicted > 1000, `${store.stats.chunksEvicted} evicted`);
    assertEquals(store.stats.rowsEvicted, store.stats.chunksEvicted);
    assert(store.stats.bytesStored <= MiB / 2);
    assertEquals(samplesOnDisk(path).entries, 3000 - store.stats.chunksEvicted + 8);
    const kept = await store.samples("t", 0, 10_000);
    assertEquals(kept[0].values.v, store.stats.rowsEvicted);
    assertEquals(kept.at(-1)?.values.v, 3429);
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a budget that is not a number of bytes > 0 is refused, naming the option", async () => {
  for (const maxBytes of [0, -1, NaN, Infinity]) {
    await assertRejects(
      () => Store.open(":memory:", { retentionMs: 60_000, maxBytes }),
      Error,
      "store option maxBytes must be a number of bytes > 0",
    );
  }
});

Deno.test("a chunk larger than the whole budget is dropped and counted, not written", async () => {
  const store = await Store.open(":memory:", {
    retentionMs: 60_000,
    flushIntervalMs: 60_000,
    maxBytes: 10_000,
  });
  try {
    store.addSamples("p", "t", kbRows(0, 20));
    store.addSamples("p", "t", kbRows(20, 5));
    await store.flush();
    assertEquals(store.stats.rowsDropped, 20);
    assertEquals(store.stats.rowsWritten, 5);
    assert(store.stats.bytesStored <= 10_000);
  } finally {
    await store.close();
  }
});

Deno.test("the bytes counted are at least what SQLite holds, for ASCII and non-ASCII rows alike", async () => {
  const dir = await Deno.makeTempDir({ prefix: "demarc-store-" });
  const path = `${dir}/kv`;
  const store = await Store.open(path, { retentionMs: 60_000, flushIntervalMs: 60_000 });
  try {
    let [diskBefore, countedBefore] = [0, 0];
    // Latin-1 text may be stored one byte a character; it is counted at two (not knowable cheaply).
    for (const [comm, tight] of [["java", true], ["爪哇", true], ["jäva", false]] as const) {
      const rows = Array.from(
        { length: 300 },
        (_, i) => ({ labels: { comm, i }, values: { v: i } }),
      );
      store.addSamples("p", comm, rows);
      await store.flush();
      const disk = samplesOnDisk(path).bytes - diskBefore;
      const counted = store.stats.bytesStored - countedBefore;
      assert(disk <= counted, `${comm}: ${disk} bytes on disk, counted ${counted}`);
      if (tight) {
        assert(disk > counted * 0.95, `${comm}: ${disk} bytes on disk, counted ${counted}`);
      }
      [diskBefore, countedBefore] = [samplesOnDisk(path).bytes, store.stats.bytesStored];
    }
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});
