/**
 * Rendering the series registry in the Prometheus text format 0.0.4 or OpenMetrics 1.0.
 *
 * @module
 */

import { promName } from "./meta.ts";
import type { MetaTable, MetricField } from "./meta.ts";
import type { HistogramValue } from "./probe_api.ts";
import type { SeriesRegistry } from "./series.ts";

export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
export const OPENMETRICS_CONTENT_TYPE =
  "application/openmetrics-text; version=1.0.0; charset=utf-8";

/** Does an `Accept` header ask for OpenMetrics? */
export function wantsOpenMetrics(accept: string | null | undefined): boolean {
  return !!accept && accept.includes("application/openmetrics-text");
}

function num(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

function escapeHelp(s: string): string {
  return s.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

/**
 * Render every table's live series.
 *
 * @param tables meta tables in the order to render
 * @param openMetrics render OpenMetrics 1.0 instead of Prometheus text 0.0.4
 */
export function render(
  tables: Iterable<MetaTable>,
  registry: SeriesRegistry,
  openMetrics = false,
): string {
  registry.prune();
  const out: string[] = [];
  for (const t of tables) {
    const series = [...registry.table(t.table)];
    if (!series.length) continue;
    for (const f of t.metrics) renderField(out, t, f, series, openMetrics);
  }
  if (openMetrics) out.push("# EOF\n");
  return out.join("");
}

function renderField(
  out: string[],
  t: MetaTable,
  f: MetricField,
  series: ReturnType<SeriesRegistry["table"]> extends Iterable<infer S> ? S[] : never,
  openMetrics: boolean,
): void {
  const name = promName(t, f);
  const family = openMetrics && f.type === "counter" ? name.slice(0, -"_total".length) : name;
  let header = `# HELP ${family} ${escapeHelp(f.help)}\n# TYPE ${family} ${f.type}\n`;
  if (openMetrics && f.unit && ["seconds", "bytes", "ratio"].includes(f.unit)) {
    header += `# UNIT ${family} ${f.unit}\n`;
  }
  let body = "";
  if (f.type === "histogram") {
    const bounds = f.buckets!;
    for (const s of series) {
      const h = s.values[f.name] as HistogramValue | undefined;
      if (!h || typeof h !== "object") continue;
      const sep = s.labelText ? "," : "";
      let cum = 0;
      for (let i = 0; i < bounds.length; i++) {
        cum += h.counts[i] ?? 0;
        body += `${name}_bucket{${s.labelText}${sep}le="${num(bounds[i])}"} ${cum}\n`;
      }
      body += `${name}_bucket{${s.labelText}${sep}le="+Inf"} ${h.count}\n`;
      body += `${name}_sum{${s.labelText}} ${num(h.sum)}\n`;
      body += `${name}_count{${s.labelText}} ${h.count}\n`;
    }
  } else {
    for (const s of series) {
      const v = s.values[f.name];
      if (typeof v !== "number") continue;
      body += `${name}{${s.labelText}} ${num(v)}\n`;
    }
  }
  if (body) out.push(header, body);
}
