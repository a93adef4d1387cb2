/**
 * Wiring: loads manifests and meta tables, opens the store, starts the probe manager, the config
 * API and the metrics endpoint. The only place with process-wide mutable state.
 *
 * @module
 */

import { Hono } from "hono";
import { load as parseYaml } from "js-yaml";
import { createApiApp } from "./api.ts";
import {
  OPENMETRICS_CONTENT_TYPE,
  PROMETHEUS_CONTENT_TYPE,
  renderStream,
  wantsOpenMetrics,
} from "./exporter.ts";
import { createLogger } from "./log.ts";
import type { Level } from "./log.ts";
import { loadManifests } from "./manifest.ts";
import { loadMetaTables } from "./meta.ts";
import { ProbeManager } from "./manager.ts";
import { SeriesRegistry } from "./series.ts";
import { Store } from "./store.ts";
import { hostIdentity } from "./host.ts";
import { publishSelfMetrics } from "./self_metrics.ts";
import { materializeBuild } from "./artifacts.ts";
import { releaseFreeMemory } from "../ffi/libc.ts";
import { FilePageTrimmer } from "../ffi/resident.ts";

export const VERSION = "0.1.0";

export interface RunnerOptions {
  apiHost: string;
  apiPort: number;
  metricsHost: string;
  metricsPort: number;
  stateDir: string;
  logLevel: Level;
  /** Sample retention in seconds. */
  retentionSeconds: number;
  /** Megabytes (MiB) the stored samples may take. */
  storeMaxMb: number;
  probesDir: string;
  metaDir: string;
  buildDir: string;
  /** How often /proc is rescanned for snooped processes (exec events are matched at once). */
  scanIntervalMs?: number;
}

export interface Runner {
  apiUrl: string;
  metricsUrl: string;
  close(): Promise<void>;
}

/**
 * Start everything. Fails fast (before opening ports) on a broken manifest or meta file.
 *
 * @throws {ManifestError} naming the file and field of a broken manifest or meta table.
 */
export async function startRunner(o: RunnerOptions): Promise<Runner> {
  const log = createLogger(o.logLevel);
  const manifests = await loadManifests(o.probesDir);
  const tables = await loadMetaTables(o.metaDir);
  await Deno.mkdir(o.stateDir, { recursive: true });
  const store = await Store.open(`${o.stateDir}/demarc.kv`, {
    retentionMs: o.retentionSeconds * 1000,
    maxBytes: o.storeMaxMb * 1024 * 1024,
  });
  const identity = hostIdentity();
  const registry = new SeriesRegistry({
    machine_id: identity.machineId,
    hostname: identity.hostname,
  });
  const manager = new ProbeManager({
    manifests,
    tables,
    store,
    registry,
    log,
    buildDir: await materializeBuild(o.buildDir, o.stateDir),
    stateDir: o.stateDir,
    scanIntervalMs: o.scanIntervalMs,
  });

  let unsupportedPaths: string[] = [];
  try {
    unsupportedPaths =
      (parseYaml(await Deno.readTextFile(`${o.probesDir}/unsupported.yaml`))?.paths ??
        []) as string[];
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }

  const api = createApiApp({
    manifests,
    tables,
    manager,
    store,
    log,
    unsupportedPaths,
    version: VERSION,
  });
  const metricsApp = new Hono();
  metricsApp.get("/metrics", (c) => {
    const om = wantsOpenMetrics(c.req.header("accept"));
    // Rendered chunk by chunk as the response is sent (exporter.ts renderStream): one buffer of
    // the whole scrape was megabytes of ArrayBuffer per scrape left for V8's next major GC.
    return c.body(renderStream(tables.values(), registry, om), 200, {
      "content-type": om ? OPENMETRICS_CONTENT_TYPE : PROMETHEUS_CONTENT_TYPE,
    });
  });
  metricsApp.get("/", (c) => c.html('<a href="/metrics">metrics</a>'));

  const apiServer = Deno.serve(
    { hostname: o.apiHost, port: o.apiPort, onListen: () => {} },
    api.fetch,
  );
  const metricsServer = Deno.serve({
    hostname: o.metricsHost,
    port: o.metricsPort,
    onListen: () => {},
  }, metricsApp.fetch);
  await manager.restore();
  const selfTimer = publishSelfMetrics({ manager, registry, store, tables, intervalMs: 5000 });
  // Native allocations of short life (file reads of /proc, KV writes, libbpf calls) leave free
  // pages scattered in glibc's heap, which it gives back only from the top: measured with the
  // TCP probe at 10,000 connections, the heap held 6-8 MB of free pages that one malloc_trim
  // returned, at 0.2-1 ms a call.
  // And the pages of the deno binary that start-up touched once (relocations, the transpiler,
  // the module loader, the start-up snapshot): ~20 MB of the RSS at 10,000 connections, read
  // from the page cache again if ever needed (ffi/resident.ts).
  let filePages: FilePageTrimmer | undefined = new FilePageTrimmer();
  const trimTimer = setInterval(() => {
    releaseFreeMemory();
    try {
      const kb = filePages?.tick();
      if (kb) log.debug("unused file pages dropped", { kb });
    } catch (e) {
      filePages = undefined; // once: the RSS stays higher, nothing else depends on it
      log.warn("dropping unused file pages failed; not tried again", { error: e });
    }
  }, 10_000);

  const apiUrl = `http://${o.apiHost}:${apiServer.addr.port}`;
  const metricsUrl = `http://${
    o.metricsHost === "0.0.0.0" ? "127.0.0.1" : o.metricsHost
  }:${metricsServer.addr.port}`;
  log.info("demarc running", {
    version: VERSION,
    api: apiUrl,
    metrics: `${metricsUrl}/metrics`,
    probes: manager.names.join(","),
    state: o.stateDir,
  });
  let closed = false;
  return {
    apiUrl,
    metricsUrl,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(selfTimer);
      clearInterval(trimTimer);
      await manager.close();
      await Promise.all([apiServer.shutdown(), metricsServer.shutdown()]);
      await store.close();
      log.info("demarc stopped");
    },
  };
}
