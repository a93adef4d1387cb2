/**
 * The JVM probe's driver (`/sermant`, `/jvm`): one {@link JvmSession} per watched JVM. Watched
 * pids get the agent attached; pids that leave the set (or `state: stopped`) get it detached.
 * When the runner shuts down (abort reason {@link SHUTDOWN}) agents stay attached and reconnect
 * to the next runner, which finds them through the attach records in KV.
 *
 * @module
 */

import type {
  DriverFactory,
  DriverStatus,
  ProbeConfig,
  ProbeContext,
  ProbeDriver,
  Row,
} from "../../runner/probe_api.ts";
import type { AgentConfig } from "./messages.ts";
import { AttachStore } from "./attach_state.ts";
import { jarVersion } from "./jar_version.ts";
import { JvmSession } from "./session.ts";
import { sameProcess } from "./target.ts";

/** Abort reason (or `stop()` argument) meaning "the runner is shutting down: keep agents attached". */
export const SHUTDOWN = "shutdown";

/** Most spans kept per JVM and period in `l7_rpc_trace`. */
const SPAN_LIMIT = 500;

/** Recent attach failures shown in the status. */
const MAX_FAILURES = 50;

const INSTRUMENTATIONS_OF = (ctx: ProbeContext, probes: string[]) =>
  new Set(ctx.manifest.subprobes.filter((s) => probes.includes(s.name)).flatMap((s) => s.enables));

/** The CONFIG frame for a probe config. */
export function agentConfigFor(ctx: ProbeContext, c: ProbeConfig): AgentConfig {
  const bounds = ctx.tables.get("l7_rpc")?.metrics.find((m) => m.name === "latency")?.buckets ?? [];
  const enabled = INSTRUMENTATIONS_OF(ctx, c.probes);
  const disabled = new Set(c.params.disabled_instrumentations as string[] ?? []);
  for (const a of ctx.manifest.attach) if (!enabled.has(a.name)) disabled.add(a.name);
  return {
    reportPeriodMs: Number(c.params.report_period ?? 60) * 1000,
    metrics: c.probes.includes("l7_rpc_metrics"),
    bytes: c.probes.includes("l7_bytes_metrics"),
    trace: c.probes.includes("l7_rpc_trace"),
    traceSampleRatio: Number(c.params.trace_sample_ratio ?? 0.01),
    cardinalityCap: Number(c.params.cardinality_cap ?? 2000),
    latencyBoundsNs: bounds.map((s) => Math.round(s * 1e9)),
    disabled: [...disabled],
  };
}

class JvmDriver implements ProbeDriver {
  readonly #ctx: ProbeContext;
  readonly #store: AttachStore;
  readonly #sessions = new Map<number, JvmSession>();
  /** Recent attach failures, kept after their pid is gone so `GET /sermant` still shows why. */
  readonly #failures = new Map<number, { comm: string; error: string; at: string }>();
  #config: ProbeConfig | undefined;
  #agent: AgentConfig | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #stopped = false;
  /** Implementation-Version of the agent jar this runner attaches. */
  #agentVersion = "";
  #reconcile: Promise<void> = Promise.resolve();

  constructor(ctx: ProbeContext) {
    this.#ctx = ctx;
    this.#store = new AttachStore(ctx.state);
  }

  async start(config: ProbeConfig, pids: ReadonlySet<number>): Promise<void> {
    for (const jar of ["demarc-attach.jar", "demarc-agent.jar"]) {
      try {
        await Deno.stat(`${this.#ctx.buildDir}/java/${jar}`);
      } catch (e) {
        throw new Error(
          `${this.#ctx.buildDir}/java/${jar} is missing (hint: run \`deno task build --java-only\`)`,
          { cause: e },
        );
      }
    }
    this.#agentVersion = await jarVersion(`${this.#ctx.buildDir}/java/demarc-agent.jar`);
    this.#apply(config);
    // Attach records of JVMs no longer watched (the runner was down while snoopers changed).
    for (const r of await this.#store.all()) {
      if (!pids.has(r.pid) && !await sameProcess(r)) await this.#store.delete(r.pid);
    }
    await this.updatePids(pids);
    this.#timer = setInterval(
      () => this.#publishHealth(),
      Number(config.params.report_period) * 1000,
    );
  }

  #apply(config: ProbeConfig): void {
    this.#config = config;
    this.#agent = agentConfigFor(this.#ctx, config);
  }

  reconfigure(config: ProbeConfig, pids: ReadonlySet<number>): Promise<void> {
    const periodChanged = config.params.report_period !== this.#config?.params.report_period;
    this.#apply(config);
    for (const s of this.#sessions.values()) {
      // A new config is the operator's cue to try failed JVMs again.
      if (s.state === "failed") this.#sessions.delete(s.pid);
      else s.reconfigure();
    }
    if (periodChanged) {
      clearInterval(this.#timer);
      this.#timer = setInterval(
        () => this.#publishHealth(),
        Number(config.params.report_period) * 1000,
      );
    }
    this.updatePids(pids);
    return Promise.resolve();
  }

  /**
   * Attach to new pids, detach from pids that left. Returns at once (attaching takes seconds and
   * must not hold up the API or the pid scan); {@link settled} waits for the work queued so far.
   */
  updatePids(pids: ReadonlySet<number>): void {
    const target = new Set(pids);
    this.#reconcile = this.#reconcile.then(() => this.#reconcileTo(target)).catch((e) =>
      this.#ctx.log.error("reconciling watched JVMs failed", { error: e })
    );
  }

  /** Resolves when every attach and detach queued so far has finished. */
  settled(): Promise<void> {
    return this.#reconcile;
  }

  async #reconcileTo(pids: Set<number>): Promise<void> {
    if (this.#stopped) return;
    const leaving = [...this.#sessions.values()].filter((s) => !pids.has(s.pid));
    await Promise.all(leaving.map(async (s) => {
      this.#sessions.delete(s.pid);
      await s.detach();
    }));
    const arriving = [...pids].filter((p) => !this.#sessions.has(p)).map((pid) => {
      const s = this.#newSession(pid);
      this.#sessions.set(pid, s);
      return s.start();
    });
    await Promise.all(arriving);
  }

  #newSession(pid: number): JvmSession {
    const ctx = this.#ctx;
    return new JvmSession(pid, {
      log: ctx.log,
      store: this.#store,
      helper: {
        jar: `${ctx.buildDir}/java/demarc-attach.jar`,
        // The helper keeps its steps within attach_timeout itself; this kill is the backstop,
        // with room for the helper JVM's own start-up on a loaded host.
        timeoutMs: Number(this.#config!.params.attach_timeout ?? 20) * 1000 + 10_000,
      },
      agentJar: `${ctx.buildDir}/java/demarc-agent.jar`,
      agentVersion: this.#agentVersion,
      bucketCount: this.#agent!.latencyBoundsNs.length + 1,
      attachTimeoutMs: Number(this.#config!.params.attach_timeout ?? 20) * 1000,
      config: () => ({
        agent: this.#agent!,
        // The disabled instrumentations at attach too, so the agent installs only the enabled ones
        // from the start and its HELLO says so (CONFIG's `disabled` changes them later).
        extraAgentArgs: (this.#config!.params.fault_injection === true ? ";debug=throw" : "") +
          (this.#agent!.disabled.length ? `;disabled=${this.#agent!.disabled.join(",")}` : ""),
        latencyThrMs: Number(this.#config!.params.latency_thr ?? 0),
        spanLimit: SPAN_LIMIT,
      }),
      publish: (s) => this.#publish(s),
      failed: (s) => this.#remember(s),
    });
  }

  #remember(s: JvmSession): void {
    this.#failures.set(s.pid, { comm: s.comm, error: s.error ?? "", at: new Date().toISOString() });
    while (this.#failures.size > MAX_FAILURES) {
      this.#failures.delete(this.#failures.keys().next().value!);
    }
  }

  #publish(s: JvmSession): void {
    if (this.#stopped || this.#sessions.get(s.pid) !== s) return;
    const c = this.#agent!;
    const series = s.reports?.series;
    if (series && s.reports!.health.reports > 0) {
      if (c.metrics) {
        this.#emit("l7_rpc", series.linkRows());
        this.#emit("l7_rpc_api", series.apiRows());
      }
      if (c.bytes) this.#emit("l7_link", series.bytesRows());
      if (c.trace) this.#emit("l7_rpc_trace", series.spanRows());
    }
    this.#emit("l7_agent", [healthRow(s)]);
  }

  #publishHealth(): void {
    const rows = [...this.#sessions.values()].filter((s) => s.state !== "failed").map(healthRow);
    this.#emit("l7_agent", rows);
  }

  #emit(table: string, rows: Row[]): void {
    if (!rows.length) return;
    try {
      this.#ctx.emit(table, rows);
    } catch (e) {
      this.#ctx.log.warn("emit failed", { table, error: e });
    }
  }

  /**
   * Stop: detach every agent, unless the runner is shutting down (`reason` or the context's abort
   * reason is {@link SHUTDOWN}): then only close the channels, so agents reconnect to the next runner.
   */
  async stop(reason?: string): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#reconcile.catch(() => {});
    const keep = reason === SHUTDOWN || this.#ctx.signal.reason === SHUTDOWN;
    const sessions = [...this.#sessions.values()];
    this.#sessions.clear();
    await Promise.all(sessions.map((s) => keep ? s.release() : s.detach()));
  }

  status(): DriverStatus {
    const jvms: Record<string, unknown> = {};
    const degraded: Array<{ part: string; reason: string }> = [];
    for (const s of this.#sessions.values()) {
      jvms[String(s.pid)] = {
        comm: s.comm,
        state: s.state,
        error: s.error,
        reconnected: s.reconnected || undefined,
        agentVersion: s.hello?.agentVersion,
        jvm: s.hello?.jvm,
        instrumentations: s.hello?.instrumentations,
        reports: s.reports?.health.reports ?? 0,
        internalErrors: s.reports?.health.internalErrors ?? 0,
        lastInternalError: s.reports?.lastInternalError,
        lastReportAt: s.reports?.lastReportAt
          ? new Date(s.reports.lastReportAt).toISOString()
          : undefined,
      };
      if (s.state === "failed") {
        degraded.push({ part: `pid ${s.pid}`, reason: s.error ?? "attach failed" });
      }
    }
    const failures = Object.fromEntries([...this.#failures].map(([pid, f]) => [String(pid), f]));
    return { degraded, details: { jvms, failures } };
  }
}

function healthRow(s: JvmSession): Row {
  const h = s.reports?.health;
  const active = s.hello?.instrumentations.filter((i) => i.active).length ?? 0;
  return {
    labels: {
      tgid: s.pid,
      comm: s.comm,
      agent_version: s.hello?.agentVersion ?? "",
      jvm_version: String(s.hello?.jvm?.version ?? ""),
    },
    values: {
      connected: s.connected ? 1 : 0,
      instrumentations_active: active,
      reports: h?.reports ?? 0,
      last_report_time_seconds: (s.reports?.lastReportAt ?? 0) / 1000,
      overflow_rows: h?.overflowRows ?? 0,
      dropped_frames: h?.droppedFrames ?? 0,
      dropped_spans: h?.droppedSpans ?? 0,
      internal_errors: h?.internalErrors ?? 0,
    },
  };
}

/** The driver factory (the module's default export, named by `probe.yaml`). */
const createJvmDriver: DriverFactory = function createJvmDriver(ctx) {
  return new JvmDriver(ctx);
};
export default createJvmDriver;
