/**
 * The runner's metrics about itself (meta tables `probe` and `runner`), so an operator can tell a
 * probe is down, restarting or degraded, and whether the store keeps up.
 *
 * @module
 */

import type { ProbeManager } from "./manager.ts";
import type { MetaTable } from "./meta.ts";
import type { SeriesRegistry } from "./series.ts";
import type { Store } from "./store.ts";

const SELF = "_runner";

export interface SelfMetricsOptions {
  manager: ProbeManager;
  registry: SeriesRegistry;
  store: Store;
  tables: Map<string, MetaTable>;
  intervalMs: number;
}

/** Publish now and every `intervalMs`; returns the timer to clear. */
export function publishSelfMetrics(o: SelfMetricsOptions): ReturnType<typeof setInterval> {
  const probeTable = o.tables.get("probe");
  const runnerTable = o.tables.get("runner");
  const stale = o.intervalMs * 3;
  const publish = () => {
    if (probeTable) {
      o.registry.update(
        SELF,
        probeTable,
        o.manager.names.map((name) => {
          const s = o.manager.status(name);
          return {
            labels: { probe: name, phase: s.phase },
            values: {
              up: s.phase === "running" ? 1 : 0,
              restarts: s.restarts,
              watched_processes: s.watchedPids,
              degraded_parts: s.driver?.degraded?.length ?? 0,
            },
          };
        }),
        stale,
      );
    }
    if (runnerTable) {
      const mem = Deno.memoryUsage();
      o.registry.update(SELF, runnerTable, [{
        labels: { component: "runner" },
        values: {
          store_rows_written: o.store.stats.rowsWritten,
          store_rows_dropped: o.store.stats.rowsDropped,
          store_commit_errors: o.store.stats.commitErrors,
          store_rows_evicted: o.store.stats.rowsEvicted,
          store_chunks_evicted: o.store.stats.chunksEvicted,
          store: o.store.stats.bytesStored,
          store_limit: o.store.stats.bytesLimit,
          series: o.registry.size,
          rss: mem.rss,
        },
      }], stale);
    }
  };
  publish();
  return setInterval(publish, o.intervalMs);
}
