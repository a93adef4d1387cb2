/** The store keeps configs and samples in a real KV file; samples are chunked and read back whole. */
import { assertEquals } from "../helpers/assert.ts";
import { Store } from "../../runner/store.ts";

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
  const cfg = {
    probes: ["proc"],
    snoopers: { proc_id: [1], proc_name: [], container_id: [], pod_id: [] },
    blacklist: { proc_id: [], proc_name: [], container_id: [], pod_id: [] },
    params: { report_period: 5 },
    state: "running" as const,
  };
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
