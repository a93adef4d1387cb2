/** The Prometheus endpoint: valid for promtool, never drained by a scrape, real histograms. */
import { assert, assertEquals, assertIncludes } from "../helpers/assert.ts";
import { parseMetrics, startDemarc, waitFor } from "../helpers/demarc.ts";
import { render, renderBytes } from "../../runner/exporter.ts";
import { metaTableSchema } from "../../runner/meta.ts";
import { SeriesRegistry } from "../../runner/series.ts";

async function promtool(text: string): Promise<{ ok: boolean; out: string }> {
  const p = new Deno.Command("promtool", {
    args: ["check", "metrics"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = p.stdin.getWriter();
  await w.write(new TextEncoder().encode(text));
  await w.close();
  const o = await p.output();
  const dec = new TextDecoder();
  return { ok: o.success, out: dec.decode(o.stdout) + dec.decode(o.stderr) };
}

Deno.test("a real scrape passes promtool check metrics and two scrapes both see the series", async () => {
  const d = await startDemarc();
  try {
    assertEquals(
      (await d.put("/baseinfo", {
        cmd: { probe: ["proc", "cpu", "mem", "host"] },
        snoopers: { proc_id: [d.pid] },
        state: "running",
        params: { report_period: 5 },
      })).status,
      200,
    );
    const first = await waitFor(
      async () => {
        const t = await d.scrape();
        return t.includes("demarc_proc_rss_bytes") &&
            t.includes("demarc_host_cpu_time_seconds_total")
          ? t
          : "";
      },
      10_000,
      "proc and host series",
    );
    const check = await promtool(first);
    assert(check.ok, `promtool rejected the scrape:\n${check.out}`);
    assertIncludes(first, "# HELP demarc_proc_rss_bytes ");
    assertIncludes(first, "# TYPE demarc_proc_cpu_user_seconds_total counter");
    const second = await d.scrape();
    const names = (t: string) =>
      new Set(parseMetrics(t).map((m) => `${m.name}${JSON.stringify(m.labels)}`));
    for (const s of names(first)) assert(names(second).has(s), `second scrape lost ${s}`);
    const proc = parseMetrics(second).find((m) => m.name === "demarc_proc_rss_bytes")!;
    assertEquals(proc.labels.tgid, String(d.pid));
    assert(proc.labels.machine_id && proc.labels.hostname, "machine_id and hostname labels");
    const om = await fetch(`${d.metrics}/metrics`, {
      headers: { accept: "application/openmetrics-text; version=1.0.0" },
    });
    assertIncludes(om.headers.get("content-type")!, "application/openmetrics-text");
    const omText = await om.text();
    assert(omText.endsWith("# EOF\n"), "OpenMetrics ends with # EOF");
    assertIncludes(omText, "# TYPE demarc_proc_cpu_user_seconds counter");
  } finally {
    await d.stop();
    await Deno.remove(d.stateDir, { recursive: true });
  }
});

Deno.test("histograms render cumulative _bucket, _sum and _count that promtool accepts", async () => {
  const table = metaTableSchema.parse({
    table: "t",
    entity: "e",
    description: "d",
    keys: ["k"],
    metrics: [{
      name: "latency",
      type: "histogram",
      unit: "seconds",
      help: "h",
      buckets: [0.001, 0.01, 0.1],
    }],
  });
  const reg = new SeriesRegistry({ hostname: "h" });
  reg.update("p", table, [{
    labels: { k: 'a"b' },
    values: { latency: { counts: [1, 2, 3, 4], sum: 1.5, count: 10 } },
  }], 60_000);
  const text = render([table], reg);
  assertIncludes(text, 'demarc_t_latency_seconds_bucket{k="a\\"b",hostname="h",le="0.01"} 3\n');
  assertIncludes(text, 'demarc_t_latency_seconds_bucket{k="a\\"b",hostname="h",le="+Inf"} 10\n');
  assertIncludes(text, 'demarc_t_latency_seconds_count{k="a\\"b",hostname="h"} 10\n');
  assertIncludes(text, 'demarc_t_latency_seconds_sum{k="a\\"b",hostname="h"} 1.5\n');
  const check = await promtool(text);
  assert(check.ok, check.out);
});

Deno.test("a series not re-published for two report periods disappears", () => {
  const table = metaTableSchema.parse({
    table: "t",
    entity: "e",
    description: "d",
    keys: ["k"],
    metrics: [{ name: "v", type: "gauge", help: "h" }],
  });
  const reg = new SeriesRegistry({});
  reg.update("p", table, [{ labels: { k: "gone" }, values: { v: 1 } }], 10_000, 1_000);
  reg.update("p", table, [{ labels: { k: "kept" }, values: { v: 2 } }], 10_000, 10_000);
  assertEquals(reg.prune(11_500), 1);
  assertEquals([...reg.table("t")].map((s) => s.labelText), ['k="kept"']);
});

Deno.test("the bytes of a scrape are the text's UTF-8, however small the first buffer", () => {
  const table = metaTableSchema.parse({
    table: "t",
    entity: "e",
    description: "d",
    keys: ["comm"],
    metrics: [
      { name: "v", type: "gauge", help: "h" },
      { name: "w", type: "counter", help: "h" },
    ],
  });
  const reg = new SeriesRegistry({});
  // Multi-byte label values: a buffer that fills mid-character must grow, not cut it.
  const rows = Array.from({ length: 300 }, (_, i) => ({
    labels: { comm: `сервис-${i}-€` },
    values: { v: i, w: i * 2 },
  }));
  reg.update("p", table, rows, 60_000);
  for (const om of [false, true]) {
    const expected = new TextEncoder().encode(render([table], reg, om));
    for (const hint of [1, 16, 1000, expected.length, 1 << 20]) {
      assertEquals(
        renderBytes([table], reg, om, hint),
        expected,
        `hint ${hint}, openMetrics ${om}`,
      );
    }
  }
});
