/**
 * The probe manager: turns accepted configs into running drivers, keeps their watched pids
 * current, and restarts a crashed driver with backoff. One probe's failure never stops another.
 *
 * @module
 */

import { pathToFileURL } from "node:url";
import { defaultConfig, mergeConfig } from "./config.ts";
import type { LoadedManifest } from "./manifest.ts";
import type { MetaTable } from "./meta.ts";
import type {
  DriverFactory,
  DriverStatus,
  Logger,
  ProbeConfig,
  ProbeContext,
  ProbeDriver,
  Row,
} from "./probe_api.ts";
import { listProcesses, readProcesses, sameSet, selectPids } from "./processes.ts";
import { openExecWatch } from "./exec_watch.ts";
import type { ExecWatch } from "./exec_watch.ts";
import type { ProcessInfo } from "./processes.ts";
import type { SeriesRegistry } from "./series.ts";
import type { Store } from "./store.ts";

export type Phase = "stopped" | "starting" | "running" | "failed";

/** What `GET /<probe>` shows under `status`. */
export interface ProbeRuntimeStatus {
  phase: Phase;
  restarts: number;
  lastError?: string;
  nextRestartAt?: string;
  watchedPids: number;
  /** How new processes are found (probes with snoopers): exec events and the scan, or the scan. */
  processDiscovery?: string;
  driver?: DriverStatus;
}

interface Entry {
  loaded: LoadedManifest;
  tables: Map<string, MetaTable>;
  config: ProbeConfig;
  driver?: ProbeDriver;
  abort?: AbortController;
  phase: Phase;
  restarts: number;
  lastError?: string;
  retryTimer?: ReturnType<typeof setTimeout>;
  nextRestartAt?: number;
  pids: Set<number>;
  /** Serialises operations on this probe. */
  queue: Promise<unknown>;
}

export interface ManagerOptions {
  manifests: LoadedManifest[];
  tables: Map<string, MetaTable>;
  store: Store;
  registry: SeriesRegistry;
  log: Logger & { child(s: Record<string, string>): Logger };
  buildDir: string;
  stateDir: string;
  /** How often /proc is scanned to keep watched pids current (exits, forks, missed execs). */
  scanIntervalMs?: number;
  /** Also match processes as they exec (BPF on sched_process_exec), when it can be loaded. */
  execWatch?: boolean;
  /** First restart delay; doubles up to `maxBackoffMs`. */
  backoffMs?: number;
  maxBackoffMs?: number;
}

/** A driver failed to start; the config was kept and a restart is scheduled. */
export class ProbeStartError extends Error {
  override name = "ProbeStartError";
}

export class ProbeManager {
  readonly #o: Required<ManagerOptions>;
  readonly #entries = new Map<string, Entry>();
  readonly #regexCache = new Map<string, RegExp>();
  #scanTimer: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  #execWatch: ExecWatch | undefined;
  #execWatchOpening: Promise<void> | undefined;
  #discovery: string;

  constructor(opts: ManagerOptions) {
    this.#o = {
      scanIntervalMs: 1000,
      execWatch: true,
      backoffMs: 1000,
      maxBackoffMs: 60_000,
      ...opts,
    };
    this.#discovery = this.#scanText(this.#o.execWatch ? "exec watch not started yet" : "off");
    for (const loaded of opts.manifests) {
      const m = loaded.manifest;
      const tables = new Map<string, MetaTable>();
      for (const s of m.subprobes) {
        for (const t of s.tables) {
          const meta = opts.tables.get(t);
          if (!meta) {
            throw new Error(
              `${loaded.file}: sub-probe ${s.name} fills table "${t}" which no meta/*.yaml declares`,
            );
          }
          tables.set(t, meta);
        }
      }
      this.#entries.set(m.name, {
        loaded,
        tables,
        config: defaultConfig(m),
        phase: "stopped",
        restarts: 0,
        pids: new Set(),
        queue: Promise.resolve(),
      });
    }
  }

  /** Names of the managed probes. */
  get names(): string[] {
    return [...this.#entries.keys()];
  }

  /** Load stored configs and start the probes that were running. */
  async restore(): Promise<void> {
    for (const [name, e] of this.#entries) {
      const saved = await this.#o.store.getConfig(name);
      if (!saved) continue;
      // A stored config is re-validated: a manifest may have changed since it was saved.
      try {
        e.config = mergeConfig(e.loaded.manifest, defaultConfig(e.loaded.manifest), {
          cmd: saved.probes.length ? { probe: saved.probes } : undefined,
          snoopers: saved.snoopers,
          blacklist: saved.blacklist,
          params: saved.params,
          state: saved.state,
        });
      } catch (err) {
        this.#o.log.warn("stored config no longer valid; probe left stopped", {
          probe: name,
          error: err,
        });
        continue;
      }
      if (e.config.state === "running") {
        await this.#serial(e, () => this.#startDriver(e)).catch(() => {});
      }
    }
    this.#scanTimer = setInterval(() => void this.#refreshPids(), this.#o.scanIntervalMs);
  }

  config(name: string): ProbeConfig {
    return this.#entry(name).config;
  }

  status(name: string): ProbeRuntimeStatus {
    const e = this.#entry(name);
    let driver: DriverStatus | undefined;
    try {
      driver = e.driver?.status?.();
    } catch (err) {
      driver = { details: { statusError: String(err) } };
    }
    return {
      phase: e.phase,
      restarts: e.restarts,
      lastError: e.lastError,
      nextRestartAt: e.nextRestartAt ? new Date(e.nextRestartAt).toISOString() : undefined,
      watchedPids: e.pids.size,
      processDiscovery: e.loaded.manifest.snoopers ? this.#discovery : undefined,
      driver,
    };
  }

  /**
   * Validate `doc` against the probe's manifest, save it, and start/reconfigure/stop the driver.
   *
   * @throws {ConfigError} when the request is rejected (nothing changed).
   * @throws {ProbeStartError} when the config was saved but the driver failed to start.
   */
  apply(name: string, doc: Record<string, unknown>): Promise<void> {
    const e = this.#entry(name);
    return this.#serial(e, async () => {
      const next = mergeConfig(e.loaded.manifest, e.config, doc);
      const pids = next.state === "running"
        ? this.#pidsFor({ ...e, config: next }, listProcesses())
        : new Set<number>();
      await this.#o.store.setConfig(name, next);
      const wasRunning = e.driver !== undefined;
      e.config = next;
      if (next.state === "stopped") {
        await this.#stopDriver(e);
        e.phase = "stopped";
        e.restarts = 0;
        e.lastError = undefined;
        return;
      }
      e.pids = pids;
      if (wasRunning && e.phase === "running") {
        try {
          await e.driver!.reconfigure(next, e.pids);
          return;
        } catch (err) {
          this.#log(e).warn("reconfigure failed; restarting the driver", { error: err });
          await this.#stopDriver(e);
        }
      } else if (wasRunning) {
        await this.#stopDriver(e);
      }
      clearTimeout(e.retryTimer);
      e.restarts = 0;
      e.lastError = undefined;
      await this.#startDriver(e);
      if (e.phase === "failed") {
        throw new ProbeStartError(
          `config saved, but probe ${name} failed to start: ${e.lastError}; retrying with backoff`,
        );
      }
    });
  }

  #entry(name: string): Entry {
    const e = this.#entries.get(name);
    if (!e) throw new Error(`no probe named ${name}`);
    return e;
  }

  #log(e: Entry): Logger {
    return this.#o.log.child({ probe: e.loaded.manifest.name });
  }

  #serial<T>(e: Entry, fn: () => Promise<T>): Promise<T> {
    const p = e.queue.then(fn, fn);
    e.queue = p.catch(() => {});
    return p;
  }

  #pidsFor(e: Entry, procs: ProcessInfo[]): Set<number> {
    if (!e.loaded.manifest.snoopers) return new Set();
    return selectPids(procs, e.config.snoopers, e.config.blacklist, this.#regexCache);
  }

  async #startDriver(e: Entry): Promise<void> {
    const m = e.loaded.manifest;
    const log = this.#log(e);
    e.phase = "starting";
    const abort = new AbortController();
    e.abort = abort;
    try {
      const mod = await import(pathToFileURL(`${e.loaded.dir}/${m.driver}`).href);
      const factory = mod.default as DriverFactory;
      if (typeof factory !== "function") {
        throw new Error(`${m.driver} has no default export of a driver factory`);
      }
      const driver = factory(this.#context(e, abort.signal, log));
      e.driver = driver;
      if (!e.pids.size && m.snoopers) e.pids = this.#pidsFor(e, listProcesses());
      await driver.start(e.config, e.pids);
      e.phase = "running";
      if (m.snoopers) await this.#startExecWatch();
      // lastError stays until the next config change, so an operator sees why it restarted.
      e.nextRestartAt = undefined;
      log.info("probe running", { subprobes: e.config.probes.join(","), pids: e.pids.size });
      driver.done?.then(
        () => this.#crashed(e, driver, new Error("driver stopped on its own")),
        (err) => this.#crashed(e, driver, err),
      );
    } catch (err) {
      log.error("probe failed to start", { error: err });
      await this.#stopDriver(e);
      e.lastError = (err as Error).message ?? String(err);
      this.#scheduleRestart(e);
    }
  }

  #crashed(e: Entry, driver: ProbeDriver, err: unknown): void {
    if (e.driver !== driver || this.#closed || e.abort?.signal.aborted) return;
    void this.#serial(e, async () => {
      if (e.driver !== driver) return;
      this.#log(e).error("probe crashed", { error: err });
      await this.#stopDriver(e);
      e.lastError = (err as Error)?.message ?? String(err);
      this.#scheduleRestart(e);
    });
  }

  #scheduleRestart(e: Entry): void {
    e.phase = "failed";
    if (this.#closed) return;
    const delay = Math.min(this.#o.maxBackoffMs, this.#o.backoffMs * 2 ** Math.min(e.restarts, 16));
    e.nextRestartAt = Date.now() + delay;
    clearTimeout(e.retryTimer);
    e.retryTimer = setTimeout(() => {
      if (this.#closed || e.config.state !== "running" || e.phase !== "failed") return;
      e.restarts++;
      this.#log(e).info("restarting probe", { attempt: e.restarts });
      void this.#serial(e, () => this.#startDriver(e));
    }, delay);
  }

  /** `reason` becomes the abort reason drivers see (`"shutdown"`: the runner is exiting, keep external state such as attached agents). */
  async #stopDriver(e: Entry, reason?: string): Promise<void> {
    clearTimeout(e.retryTimer);
    e.abort?.abort(reason);
    const d = e.driver;
    e.driver = undefined;
    e.abort = undefined;
    if (d) {
      try {
        await d.stop();
      } catch (err) {
        this.#log(e).warn("driver stop failed", { error: err });
      }
    }
    this.#o.registry.dropProbe(e.loaded.manifest.name);
  }

  #context(e: Entry, signal: AbortSignal, log: Logger): ProbeContext {
    const name = e.loaded.manifest.name;
    return {
      manifest: e.loaded.manifest,
      tables: e.tables,
      probeDir: e.loaded.dir,
      buildDir: this.#o.buildDir,
      stateDir: this.#o.stateDir,
      log,
      state: this.#o.store.probeState(name),
      signal,
      emit: (table: string, rows: Row[]) => {
        if (signal.aborted) return;
        const meta = e.tables.get(table);
        if (!meta) {
          throw new Error(
            `probe ${name} emitted table "${table}" that its manifest does not declare`,
          );
        }
        const period = Number(e.config.params.report_period ?? 60);
        this.#o.registry.update(name, meta, rows, 2 * period * 1000 + 2000);
        this.#o.store.addSamples(name, table, rows);
      },
    };
  }

  #scanText(execWatch: string): string {
    return `/proc scan every ${this.#o.scanIntervalMs} ms; exec watch: ${execWatch}`;
  }

  /** Open the exec watch once, on the first probe with snoopers; failing leaves the scan alone. */
  #startExecWatch(): Promise<void> {
    if (!this.#o.execWatch) return Promise.resolve();
    this.#execWatchOpening ??= (async () => {
      try {
        this.#execWatch = await openExecWatch({
          objectPath: `${this.#o.buildDir}/bpf/exec_watch.bpf.o`,
          onExec: (tgids) => void this.#matchNew(tgids),
          log: this.#o.log,
        });
        if (this.#closed) this.#execWatch.close();
        this.#discovery = this.#scanText("on (new processes matched as they exec)");
      } catch (err) {
        this.#discovery = this.#scanText(`unavailable, ${(err as Error).message}`);
        this.#o.log.warn("exec watch unavailable; new processes are found by the /proc scan", {
          error: err,
        });
      }
    })();
    return this.#execWatchOpening;
  }

  /** Processes that just exec'd: add those a running probe's snoopers select. */
  async #matchNew(tgids: number[]): Promise<void> {
    const running = [...this.#entries.values()].filter((e) =>
      e.phase === "running" && e.loaded.manifest.snoopers
    );
    if (!running.length || !tgids.length) return;
    const procs = readProcesses(tgids);
    for (const e of running) {
      const added = [...this.#pidsFor(e, procs)].filter((p) => !e.pids.has(p));
      if (!added.length) continue;
      e.pids = new Set([...e.pids, ...added]);
      try {
        await e.driver?.updatePids(e.pids);
      } catch (err) {
        this.#log(e).warn("updatePids failed", { error: err });
      }
    }
  }

  async #refreshPids(): Promise<void> {
    const running = [...this.#entries.values()].filter((e) =>
      e.phase === "running" && e.loaded.manifest.snoopers
    );
    if (!running.length) return;
    const procs = listProcesses();
    for (const e of running) {
      const next = this.#pidsFor(e, procs);
      if (sameSet(next, e.pids)) continue;
      e.pids = next;
      const d = e.driver;
      if (!d) continue;
      try {
        await d.updatePids(next);
      } catch (err) {
        this.#log(e).warn("updatePids failed", { error: err });
      }
    }
  }

  /** Stop every driver (configs stay saved, so they start again after a restart). */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#scanTimer);
    this.#execWatch?.close();
    for (const e of this.#entries.values()) {
      await this.#serial(e, () => this.#stopDriver(e, "shutdown"));
    }
  }
}
