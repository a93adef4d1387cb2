/**
 * Probe manifests (`probes/<name>/probe.yaml`): their schema and loader.
 *
 * @module
 */

import { z } from "zod";
import { ManifestError, parseYamlFile } from "./yaml_file.ts";

const paramSpec = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("integer"),
    min: z.number().int(),
    max: z.number().int(),
    default: z.number().int(),
    unit: z.string().optional(),
    description: z.string(),
  }).strict(),
  z.object({
    type: z.literal("number"),
    min: z.number(),
    max: z.number(),
    default: z.number(),
    unit: z.string().optional(),
    description: z.string(),
  }).strict(),
  z.object({
    type: z.literal("boolean"),
    default: z.boolean(),
    description: z.string(),
  }).strict(),
  z.object({
    type: z.literal("string"),
    values: z.array(z.string()).min(1).optional(),
    default: z.string(),
    description: z.string(),
  }).strict(),
  z.object({
    type: z.literal("string_list"),
    values: z.array(z.string()).min(1).optional(),
    default: z.array(z.string()),
    description: z.string(),
  }).strict(),
]);

export type ParamSpec = z.infer<typeof paramSpec>;

const attachPoint = z.object({
  /** e.g. `tp_btf/inet_sock_set_state` for ebpf, `dubbo` for an agent instrumentation. */
  name: z.string().min(1),
  required: z.boolean(),
  description: z.string().optional(),
  /** Alternatives tried in order when this one is unavailable. */
  alternatives: z.array(z.string()).optional(),
}).strict();

const subProbe = z.object({
  name: z.string().regex(/^[a-z][a-z0-9_]*$/, "lower_snake_case"),
  description: z.string(),
  /** Meta tables this sub-probe fills. */
  tables: z.array(z.string()).default([]),
  /** Attach points / instrumentations this sub-probe turns on (names from `attach`). */
  enables: z.array(z.string()).default([]),
  /** False for names gala-gopher knows that this version does not implement. */
  supported: z.boolean().default(true),
}).strict();

export const manifestSchema = z.object({
  name: z.string().regex(/^[a-z][a-z0-9_]*$/, "lower_snake_case"),
  kind: z.enum(["ebpf", "jvm", "proc"]),
  description: z.string(),
  /** API paths, e.g. ["/baseinfo", "/proc"]; each `/name`. */
  paths: z.array(z.string().regex(/^\/[a-z][a-z0-9_]*$/, "/lower_snake_case")).min(1),
  /** Driver module file in the probe folder. */
  driver: z.string().regex(/^[\w.-]+\.ts$/, "a .ts file name in the probe folder"),
  subprobes: z.array(subProbe).min(1),
  params: z.record(z.string().regex(/^[a-z][a-z0-9_]*$/), paramSpec).default({}),
  attach: z.array(attachPoint).default([]),
  /** Does this probe use snoopers/blacklist (false for host-wide probes)? */
  snoopers: z.boolean().default(true),
}).strict().superRefine((m, ctx) => {
  const attachNames = new Set(m.attach.map((a) => a.name));
  m.subprobes.forEach((s, i) => {
    s.enables.forEach((e, j) => {
      if (!attachNames.has(e)) {
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          path: ["subprobes", i, "enables", j],
          message: `"${e}" is not declared under attach (declared: ${
            [...attachNames].join(", ") || "none"
          })`,
        });
      }
    });
  });
  for (const [name, p] of Object.entries(m.params)) {
    if ((p.type === "integer" || p.type === "number") && (p.default < p.min || p.default > p.max)) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ["params", name, "default"],
        message: `default ${p.default} is outside ${p.min}..${p.max}`,
      });
    }
  }
});

export type Manifest = z.infer<typeof manifestSchema>;

/** Loaded manifest plus where it came from. */
export interface LoadedManifest {
  manifest: Manifest;
  dir: string;
  file: string;
}

/**
 * Load every `probes/<name>/probe.yaml` under `probesDir`.
 *
 * @throws {ManifestError} naming the file and the field when one is broken, or when two
 *   probes claim the same API path.
 */
export async function loadManifests(probesDir: string): Promise<LoadedManifest[]> {
  const out: LoadedManifest[] = [];
  const dirs: string[] = [];
  for await (const e of Deno.readDir(probesDir)) if (e.isDirectory) dirs.push(e.name);
  dirs.sort();
  const byPath = new Map<string, string>();
  for (const d of dirs) {
    const dir = `${probesDir}/${d}`;
    const file = `${dir}/probe.yaml`;
    try {
      await Deno.stat(file);
    } catch {
      continue; // a folder without a manifest (e.g. shared C headers) is not a probe
    }
    const manifest = await parseYamlFile(file, manifestSchema);
    if (manifest.name !== d) {
      throw new ManifestError(
        file,
        "name",
        `is "${manifest.name}" but the folder is "${d}"; they must match`,
      );
    }
    for (const p of manifest.paths) {
      const other = byPath.get(p);
      if (other) {
        throw new ManifestError(file, "paths", `${p} is already served by probe "${other}"`);
      }
      byPath.set(p, manifest.name);
    }
    try {
      await Deno.stat(`${dir}/${manifest.driver}`);
    } catch {
      throw new ManifestError(file, "driver", `file ${manifest.driver} not found in ${dir}`);
    }
    out.push({ manifest, dir, file });
  }
  return out;
}
