/**
 * The latest value of every live series, by meta table. Exporters read it; scraping never drains
 * it (two scrapers see the same series). A series not re-published within its staleness window
 * (two report periods of its probe) disappears.
 *
 * @module
 */

import type { MetaTable } from "./meta.ts";
import type { MetricValue, Row } from "./probe_api.ts";

export interface Series {
  probe: string;
  /** Prometheus label pairs, escaped, without braces: `a="1",b="x"`. */
  labelText: string;
  values: Record<string, MetricValue>;
  lastSeen: number;
  staleAfterMs: number;
}

/** Escape a label value per the Prometheus text format. */
export function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

/** Do two value records have the same fields? */
function sameFields(a: Record<string, MetricValue>, b: Record<string, MetricValue>): boolean {
  let n = 0;
  for (const f in b) {
    if (!(f in a)) return false;
    n++;
  }
  for (const _ in a) n--;
  return n === 0;
}

/** A series' key in its table and its label text, both derived from a row's labels. */
interface SeriesName {
  id: string;
  labelText: string;
}

export class SeriesRegistry {
  readonly #tables = new Map<string, Map<string, Series>>();
  /**
   * Names by table and label object. Probes that publish a flow under the same label object
   * every period (the TCP probe does) have it escaped and joined once, not per row and report:
   * that was 2 kB of strings a row, 3 MB a report at 1,600 rows. A label object is taken to be
   * unchanged once published; a new one is named again. Weak: a dropped object's entry goes.
   */
  readonly #names = new Map<string, WeakMap<Row["labels"], SeriesName>>();
  readonly #constLabels: string;

  /** @param constLabels labels added to every series (machine_id, hostname). */
  constructor(constLabels: Record<string, string>) {
    this.#constLabels = Object.entries(constLabels).map(([k, v]) => `${k}="${escapeLabel(v)}"`)
      .join(",");
  }

  /** Record rows published by `probe` for `table`. */
  update(
    probe: string,
    table: MetaTable,
    rows: Row[],
    staleAfterMs: number,
    now = Date.now(),
  ): void {
    let series = this.#tables.get(table.table);
    if (!series) this.#tables.set(table.table, series = new Map());
    let named = this.#names.get(table.table);
    if (!named) this.#names.set(table.table, named = new WeakMap());
    for (const row of rows) {
      let name = named.get(row.labels);
      if (!name) named.set(row.labels, name = this.#nameOf(table, row.labels));
      const known = series.get(name.id);
      // A series republished with the same labels and fields keeps its objects: its values are
      // copied into the ones it has. Replacing them every report period made each report's
      // series, label strings and value objects live until the next one, long enough to be
      // promoted to V8's old generation: old-generation garbage of every series per period.
      if (known?.probe === probe && known.labelText === name.labelText) {
        if (sameFields(known.values, row.values)) {
          for (const f in row.values) known.values[f] = row.values[f];
        } else {
          known.values = { ...row.values };
        }
        known.lastSeen = now;
        known.staleAfterMs = staleAfterMs;
        continue;
      }
      series.set(name.id, {
        probe,
        // The row's label object is not kept: labelText says it all, and 10,000 series would
        // hold 10,000 more objects.
        labelText: name.labelText,
        // A copy: the registry updates it in place later, and the row stays the probe's.
        values: { ...row.values },
        lastSeen: now,
        staleAfterMs,
      });
    }
  }

  #nameOf(table: MetaTable, labels: Row["labels"]): SeriesName {
    const id = table.keys.map((k) => labels[k] ?? "").join("\0");
    const parts: string[] = [];
    for (const f of [...table.keys, ...table.labels]) {
      parts.push(`${f}="${escapeLabel(String(labels[f] ?? ""))}"`);
    }
    if (this.#constLabels) parts.push(this.#constLabels);
    return { id, labelText: parts.join(",") };
  }

  /** Forget every series of a probe (it was stopped). */
  dropProbe(probe: string): void {
    for (const series of this.#tables.values()) {
      for (const [id, s] of series) if (s.probe === probe) series.delete(id);
    }
  }

  /** Remove stale series; returns how many were removed. */
  prune(now = Date.now()): number {
    let n = 0;
    for (const series of this.#tables.values()) {
      for (const [id, s] of series) {
        if (now - s.lastSeen > s.staleAfterMs) {
          series.delete(id);
          n++;
        }
      }
    }
    return n;
  }

  /** Live series of one table (after pruning). */
  table(name: string): Iterable<Series> {
    return this.#tables.get(name)?.values() ?? [];
  }

  get size(): number {
    let n = 0;
    for (const s of this.#tables.values()) n += s.size;
    return n;
  }
}
