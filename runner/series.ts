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

export class SeriesRegistry {
  readonly #tables = new Map<string, Map<string, Series>>();
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
    const fields = [...table.keys, ...table.labels];
    for (const row of rows) {
      const id = table.keys.map((k) => row.labels[k] ?? "").join("\0");
      const parts: string[] = [];
      for (const f of fields) parts.push(`${f}="${escapeLabel(String(row.labels[f] ?? ""))}"`);
      if (this.#constLabels) parts.push(this.#constLabels);
      series.set(id, {
        probe,
        // The row's label object is not kept: labelText says it all, and 10,000 series would
        // hold 10,000 more objects.
        labelText: parts.join(","),
        values: row.values,
        lastSeen: now,
        staleAfterMs,
      });
    }
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
