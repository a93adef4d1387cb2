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
 * Text written straight into a growing byte buffer. A scrape of 10,000 series built as one string
 * is a rope of ~50,000 pieces that all stay alive until the end, so with the runner's small young
 * generation (deno.json: --max-semi-space-size=1) they are promoted and collected as old objects;
 * line by line into bytes, each piece dies young and the answer needs no second encoding.
 */
class ByteSink {
  static readonly #encoder = new TextEncoder();
  #buf: Uint8Array<ArrayBuffer>;
  #len = 0;

  constructor(capacity: number) {
    this.#buf = new Uint8Array(Math.max(capacity, 4096));
  }

  write(s: string): void {
    for (;;) {
      const r = ByteSink.#encoder.encodeInto(s, this.#buf.subarray(this.#len));
      if (r.read === s.length) {
        this.#len += r.written;
        return;
      }
      // Not all of it fit: grow and write the whole string again (nothing was committed).
      const next = new Uint8Array(Math.max(this.#buf.length * 2, this.#len + s.length * 3));
      next.set(this.#buf.subarray(0, this.#len));
      this.#buf = next;
    }
  }

  get length(): number {
    return this.#len;
  }

  bytes(): Uint8Array<ArrayBuffer> {
    return this.#buf.subarray(0, this.#len);
  }
}

/** Size of the previous answer: the next one starts with a buffer that fits. */
let lastBytes = 1 << 16;

/**
 * Render every table's live series as UTF-8 bytes (what the metrics endpoint sends).
 *
 * @param tables meta tables in the order to render
 * @param openMetrics render OpenMetrics 1.0 instead of Prometheus text 0.0.4
 */
export function renderBytes(
  tables: Iterable<MetaTable>,
  registry: SeriesRegistry,
  openMetrics = false,
): Uint8Array<ArrayBuffer> {
  registry.prune();
  const out = new ByteSink(lastBytes + (lastBytes >> 3));
  for (const t of tables) {
    const series = [...registry.table(t.table)];
    if (!series.length) continue;
    for (const f of t.metrics) renderField(out, t, f, series, openMetrics);
  }
  if (openMetrics) out.write("# EOF\n");
  lastBytes = out.length;
  return out.bytes();
}

/** {@link renderBytes} as a string. */
export function render(
  tables: Iterable<MetaTable>,
  registry: SeriesRegistry,
  openMetrics = false,
): string {
  return new TextDecoder().decode(renderBytes(tables, registry, openMetrics));
}

function renderField(
  out: ByteSink,
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
  // The header goes out with the first series that has a value of this field.
  let pending: string | undefined = header;
  if (f.type === "histogram") {
    const bounds = f.buckets!;
    for (const s of series) {
      const h = s.values[f.name] as HistogramValue | undefined;
      if (!h || typeof h !== "object") continue;
      if (pending) {
        out.write(pending);
        pending = undefined;
      }
      const sep = s.labelText ? "," : "";
      let cum = 0;
      for (let i = 0; i < bounds.length; i++) {
        cum += h.counts[i] ?? 0;
        out.write(`${name}_bucket{${s.labelText}${sep}le="${num(bounds[i])}"} ${cum}\n`);
      }
      out.write(`${name}_bucket{${s.labelText}${sep}le="+Inf"} ${h.count}\n`);
      out.write(`${name}_sum{${s.labelText}} ${num(h.sum)}\n`);
      out.write(`${name}_count{${s.labelText}} ${h.count}\n`);
    }
  } else {
    for (const s of series) {
      const v = s.values[f.name];
      if (typeof v !== "number") continue;
      if (pending) {
        out.write(pending);
        pending = undefined;
      }
      out.write(`${name}{${s.labelText}} ${num(v)}\n`);
    }
  }
}
