/** The series registry republishing rows in place, and large families rendered in pieces. */
import { assert, assertEquals } from "../helpers/assert.ts";
import { render, renderBytes, renderStream } from "../../runner/exporter.ts";
import { metaTableSchema } from "../../runner/meta.ts";
import { SeriesRegistry } from "../../runner/series.ts";

const table = metaTableSchema.parse({
  table: "t",
  entity: "e",
  description: "d",
  keys: ["k"],
  labels: ["l"],
  metrics: [
    { name: "v", type: "gauge", help: "h" },
    { name: "w", type: "counter", help: "h" },
  ],
});

Deno.test("a label object republished every period updates its series; the rows stay the probe's", () => {
  const reg = new SeriesRegistry({ hostname: "h" });
  const labels = { k: "a", l: "x" };
  const first = { labels, values: { v: 1, w: 10 } };
  reg.update("p", table, [first], 60_000, 1_000);
  const series = [...reg.table("t")][0];
  reg.update("p", table, [{ labels, values: { v: 2, w: 20 } }], 60_000, 2_000);
  const again = [...reg.table("t")];
  assertEquals(again.length, 1);
  assert(again[0] === series, "the same series object is kept");
  assertEquals(again[0].values, { v: 2, w: 20 });
  assertEquals(again[0].lastSeen, 2_000);
  assertEquals(first.values, { v: 1, w: 10 }, "the registry never writes into a row");
  // Fewer fields: the ones left out are gone, not kept from before.
  reg.update("p", table, [{ labels, values: { v: 3 } }], 60_000, 3_000);
  assertEquals([...reg.table("t")][0].values, { v: 3 });
  assertEquals(render([table], reg).includes("demarc_t_w_total"), false);
});

Deno.test("new label objects with the same or other values name their series from their values", () => {
  const reg = new SeriesRegistry({});
  reg.update("p", table, [{ labels: { k: "a", l: "x" }, values: { v: 1, w: 1 } }], 60_000);
  // Same key, another label: the same series (by key), relabelled.
  reg.update("p", table, [{ labels: { k: "a", l: 'y"' }, values: { v: 2, w: 2 } }], 60_000);
  reg.update("p", table, [{ labels: { k: "b", l: "x" }, values: { v: 3, w: 3 } }], 60_000);
  assertEquals(
    [...reg.table("t")].map((s) => [s.labelText, s.values.v]),
    [['k="a",l="y\\""', 2], ['k="b",l="x"', 3]],
  );
  // Another probe publishing the same key takes the series over.
  reg.update("q", table, [{ labels: { k: "b", l: "x" }, values: { v: 4, w: 4 } }], 60_000);
  assertEquals([...reg.table("t")].find((s) => s.labelText === 'k="b",l="x"')?.probe, "q");
});

Deno.test("a family of thousands of series renders whole, its header once", () => {
  const reg = new SeriesRegistry({ machine_id: "0123456789abcdef" });
  const rows = Array.from({ length: 3000 }, (_, i) => ({
    labels: { k: `flow-${i}`, l: "a-label-long-enough-to-fill-pieces" },
    values: { v: i, w: i * 3 },
  }));
  reg.update("p", table, rows, 60_000);
  const text = render([table], reg);
  const lines = text.split("\n").filter(Boolean);
  assertEquals(lines.filter((l) => l.startsWith("# TYPE demarc_t_v gauge")).length, 1);
  assertEquals(lines.filter((l) => l.startsWith("demarc_t_v{")).length, 3000);
  assertEquals(lines.filter((l) => l.startsWith("demarc_t_w_total{")).length, 3000);
  assert(
    text.includes(
      'demarc_t_w_total{k="flow-2999",l="a-label-long-enough-to-fill-pieces",' +
        'machine_id="0123456789abcdef"} 8997\n',
    ),
    "the last series of the second family",
  );
  assertEquals(renderBytes([table], reg, false, 1), new TextEncoder().encode(text));
});

Deno.test("the streamed scrape is the text's UTF-8 in chunks, multi-byte characters whole", async () => {
  const reg = new SeriesRegistry({});
  const rows = Array.from({ length: 2000 }, (_, i) => ({
    labels: { k: `сервис-${i}-€`, l: "x".repeat(i % 50) },
    values: { v: i / 7, w: i },
  }));
  reg.update("p", table, rows, 60_000);
  for (const om of [false, true]) {
    const chunks: Uint8Array[] = [];
    for await (const c of renderStream([table], reg, om)) chunks.push(c);
    assert(chunks.length > 4, `several chunks (${chunks.length})`);
    const dec = new TextDecoder("utf-8", { fatal: true });
    for (const c of chunks) dec.decode(c); // throws when a chunk cuts a character
    const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
    chunks.reduce((at, c) => (all.set(c, at), at + c.length), 0);
    assertEquals(all, new TextEncoder().encode(render([table], reg, om)), `openMetrics ${om}`);
  }
});
