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
  return [...pieces(tables, registry, openMetrics)].join("");
}

/** Render every table's live series as UTF-8 into one buffer (grown from `sizeHint` as needed). */
export function renderBytes(
  tables: Iterable<MetaTable>,
  registry: SeriesRegistry,
  openMetrics = false,
  sizeHint = 64 * 1024,
): Uint8Array<ArrayBuffer> {
  const encoder = new TextEncoder();
  let buf = new Uint8Array(sizeHint);
  let used = 0;
  for (const text of pieces(tables, registry, openMetrics)) {
    for (let rest = text;;) {
      const r = encoder.encodeInto(rest, buf.subarray(used));
      used += r.written;
      if (r.read === rest.length) break;
      rest = rest.slice(r.read); // full: grow, then encode the rest
      const bigger = new Uint8Array(Math.max(buf.length * 2, used + rest.length * 3));
      bigger.set(buf.subarray(0, used));
      buf = bigger;
    }
  }
  return buf.subarray(0, used);
}

/** Bytes of a chunk of {@link renderStream}: under malloc's mmap threshold (64 KiB), reused. */
const CHUNK_BYTES = 32 * 1024;

/**
 * Render every table's live series as a stream of UTF-8 chunks, each rendered when the response
 * asks for the next. The scrape's text as one buffer was megabytes of ArrayBuffer per scrape
 * (2.4 MB at 10,000 connections) that lived until V8's next major collection, several scrapes'
 * worth at the peaks; a chunk of 32 KiB is sent and dropped while young. The table snapshot
 * (which series) is taken when the stream starts; a report that runs between two chunks shows
 * its values in the later families of the scrape.
 */
export function renderStream(
  tables: Iterable<MetaTable>,
  registry: SeriesRegistry,
  openMetrics = false,
): ReadableStream<Uint8Array<ArrayBuffer>> {
  const encoder = new TextEncoder();
  const texts = pieces(tables, registry, openMetrics);
  let rest = ""; // text of the last piece that did not fit the previous chunk
  let done = false;
  return new ReadableStream<Uint8Array<ArrayBuffer>>({
    pull(ctl) {
      const chunk = new Uint8Array(CHUNK_BYTES);
      let used = 0;
      while (!done) {
        if (!rest) {
          const next = texts.next();
          if (next.done) {
            done = true;
            break;
          }
          rest = next.value;
        }
        const r = encoder.encodeInto(rest, chunk.subarray(used));
        used += r.written;
        rest = r.read === rest.length ? "" : rest.slice(r.read);
        if (rest) break; // the chunk is full
      }
      if (used) ctl.enqueue(chunk.subarray(0, used));
      if (done) ctl.close();
    },
  }, { highWaterMark: 0 });
}

/**
 * Text comes in pieces of about this many characters: a family of thousands of series (a
 * histogram of 200 flows is 3,200 lines, 800 kB) built as one string lived, piece by piece,
 * through the young generation's collections until its end, and was promoted.
 */
const PIECE_CHARS = 16 * 1024;

/** The scrape's text, piece by piece: every family of every table in order. */
function* pieces(
  tables: Iterable<MetaTable>,
  registry: SeriesRegistry,
  openMetrics: boolean,
): Generator<string> {
  registry.prune();
  const snapshot = [...tables].map((t) => ({ t, series: [...registry.table(t.table)] }));
  for (const { t, series } of snapshot) {
    if (!series.length) continue;
    for (const f of t.metrics) yield* familyPieces(t, f, series, openMetrics);
  }
  if (openMetrics) yield "# EOF\n";
}

/** One metric family: its header and every series; nothing when no series has a value. */
function* familyPieces(
  t: MetaTable,
  f: MetricField,
  series: ReturnType<SeriesRegistry["table"]> extends Iterable<infer S> ? S[] : never,
  openMetrics: boolean,
): Generator<string> {
  const name = promName(t, f);
  const family = openMetrics && f.type === "counter" ? name.slice(0, -"_total".length) : name;
  let header = `# HELP ${family} ${escapeHelp(f.help)}\n# TYPE ${family} ${f.type}\n`;
  if (openMetrics && f.unit && ["seconds", "bytes", "ratio"].includes(f.unit)) {
    header += `# UNIT ${family} ${f.unit}\n`;
  }
  let body = "";
  const isHistogram = f.type === "histogram";
  for (const s of series) {
    let lines: string;
    if (isHistogram) {
      const h = s.values[f.name] as HistogramValue | undefined;
      if (!h || typeof h !== "object") continue;
      const bounds = f.buckets!;
      const sep = s.labelText ? "," : "";
      let cum = 0;
      lines = "";
      for (let i = 0; i < bounds.length; i++) {
        cum += h.counts[i] ?? 0;
        lines += `${name}_bucket{${s.labelText}${sep}le="${num(bounds[i])}"} ${cum}\n`;
      }
      lines += `${name}_bucket{${s.labelText}${sep}le="+Inf"} ${h.count}\n`;
      lines += `${name}_sum{${s.labelText}} ${num(h.sum)}\n`;
      lines += `${name}_count{${s.labelText}} ${h.count}\n`;
    } else {
      const v = s.values[f.name];
      if (typeof v !== "number") continue;
      lines = `${name}{${s.labelText}} ${num(v)}\n`;
    }
    if (header) {
      body = header; // only a family with a value gets its header
      header = "";
    }
    body += lines;
    if (body.length >= PIECE_CHARS) {
      yield body;
      body = "";
    }
  }
  if (body) yield body;
}
