/**
 * The config API (Hono), compatible with gala-gopher's: `PUT /<probe>` and `GET /<probe>`,
 * plus `GET /probes`, `GET /openapi.json`, `GET /api/v1/samples` and `GET /api/v1/runner`.
 *
 * @module
 */

import { Hono } from "hono";
import type { Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { ConfigError, configToDocument, parseBody } from "./config.ts";
import type { LoadedManifest } from "./manifest.ts";
import type { MetaTable } from "./meta.ts";
import { promName } from "./meta.ts";
import { ProbeStartError } from "./manager.ts";
import type { ProbeManager } from "./manager.ts";
import { openApiDocument } from "./openapi.ts";
import type { Logger } from "./probe_api.ts";
import type { Store } from "./store.ts";

export const MAX_BODY_BYTES = 1024 * 1024;

export interface ApiOptions {
  manifests: LoadedManifest[];
  tables: Map<string, MetaTable>;
  manager: ProbeManager;
  store: Store;
  log: Logger;
  /** gala-gopher paths not implemented here: answered 400 "not supported in this version". */
  unsupportedPaths: string[];
  version: string;
}

const success = { result: "success", message: "New config takes effect" };
const failed = (message: string) => ({ result: "failed", message });

/**
 * Parse a `since` query value: epoch milliseconds, an ISO 8601 time, or a duration back from now
 * such as `90s`, `5m`, `1h`.
 */
export function parseSince(v: string | undefined, now = Date.now()): number | undefined {
  if (v === undefined || v === "") return 0;
  if (/^\d+$/.test(v)) return Number(v);
  const d = /^(\d+)(ms|s|m|h)$/.exec(v);
  if (d) return now - Number(d[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[d[2] as "ms"];
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : t;
}

/** Build the Hono app of the config API. */
export function createApiApp(o: ApiOptions): Hono {
  const app = new Hono();
  const byPath = new Map<string, string>();
  for (const { manifest } of o.manifests) {
    for (const p of manifest.paths) byPath.set(p, manifest.name);
  }
  const unsupported = new Set(o.unsupportedPaths.filter((p) => !byPath.has(p)));
  const openapi = openApiDocument(o.manifests, o.version);

  app.onError(function onError(err, c) {
    o.log.error("API request failed", { path: c.req.path, error: err });
    return c.json(failed(`internal error: ${err.message}`), 500);
  });

  app.get("/probes", (c) =>
    c.json(o.manifests.map(({ manifest: m }) => ({
      name: m.name,
      kind: m.kind,
      description: m.description,
      paths: m.paths,
      subprobes: m.subprobes.map((s) => ({
        name: s.name,
        description: s.description,
        supported: s.supported,
        tables: s.tables,
      })),
      params: m.params,
      state: o.manager.config(m.name).state,
    }))));

  app.get("/openapi.json", (c) => c.json(openapi));

  app.get("/api/v1/tables", (c) =>
    c.json([...o.tables.values()].map((t) => ({
      table: t.table,
      entity: t.entity,
      description: t.description,
      keys: t.keys,
      labels: t.labels,
      metrics: t.metrics.map((f) => ({ ...f, prometheus: promName(t, f) })),
    }))));

  // The runner's own memory as V8 sees it (RSS alone does not say heap from native): benches
  // and an operator chasing memory read it.
  app.get("/api/v1/runner", (c) =>
    c.json({
      version: o.version,
      memory: Deno.memoryUsage(),
      store: o.store.stats,
    }));

  app.get("/api/v1/samples", async (c) => {
    const table = c.req.query("table");
    if (!table || !o.tables.has(table)) {
      return c.json(
        failed(`query parameter table must be one of ${[...o.tables.keys()].join(", ")}`),
        400,
      );
    }
    const since = parseSince(c.req.query("since"));
    if (since === undefined) {
      return c.json(
        failed(
          "since must be epoch milliseconds, an ISO 8601 time, or a duration like 30s, 5m, 1h",
        ),
        400,
      );
    }
    const limitText = c.req.query("limit") ?? "1000";
    const limit = Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) {
      return c.json(failed("limit must be an integer between 1 and 10000"), 400);
    }
    await o.store.flush();
    const rows = await o.store.samples(table, since, limit);
    return c.json({ table, since, count: rows.length, rows });
  });

  const probeRoute = async (c: Context) => {
    const path = c.req.path.replace(/\/+$/, "") || "/";
    const name = byPath.get(path);
    if (!name) {
      if (unsupported.has(path)) {
        return c.json(failed(`probe ${path.slice(1)} is not supported in this version`), 400);
      }
      return c.json(failed(`no probe at ${path}; probes: ${[...byPath.keys()].join(", ")}`), 404);
    }
    if (c.req.method === "GET") {
      return c.json({
        ...configToDocument(o.manager.config(name)),
        status: o.manager.status(name),
      });
    }
    if (c.req.method !== "PUT") {
      c.header("Allow", "GET, PUT");
      return c.json(failed(`method ${c.req.method} not allowed on ${path}; use GET or PUT`), 405);
    }
    let doc: Record<string, unknown>;
    try {
      doc = parseBody(await c.req.text());
      await o.manager.apply(name, doc);
    } catch (e) {
      if (e instanceof ConfigError) {
        o.log.info("config rejected", { probe: name, reason: e.message });
        return c.json(failed(e.message), 400);
      }
      if (e instanceof ProbeStartError) return c.json(failed(e.message), 500);
      throw e;
    }
    o.log.info("config accepted", { probe: name, state: o.manager.config(name).state });
    return c.json(success);
  };

  app.use(
    "*",
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) =>
        c.json(failed(`body larger than ${MAX_BODY_BYTES} bytes (1 MiB) refused`), 400),
    }),
  );
  app.all("/:name{[^/]+}", probeRoute);
  app.notFound((c) => c.json(failed(`no such endpoint ${c.req.path}`), 404));
  return app;
}
