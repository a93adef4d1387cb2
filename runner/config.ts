/**
 * Probe configs as gala-gopher's config API takes them: parsing request bodies, validating them
 * against a probe's manifest, and merging them into the current config (all or nothing).
 *
 * @module
 */

import { z } from "zod";
import type { Manifest, ParamSpec } from "./manifest.ts";
import type { ParamValue, ProbeConfig, ProcessSelector } from "./probe_api.ts";

/** A request was rejected; `message` says what was wrong and what is accepted. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

const TOP_KEYS = ["cmd", "snoopers", "blacklist", "params", "state"];

/** The config of a probe nobody has configured yet. */
export function defaultConfig(m: Manifest): ProbeConfig {
  return {
    probes: [],
    snoopers: emptySelector(),
    blacklist: emptySelector(),
    params: Object.fromEntries(Object.entries(m.params).map(([k, p]) => [k, p.default])),
    state: "stopped",
  };
}

export function emptySelector(): ProcessSelector {
  return { proc_id: [], proc_name: [], container_id: [], pod_id: [] };
}

export function selectorIsEmpty(s: ProcessSelector): boolean {
  return !s.proc_id.length && !s.proc_name.length && !s.container_id.length && !s.pod_id.length;
}

/**
 * Extract the JSON document from a PUT body: `json=<JSON>` raw or URL-encoded (as
 * `curl --data-urlencode` sends it), or a plain JSON body.
 *
 * @throws {ConfigError} when no JSON object can be read.
 */
export function parseBody(body: string): Record<string, unknown> {
  let text = body.trim();
  if (text.startsWith("json=")) {
    const raw = text.slice(5);
    text = raw;
    if (!tryJson(raw).ok) {
      try {
        text = decodeURIComponent(raw.replace(/\+/g, " "));
      } catch {
        throw new ConfigError("body json=... is neither JSON nor URL-encoded JSON");
      }
    }
  } else if (!text.startsWith("{")) {
    throw new ConfigError(
      "body must be json=<JSON object> (raw or URL-encoded, as curl --data-urlencode sends it) or a JSON object",
    );
  }
  const r = tryJson(text);
  if (!r.ok) throw new ConfigError(`invalid JSON: ${r.error}`);
  if (typeof r.value !== "object" || r.value === null || Array.isArray(r.value)) {
    throw new ConfigError(
      "the JSON must be an object with keys cmd, snoopers, blacklist, params, state",
    );
  }
  return r.value as Record<string, unknown>;
}

function tryJson(s: string): { ok: true; value: unknown } | { ok: false; error: string } {
  try {
    return { ok: true, value: JSON.parse(s) };
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
}

const procName = z.object({
  comm: z.string().optional(),
  cmdline: z.string().optional(),
}).passthrough().superRefine((p, ctx) => {
  if (p.comm === undefined && p.cmdline === undefined) {
    ctx.addIssue({
      code: "custom",
      message: "needs comm (a regex on /proc/<pid>/comm) and/or cmdline (a substring)",
    });
  }
  if (p.comm !== undefined) {
    try {
      new RegExp(p.comm);
    } catch (e) {
      ctx.addIssue({
        code: "custom",
        path: ["comm"],
        message: `is not a valid regular expression: ${(e as Error).message}`,
      });
    }
  }
});

const selector = z.object({
  proc_id: z.array(z.number().int().positive()).default([]),
  proc_name: z.array(procName).default([]),
  container_id: z.array(z.string().regex(/^[0-9a-f]{12,64}$/, "12 to 64 hex digits")).default([]),
  pod_id: z.array(z.string().min(1)).default([]),
}).strict();

function paramSchema(name: string, p: ParamSpec): z.ZodTypeAny {
  switch (p.type) {
    case "integer":
      return z.number({ invalid_type_error: `params.${name} must be an integer` }).int(
        `params.${name} must be an integer`,
      ).min(p.min, rangeMsg(name, p)).max(p.max, rangeMsg(name, p));
    case "number":
      return z.number({ invalid_type_error: `params.${name} must be a number` }).min(
        p.min,
        rangeMsg(name, p),
      )
        .max(p.max, rangeMsg(name, p));
    case "boolean":
      return z.boolean({ invalid_type_error: `params.${name} must be true or false` });
    case "string":
      return p.values
        ? z.enum(p.values as [string, ...string[]], {
          errorMap: () => ({ message: `params.${name} must be one of ${p.values!.join(", ")}` }),
        })
        : z.string({ invalid_type_error: `params.${name} must be a string` });
    case "string_list": {
      const item = p.values
        ? z.enum(p.values as [string, ...string[]], {
          errorMap: () => ({
            message: `params.${name} entries must be among ${p.values!.join(", ")}`,
          }),
        })
        : z.string();
      // gala-gopher also accepts a comma-separated string for list params.
      return z.union([
        z.array(item),
        z.string().transform((s) => s.split(",").map((x) => x.trim()).filter(Boolean)).pipe(
          z.array(item),
        ),
      ], {
        errorMap: () => ({
          message: `params.${name} must be a list of strings${
            p.values ? ` among ${p.values.join(", ")}` : ""
          }`,
        }),
      });
    }
  }
}

function rangeMsg(name: string, p: { min: number; max: number; unit?: string }): string {
  return `params.${name} must be between ${p.min} and ${p.max}${p.unit ? ` (${p.unit})` : ""}`;
}

/** Build the zod schema of a PUT document for one manifest. */
export function requestSchema(m: Manifest) {
  const params = z.object(
    Object.fromEntries(Object.entries(m.params).map(([k, p]) => [k, paramSchema(k, p).optional()])),
  ).strict();
  return z.object({
    cmd: z.object({ probe: z.array(z.string()) }).strict().optional(),
    snoopers: selector.optional(),
    blacklist: selector.optional(),
    params: params.optional(),
    state: z.enum(["running", "stopped"], {
      errorMap: () => ({ message: 'state must be "running" or "stopped"' }),
    }).optional(),
  }).strict();
}

/**
 * Validate `doc` against the manifest and merge it into `current`.
 * Keys present replace the current value (params key by key); absent keys keep it.
 *
 * @returns the new config; `current` is never modified.
 * @throws {ConfigError} naming what was wrong and what is accepted.
 */
export function mergeConfig(
  m: Manifest,
  current: ProbeConfig,
  doc: Record<string, unknown>,
): ProbeConfig {
  const unknown = Object.keys(doc).filter((k) => !TOP_KEYS.includes(k));
  if (unknown.length) {
    throw new ConfigError(`unknown key(s) ${unknown.join(", ")}; accepted: ${TOP_KEYS.join(", ")}`);
  }
  const r = requestSchema(m).safeParse(doc);
  if (!r.success) throw new ConfigError(describe(m, r.error.issues[0]));
  const req = r.data;
  const next: ProbeConfig = structuredClone(current);
  if (req.cmd) next.probes = checkSubprobes(m, req.cmd.probe);
  if (req.snoopers) next.snoopers = req.snoopers as ProcessSelector;
  if (req.blacklist) next.blacklist = req.blacklist as ProcessSelector;
  if (req.params) {
    for (const [k, v] of Object.entries(req.params)) {
      if (v !== undefined) next.params[k] = v as ParamValue;
    }
  }
  if (req.state) next.state = req.state;
  if (!selectorIsEmpty(next.snoopers) && !selectorIsEmpty(next.blacklist)) {
    throw new ConfigError(
      "snoopers and blacklist are exclusive: set one of them (send the other as {} to clear it)",
    );
  }
  if (next.state === "running" && next.probes.length === 0) {
    throw new ConfigError(
      `no sub-probe enabled: set cmd.probe to some of ${supported(m).join(", ")}`,
    );
  }
  return next;
}

function supported(m: Manifest): string[] {
  return m.subprobes.filter((s) => s.supported).map((s) => s.name);
}

function checkSubprobes(m: Manifest, names: string[]): string[] {
  if (names.length === 0) {
    throw new ConfigError(`cmd.probe is empty; accepted: ${supported(m).join(", ")}`);
  }
  const known = new Map(m.subprobes.map((s) => [s.name, s]));
  for (const n of names) {
    const s = known.get(n);
    if (!s) {
      throw new ConfigError(
        `unknown sub-probe "${n}" in cmd.probe; accepted: ${supported(m).join(", ")}`,
      );
    }
    if (!s.supported) {
      throw new ConfigError(
        `sub-probe "${n}" is not supported in this version; accepted: ${supported(m).join(", ")}`,
      );
    }
  }
  // Duplicates are accepted (gala-gopher's own examples repeat names); order follows the manifest.
  const wanted = new Set(names);
  return m.subprobes.filter((s) => wanted.has(s.name)).map((s) => s.name);
}

function describe(m: Manifest, issue: z.ZodIssue): string {
  const path = issue.path.join(".");
  if (issue.code === "unrecognized_keys") {
    if (path === "params") {
      return `unknown param(s) ${issue.keys.join(", ")}; accepted: ${
        Object.keys(m.params).join(", ") || "none"
      }`;
    }
    return `${path ? path + ": " : ""}unknown key(s) ${issue.keys.join(", ")}`;
  }
  if (issue.message.startsWith("params.") || issue.message.startsWith("state ")) {
    return issue.message;
  }
  if (issue.code === "invalid_type") {
    return `${path} has type ${issue.received}; expected ${issue.expected}`;
  }
  return `${path || "body"}: ${issue.message}`;
}

/** The config as gala-gopher's `GET /<probe>` shows it. */
export function configToDocument(c: ProbeConfig): Record<string, unknown> {
  return {
    cmd: { probe: c.probes },
    snoopers: c.snoopers,
    blacklist: c.blacklist,
    params: c.params,
    state: c.state,
  };
}
