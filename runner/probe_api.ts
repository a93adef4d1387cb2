/**
 * The contract between the runner and a probe driver.
 *
 * A probe folder `probes/<name>/` holds `probe.yaml` and a driver module named by the manifest's
 * `driver` field. The driver module's default export is a {@link DriverFactory}. The runner never
 * names a probe: it loads manifests, validates configs against them and calls these functions.
 *
 * @module
 */

import type { Manifest } from "./manifest.ts";
import type { MetaTable } from "./meta.ts";

/** One watched-process selector, as gala-gopher's `snoopers.proc_name` entries. */
export interface ProcNameSelector {
  /** Regular expression matched against /proc/<pid>/comm. */
  comm?: string;
  /** Substring of /proc/<pid>/cmdline (NUL bytes read as spaces). */
  cmdline?: string;
  /** Extra keys gala-gopher clients send (e.g. "name"); kept, not interpreted. */
  [extra: string]: unknown;
}

/** Which processes a probe watches (`snoopers`) or ignores (`blacklist`). */
export interface ProcessSelector {
  proc_id: number[];
  proc_name: ProcNameSelector[];
  container_id: string[];
  pod_id: string[];
}

/** A probe's accepted configuration, after validation and defaults. */
export interface ProbeConfig {
  /** Sub-probes turned on (deduplicated, in manifest order). */
  probes: string[];
  snoopers: ProcessSelector;
  blacklist: ProcessSelector;
  /** Params with defaults applied; keys and types follow the manifest. */
  params: Record<string, ParamValue>;
  state: "running" | "stopped";
}

export type ParamValue = number | string | boolean | string[] | number[];

/** A histogram value: `counts[i]` observations fell in (bounds[i-1], bounds[i]]; the last is +Inf. */
export interface HistogramValue {
  /** Non-cumulative counts, one per bucket bound of the meta field plus a final +Inf bucket. */
  counts: number[];
  sum: number;
  count: number;
}

export type MetricValue = number | HistogramValue;

/**
 * One row of a meta table. `labels` holds the table's key and label fields (strings or numbers);
 * `values` holds its metric fields in the field's declared unit. Counters are cumulative since
 * the series started (the driver accumulates); gauges are the current value.
 */
export interface Row {
  labels: Record<string, string | number>;
  values: Record<string, MetricValue>;
}

/** Log with context; `fields` are printed as key=value. */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** Small persistent key/value space for one probe (backed by Deno KV). */
export interface ProbeState {
  get<T>(key: string[]): Promise<T | undefined>;
  set(key: string[], value: unknown): Promise<void>;
  delete(key: string[]): Promise<void>;
  list<T>(prefix: string[]): Promise<Array<{ key: string[]; value: T }>>;
}

/** What a driver reports about itself; shown in `GET /<probe>` under `status` and as metrics. */
export interface DriverStatus {
  /** Optional parts that could not start, with the reason (e.g. an attach point this kernel lacks). */
  degraded?: Array<{ part: string; reason: string }>;
  /** Anything else worth showing an operator (counters, attached pids, errors per pid...). */
  details?: Record<string, unknown>;
}

/** Everything a driver gets from the runner. */
export interface ProbeContext {
  manifest: Manifest;
  /** Meta tables this probe fills, by name. */
  tables: ReadonlyMap<string, MetaTable>;
  /** Absolute path of the probe's folder (for its BPF object, helper jars...). */
  probeDir: string;
  /** Absolute path of the build output dir (BPF objects, jars): `build/` or the embedded copy. */
  buildDir: string;
  /** The runner's state dir (KV file, sockets...). */
  stateDir: string;
  log: Logger;
  state: ProbeState;
  /** Publish rows of one meta table (one report). Rows not re-published go stale and vanish. */
  emit(table: string, rows: Row[]): void;
  /**
   * Aborted when the driver is being stopped. `signal.reason` is `"shutdown"` when the runner
   * itself is exiting (keep external state, e.g. attached agents, for the next start).
   */
  signal: AbortSignal;
}

/** A running probe. All methods may throw; the manager logs and restarts with backoff. */
export interface ProbeDriver {
  /** Start with the given config and watched pids. Resolve once running (or throw why not). */
  start(config: ProbeConfig, pids: ReadonlySet<number>): Promise<void>;
  /** A new accepted config while running (sub-probes, params, snoopers may differ). */
  reconfigure(config: ProbeConfig, pids: ReadonlySet<number>): Promise<void>;
  /** The set of watched pids changed (processes started/exited or snoopers changed). */
  updatePids(pids: ReadonlySet<number>): void | Promise<void>;
  /** Stop and release everything (BPF links, sockets, timers). Must be safe to call twice. */
  stop(): Promise<void>;
  /** Current status for the API and metrics. */
  status?(): DriverStatus;
  /**
   * Resolves (or rejects) if the driver dies on its own (e.g. a child process exits);
   * the manager restarts it with backoff. Optional.
   */
  done?: Promise<void>;
}

/** The default export of a driver module. */
export type DriverFactory = (ctx: ProbeContext) => ProbeDriver;
