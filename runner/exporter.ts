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
 * Render every table's live series as one string.
 *
 * @param tables meta tables in the order to render
 * @param openMetrics render OpenMetrics 1.0 instead of Prometheus text 0.0.4
 */
export function render(
  tables: Iterable<MetaTable>,
  registry: SeriesRegistry,
  openMetrics = false,
): string {
  const out: string[] = [];
  renderFamilies(tables, registry, openMetrics, (text) => out.push(text));
  return out.join("");
}

/**
 * Render every table's live series as UTF-8 into one buffer, a family at a time. A scrape of
 * thousands of series built as one string keeps every line alive until the join, long enough to
 * be promoted out of V8's young generation (the runner runs with 1 MB semi-spaces): each scrape
 * left megabytes of old-generation garbage. A family's text is small and dies young; one large
 * buffer (from `sizeHint`, e.g. the last scrape's size) is mmapped by malloc and returned whole
 * when collected, where many small encodings fragmented the brk heap.
 */
export function renderBytes(
  tables: Iterable<MetaTable>,
  registry: SeriesRegistry,
  openMetrics = false,
  sizeHint = 64 * 1024,
): Uint8Array<ArrayBuffer> {
  const encoder = new TextEncoder();
  let buf = new Uint8Array(sizeHint);
  let used = 0;
  renderFamilies(tables, registry, openMetrics, (text) => {
    for (let rest = text;;) {
      const r = encoder.encodeInto(rest, buf.subarray(used));
      used += r.written;
      if (r.read === rest.length) return;
      rest = rest.slice(r.read); // full: grow, then encode the rest
      const bigger = new Uint8Array(Math.max(buf.length * 2, used + rest.length * 3));
      bigger.set(buf.subarray(0, used));
      buf = bigger;
    }
  });
  return buf.subarray(0, used);
}

function renderFamilies(
  tables: Iterable<MetaTable>,
  registry: SeriesRegistry,
  openMetrics: boolean,
  emit: (family: string) => void,
): void {
  registry.prune();
  for (const t of tables) {
    const series = [...registry.table(t.table)];
    if (!series.length) continue;
    for (const f of t.metrics) {
      const text = renderField(t, f, series, openMetrics);
      if (text) emit(text);
    }
  }
  if (openMetrics) emit("# EOF\n");
}

/** One metric family: its header and every series, or "" when no series has a value. */
function renderField(
  t: MetaTable,
  f: MetricField,
  series: ReturnType<SeriesRegistry["table"]> extends Iterable<infer S> ? S[] : never,
  openMetrics: boolean,
): string {
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
  return body ? header + body : "";
}
