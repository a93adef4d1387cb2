/** The CONFIG frame the driver sends follows the manifest, the meta table and the probe config. */

import assert from "node:assert/strict";
import { manifestSchema } from "../../../runner/manifest.ts";
import { parseYamlFile } from "../../../runner/yaml_file.ts";
import { loadMetaTables } from "../../../runner/meta.ts";
import { defaultConfig } from "../../../runner/config.ts";
import type { ProbeContext } from "../../../runner/probe_api.ts";
import { agentConfigFor } from "../../../probes/jvm/jvm.ts";
import { ROOT } from "./apps.ts";

async function context(): Promise<ProbeContext> {
  const manifest = await parseYamlFile(`${ROOT}/probes/jvm/probe.yaml`, manifestSchema);
  const all = await loadMetaTables(`${ROOT}/meta`);
  const tables = new Map(manifest.subprobes.flatMap((s) => s.tables).map((t) => [t, all.get(t)!]));
  return { manifest, tables } as unknown as ProbeContext;
}

Deno.test("the /sermant manifest serves gala-gopher's sub-probes and its tables all exist", async () => {
  const ctx = await context();
  assert.deepEqual(ctx.manifest.paths, ["/sermant", "/jvm"]);
  assert.deepEqual(ctx.manifest.subprobes.map((s) => s.name), [
    "l7_rpc_metrics",
    "l7_bytes_metrics",
    "l7_rpc_trace",
  ]);
  for (const [name, t] of ctx.tables) assert.ok(t, `table ${name} has no meta file`);
});

Deno.test("latency bounds sent to the agent are the meta table's buckets in nanoseconds", async () => {
  const ctx = await context();
  const c = agentConfigFor(ctx, defaultConfig(ctx.manifest));
  const buckets = ctx.tables.get("l7_rpc")!.metrics.find((m) => m.name === "latency")!.buckets!;
  assert.deepEqual(c.latencyBoundsNs, buckets.map((b) => Math.round(b * 1e9)));
  assert.equal(c.reportPeriodMs, 60_000);
});

Deno.test("sub-probes switch metrics, bytes and trace; disabled_instrumentations reach the agent", async () => {
  const ctx = await context();
  const base = defaultConfig(ctx.manifest);
  const c = agentConfigFor(ctx, {
    ...base,
    probes: ["l7_rpc_trace"],
    params: { ...base.params, disabled_instrumentations: ["okhttp"], report_period: 5 },
  });
  assert.deepEqual([c.metrics, c.bytes, c.trace], [false, false, true]);
  assert.deepEqual(c.disabled, ["okhttp"]);
  assert.equal(c.reportPeriodMs, 5000);
});
