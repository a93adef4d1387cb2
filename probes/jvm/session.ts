/**
 * One watched JVM: attach the agent (or reconnect to the one a previous runner attached), keep its
 * channel, accumulate its reports, and detach it. The driver owns one session per pid.
 *
 * @module
 */

import type { Logger } from "../../runner/probe_api.ts";
import { type HelperOptions, runHelper } from "./attach_helper.ts";
import { type AttachRecord, type AttachStore, newNonce, newSecret } from "./attach_state.ts";
import { Channel } from "./channel.ts";
import { type Frame, FrameType } from "./frames.ts";
import { type AgentConfig, type Hello, instrumentationsSchema } from "./messages.ts";
import { AgentReports } from "./reports.ts";
import { inspectTarget, sameProcess, type TargetInfo } from "./target.ts";

/** Length of the first report period after a (re)connect. */
const FIRST_PERIOD_MS = 1000;

/** Where a session is in its life. */
export type SessionState = "attaching" | "connected" | "disconnected" | "failed" | "detached";

/** Everything a session needs from its driver. */
export interface SessionDeps {
  log: Logger;
  store: AttachStore;
  helper: HelperOptions;
  /** demarc-agent.jar as the runner sees it. */
  agentJar: string;
  /** The agent version this runner expects. */
  agentVersion: string;
  /** Histogram buckets including +Inf. */
  bucketCount: number;
  /** How long to wait for the agent's HELLO after loading it (and for a reconnect). */
  attachTimeoutMs: number;
  /** Current agent config and span filter. */
  config(): { agent: AgentConfig; extraAgentArgs: string; latencyThrMs: number; spanLimit: number };
  /** The session has new rows to publish. */
  publish(s: JvmSession): void;
  /** Attaching failed ({@link JvmSession.error} says why). */
  failed(s: JvmSession): void;
}

/** The JVM cannot be attached; the message is shown in `GET /sermant` status. */
export class AttachError extends Error {
  override name = "AttachError";
}

/** One watched JVM and its agent. */
export class JvmSession {
  readonly pid: number;
  readonly #d: SessionDeps;
  state: SessionState = "attaching";
  error: string | undefined;
  comm = "";
  hello: Hello | undefined;
  /** True when this session found an agent a previous runner attached (no new attach). */
  reconnected = false;
  /** What the agent reported (set once the process is known). */
  reports: AgentReports | undefined;
  #channel: Channel | undefined;
  #record: AttachRecord | undefined;
  #helloWaiters: Array<() => void> = [];
  #quickFirstPeriod = false;

  constructor(pid: number, deps: SessionDeps) {
    this.pid = pid;
    this.#d = deps;
  }

  /**
   * Attach (or reconnect to an agent attached by a previous runner). Never throws: failures end
   * in state `failed` with {@link error} set.
   */
  async start(): Promise<void> {
    try {
      await this.#start();
    } catch (e) {
      this.state = "failed";
      this.error = (e as Error).message;
      this.#d.log.warn("attach failed", { pid: this.pid, comm: this.comm, error: this.error });
      await this.#channel?.close();
      this.#channel = undefined;
      this.#d.failed(this);
    }
  }

  async #start(): Promise<void> {
    const info = await inspectTarget(this.pid).catch((e) => {
      throw new AttachError((e as Error).message);
    });
    this.comm = info.comm;
    this.reports = new AgentReports(
      { tgid: this.pid, comm: info.comm },
      this.#d.bucketCount,
      this.#d.log,
    );
    const saved = await this.#d.store.get(this.pid);
    if (saved && saved.startTicks === info.startTicks) {
      this.#record = saved;
      await this.#openChannel(saved);
      if (await this.#waitHello(Math.max(this.#d.attachTimeoutMs, 7000))) {
        this.reconnected = true;
        this.#d.log.info("agent reconnected; no new attach", { pid: this.pid, comm: this.comm });
        return;
      }
      const check = await runHelper(this.#d.helper, this.#helperArgs("check")).catch(
        () => undefined,
      );
      if (check?.ok && agentPresent(check.answer)) {
        this.state = "disconnected";
        this.error = "the agent is loaded but has not reconnected yet";
        return;
      }
      this.#d.log.info("saved attachment has no live agent; attaching again", { pid: this.pid });
    } else {
      if (saved) await this.#d.store.delete(this.pid);
      if (info.isJvm === false) {
        throw new AttachError(
          `pid ${this.pid} (${info.comm}) is not a HotSpot JVM: no libjvm.so is mapped ` +
            `(hint: check the snoopers; only Java processes can be attached)`,
        );
      }
      this.#record = newRecord(info, this.#d.agentVersion);
      await this.#openChannel(this.#record);
    }
    await this.#attach(info);
  }

  async #openChannel(r: AttachRecord): Promise<void> {
    await this.#channel?.close();
    this.#channel = new Channel(
      { hostPath: r.hostPath, uid: r.uid, gid: r.gid, secret: r.secret },
      {
        onHello: (h) => this.#onHello(h),
        onFrame: (f) => this.#onFrame(f),
        onDisconnect: (reason) => this.#onDisconnect(reason),
        onWarning: (m) => this.#d.log.warn(m, { pid: this.pid }),
      },
    );
    await this.#channel.listen();
  }

  async #attach(info: TargetInfo): Promise<void> {
    const r = this.#record!;
    await this.#d.store.put(r);
    const args =
      `socket=${r.innerPath};secret=${r.secret};version=${r.agentVersion}${this.#d.config().extraAgentArgs}`;
    const t0 = performance.now();
    const res = await runHelper(
      this.#d.helper,
      this.#helperArgs("attach"),
      args,
    ).catch((e) => ({ ok: false, error: (e as Error).message, answer: {} }));
    if (!res.ok) {
      await this.#d.store.delete(this.pid);
      const gone = !(await sameProcess(info));
      throw new AttachError(
        gone
          ? `pid ${this.pid} exited during attach (${res.error})`
          : `attach to pid ${this.pid} (${info.comm}) failed: ${res.error}`,
      );
    }
    // One budget for the whole attach: the HELLO gets what the helper left of it (at least
    // 1 s: the agent connects right after its agentmain returned).
    const helloMs = Math.max(1000, this.#d.attachTimeoutMs - (performance.now() - t0));
    if (!await this.#waitHello(helloMs)) {
      const gone = !(await sameProcess(info));
      await runHelper(this.#d.helper, this.#helperArgs("detach")).catch(() => undefined);
      await this.#d.store.delete(this.pid);
      throw new AttachError(
        gone
          ? `pid ${this.pid} exited during attach`
          : `the agent was loaded into pid ${this.pid} but did not connect to ${r.innerPath} within ` +
            `${this.#d.attachTimeoutMs} ms (hint: see the JVM's stderr for [demarc] lines)`,
      );
    }
    this.#d.log.info("agent attached", {
      pid: this.pid,
      comm: this.comm,
      ms: Math.round(performance.now() - t0),
      agent: this.hello?.agentVersion,
    });
  }

  #helperArgs(command: "attach" | "check" | "detach"): string[] {
    return [
      command,
      "--pid",
      String(this.pid),
      "--agent",
      this.#d.agentJar,
      "--timeout-ms",
      String(this.#d.attachTimeoutMs),
    ];
  }

  #waitHello(timeoutMs: number): Promise<boolean> {
    if (this.state === "connected") return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.#helloWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  #onHello(h: Hello): void {
    this.hello = h;
    this.state = "connected";
    // A short first period, so the first sample arrives ~1 s after attach rather than a whole
    // report period later; the configured period follows the first report.
    const agent = this.#d.config().agent;
    this.#quickFirstPeriod = agent.reportPeriodMs > FIRST_PERIOD_MS;
    this.#channel?.sendConfig(
      this.#quickFirstPeriod ? { ...agent, reportPeriodMs: FIRST_PERIOD_MS } : agent,
    );
    this.error = h.agentVersion === this.#d.agentVersion
      ? undefined
      : `agent version ${h.agentVersion} differs from the runner's ${this.#d.agentVersion}`;
    const waiters = this.#helloWaiters;
    this.#helloWaiters = [];
    for (const w of waiters) w();
    this.#d.publish(this);
  }

  #onFrame(f: Frame): void {
    if (f.type === FrameType.INSTRUMENTATIONS) {
      // An instrumentation became active (its library's classes loaded) or was disabled/enabled.
      const m = instrumentationsSchema.safeParse(f.payload);
      if (m.success && this.hello) {
        this.hello = { ...this.hello, instrumentations: m.data.instrumentations };
        this.#d.publish(this);
      } else if (!m.success) {
        this.#d.log.warn("INSTRUMENTATIONS frame of a wrong shape ignored", { pid: this.pid });
      }
      return;
    }
    if (!this.reports) return;
    const c = this.#d.config();
    const type = this.reports.handle(f, c);
    if (type !== FrameType.METRICS) return;
    if (this.#quickFirstPeriod) {
      this.#quickFirstPeriod = false;
      this.#channel?.sendConfig(c.agent);
    }
    this.#d.publish(this);
  }

  #onDisconnect(reason: string): void {
    if (this.state !== "connected") return;
    this.state = "disconnected";
    this.#d.log.info("agent disconnected", { pid: this.pid, reason });
    this.#d.publish(this);
  }

  /** Push a new CONFIG to the agent (after its short first period, if that is still running). */
  reconfigure(): void {
    if (!this.#quickFirstPeriod) this.#channel?.sendConfig(this.#d.config().agent);
  }

  /** Is the agent's channel up? */
  get connected(): boolean {
    return this.#channel?.connected ?? false;
  }

  /**
   * Uninstall the agent (DETACH over the channel, else the helper's `detach`), close the channel
   * and forget the attachment. Safe on a process that has exited.
   */
  async detach(): Promise<void> {
    const ch = this.#channel;
    let done = false;
    if (ch?.connected) done = await ch.detach(5000);
    const r = this.#record;
    if (!done && r && this.state !== "failed" && await sameProcess(r)) {
      const res = await runHelper(this.#d.helper, this.#helperArgs("detach")).catch((
        e,
      ) => ({
        ok: false,
        error: (e as Error).message,
      }));
      if (!res.ok) {
        this.#d.log.warn("detach through the helper failed", { pid: this.pid, error: res.error });
      }
    }
    await ch?.close();
    this.#channel = undefined;
    await this.#d.store.delete(this.pid);
    this.state = "detached";
    this.#d.log.info("agent detached", { pid: this.pid, comm: this.comm });
  }

  /** Close the channel but leave the agent attached (the runner is shutting down). */
  async release(): Promise<void> {
    await this.#channel?.close();
    this.#channel = undefined;
  }
}

function newRecord(info: TargetInfo, agentVersion: string): AttachRecord {
  const innerPath = `/tmp/demarc-${info.pid}-${newNonce()}.sock`;
  return {
    pid: info.pid,
    startTicks: info.startTicks,
    uid: info.uid,
    gid: info.gid,
    // Through /proc/<pid>/root only for a JVM in another mount namespace: once the JVM exits,
    // that path is gone, and a socket in the runner's own /tmp could no longer be removed.
    hostPath: info.sameMountNamespace ? innerPath : `/proc/${info.pid}/root${innerPath}`,
    innerPath,
    secret: newSecret(),
    agentVersion,
    attachedAt: new Date().toISOString(),
  };
}

/** Does a `check` answer say a demarc agent is loaded? */
function agentPresent(answer: Record<string, unknown>): boolean {
  return Boolean(answer.agentLoaded ?? answer.agent ?? answer.agentVersion ?? answer.demarcAgent);
}
