/**
 * Meta tables (`meta/*.yaml`): the contract between a probe and everything downstream.
 *
 * @module
 */

import { z } from "zod";
import { ManifestError, parseYamlFile } from "./yaml_file.ts";

const ident = z.string().regex(/^[a-z][a-z0-9_]*$/, "lower_snake_case");

/** Units with a Prometheus suffix; `""` (dimensionless counts) gets none. */
export const UNITS = ["", "seconds", "bytes", "ratio", "percent", "segments", "packets"] as const;

const metricField = z.object({
  name: ident,
  type: z.enum(["counter", "gauge", "histogram"]),
  unit: z.enum(UNITS).default(""),
  help: z.string().min(1),
  /** Upper bounds, ascending, in `unit`; histograms only. */
  buckets: z.array(z.number()).optional(),
}).strict().superRefine((f, ctx) => {
  if (f.type === "histogram") {
    if (!f.buckets?.length) {
      ctx.addIssue({
        code: "custom",
        path: ["buckets"],
        message: "histograms need ascending bucket bounds",
      });
    } else if (f.buckets.some((b, i) => i > 0 && b <= f.buckets![i - 1])) {
      ctx.addIssue({
        code: "custom",
        path: ["buckets"],
        message: "bucket bounds must be strictly ascending",
      });
    }
  } else if (f.buckets) {
    ctx.addIssue({ code: "custom", path: ["buckets"], message: "only histograms take buckets" });
  }
});

export const metaTableSchema = z.object({
  table: ident,
  entity: z.string().min(1),
  description: z.string().min(1),
  /** Fields identifying one series (e.g. tgid, client_ip, server_port). */
  keys: z.array(ident).min(1),
  /** Descriptive fields carried as labels but not part of identity (e.g. comm). */
  labels: z.array(ident).default([]),
  metrics: z.array(metricField).min(1),
}).strict().superRefine((t, ctx) => {
  const seen = new Set<string>();
  [...t.keys, ...t.labels, ...t.metrics.map((m) => m.name)].forEach((n) => {
    if (seen.has(n)) {
      ctx.addIssue({ code: "custom", path: ["metrics"], message: `"${n}" is declared twice` });
    }
    seen.add(n);
  });
});

export type MetaTable = z.infer<typeof metaTableSchema>;
export type MetricField = MetaTable["metrics"][number];

/**
 * Load every `*.yaml` in `metaDir`.
 *
 * @throws {ManifestError} naming the file and field when one is broken or a table name repeats.
 */
export async function loadMetaTables(metaDir: string): Promise<Map<string, MetaTable>> {
  const files: string[] = [];
  for await (const e of Deno.readDir(metaDir)) {
    if (e.isFile && /\.ya?ml$/.test(e.name)) files.push(`${metaDir}/${e.name}`);
  }
  files.sort();
  const tables = new Map<string, MetaTable>();
  for (const file of files) {
    const t = await parseYamlFile(file, metaTableSchema);
    if (tables.has(t.table)) {
      throw new ManifestError(file, "table", `"${t.table}" is declared in two files`);
    }
    tables.set(t.table, t);
  }
  return tables;
}

/** Prometheus metric name for a field: `demarc_<table>_<field>[_<unit>][_total]`. */
export function promName(table: MetaTable, field: MetricField): string {
  let name = `demarc_${table.table}_${field.name}`;
  if (field.unit && !name.endsWith(`_${field.unit}`)) name += `_${field.unit}`;
  if (field.type === "counter") name += "_total";
  return name;
}
