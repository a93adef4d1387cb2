/**
 * The TCP probe's driver: loads tcp.bpf.o, keeps the kernel's watched-pid map and the set of
 * network namespaces current, consumes close records every 100 ms, and every report period reads
 * every tracked connection (a walk of the kernel's connection map) and publishes one row per flow
 * in each enabled table. Namespaces are walked with iter/tcp only to adopt existing sockets.
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
import {
  ensureTracefs,
  kernelStructMembers,
  NetnsSet,
  releaseFreeMemory,
} from "../../ffi/libbpf.ts";
import { adoptSockets } from "./adopt.ts";
import { FlowTable } from "./flows.ts";
import { type KernelHz, kernelHz } from "./hz.ts";
import { type Degraded, type KernelSizes, MARKERS, PROGRAMS, TcpKernel } from "./kernel.ts";
import { HealthCounters } from "./health.ts";
import { FIELDS, KIND, TcpSnap } from "./layout.ts";

const CONSUME_MS = 100;
/** After a drain that found the ring this full (a share of its records), drain again this soon. */
const BURST_SHARE = 1 / 8, BURST_MS = 10;

/** Raised when the probe cannot run at all on this host. */
export class TcpProbeError extends Error {
  override name = "TcpProbeError";
}

function sizesOf(c: ProbeConfig): KernelSizes {
  const n = (k: string, d: number) => Number(c.params[k] ?? d);
  return {
    maxConnections: n("max_connections", 65536),
    maxListeners: n("max_listeners", 4096),
    maxPids: n("max_pids", 16384),
    ringbufSize: n("ringbuf_size", 2 << 20),
  };
}

/**
 * The value groups the enabled sub-probes publish (`struct tcp_cfg.fields`). A group that is off
 * reads as zero, and its table is not published either.
 */
function fieldsOf(c: ProbeConfig): number {
  let m = 0;
  for (const p of c.probes) m |= FIELDS[p] ?? 0;
  return m;
}

function histogramBounds(ctx: ProbeContext, table: string, field: string): number[] {
  return ctx.tables.get(table)?.metrics.find((m) => m.name === field)?.buckets ?? [];
}

class TcpDriver implements ProbeDriver {
  readonly #ctx: ProbeContext;
  #kernel: TcpKernel | undefined;
  #flows: FlowTable | undefined;
  #netns = new NetnsSet();
  #config: ProbeConfig | undefined;
  #pids: ReadonlySet<number> = new Set();
  #consumeTimer: ReturnType<typeof setInterval> | undefined;
  #burstTimer: ReturnType<typeof setTimeout> | undefined;
  /** Records that fill BURST_SHARE of the ring buffer. */
  #burstRecords = Infinity;
  #reportTimer: ReturnType<typeof setInterval> | undefined;
  #degraded: Degraded[] = [];
  /** Optional programs left out at load (reported when their sub-probe is on). */
  #loadDegraded: Degraded[] = [];
  #health = new HealthCounters();
  #reporting: Promise<void> | undefined;
  /** The kernel holds the histogram bounds, so it can fold closes (param fold_closes). */
  #foldable = false;
  /** CONFIG_HZ, read at the first start. */
  #hz: KernelHz | undefined;
  /** Whether this kernel's tcp_sock counts retransmission timeouts (6.7+), read at first need. */
  #countsTimeouts: boolean | undefined;
  /** Newly watched processes whose existing sockets the next read adopts. */
  #scanPids = new Set<number>();
  #lastError: string | undefined;
  #reports = 0;
  /** Value groups the kernel reads per socket: those of the enabled sub-probes. */
  #fields = 0;

  constructor(ctx: ProbeContext) {
    this.#ctx = ctx;
    ctx.signal.addEventListener("abort", () => void this.stop());
  }

  async start(config: ProbeConfig, pids: ReadonlySet<number>): Promise<void> {
    await this.#tracefsFor(config);
    const hz = this.#hz ??= await kernelHz();
    try {
      Deno.statSync("/sys/kernel/btf/vmlinux");
    } catch {
      throw new TcpProbeError(
        "this kernel exposes no BTF (/sys/kernel/btf/vmlinux missing); hint: the TCP probe needs " +
          "a kernel built with CONFIG_DEBUG_INFO_BTF=y",
      );
    }
    const buckets = {
      connectLatency: histogramBounds(this.#ctx, "tcp_delay", "connect_latency"),
      synRtt: histogramBounds(this.#ctx, "tcp_srtt", "syn_rtt"),
    };
    const flows = new FlowTable(buckets, hz.hz);
    this.#flows = flows;
    this.#loadDegraded = [];
    this.#kernel = await TcpKernel.open(
      `${this.#ctx.buildDir}/bpf/tcp.bpf.o`,
      sizesOf(config),
      (bytes, offset) => {
        if (flows.onClosedAt(bytes.buffer, offset) === KIND.CLOSED) this.#health.closedRecords++;
      },
      this.#loadDegraded,
    );
    this.#health = new HealthCounters();
    // Folding in the kernel buckets connect latency and SYN RTT itself: only while it can hold
    // the meta tables' bounds (else every close is a record, as with fold_closes=false).
    this.#foldable = this.#kernel.setHistogramBounds(buckets.connectLatency, buckets.synRtt);
    try {
      this.#apply(config);
      this.updatePids(pids);
    } catch (e) {
      await this.stop(); // one cleanup path: nothing stays attached after a failed start
      throw e;
    }
    this.#burstRecords = (sizesOf(config).ringbufSize / TcpSnap.size) * BURST_SHARE;
    this.#consumeTimer = setInterval(() => this.#consume(), CONSUME_MS);
    this.#ctx.log.info("tcp probe running", {
      attached: this.#kernel.attached().join(","),
      degraded: this.#degraded.map((d) => d.part).join(",") || "none",
    });
  }

  async reconfigure(config: ProbeConfig, pids: ReadonlySet<number>): Promise<void> {
    if (
      !this.#kernel || JSON.stringify(sizesOf(config)) !== JSON.stringify(sizesOf(this.#config!))
    ) {
      await this.stop();
      await this.start(config, pids);
      return;
    }
    await this.#tracefsFor(config);
    this.#apply(config);
    this.updatePids(pids);
  }

  updatePids(pids: ReadonlySet<number>): void {
    for (const p of pids) if (!this.#pids.has(p)) this.#scanPids.add(p);
    for (const p of this.#scanPids) if (!pids.has(p)) this.#scanPids.delete(p);
    this.#pids = new Set(pids);
    if (!this.#kernel) return;
    this.#kernel.setPids(this.#pids);
    this.#netns.update(this.#pids);
    if (this.#scanPids.size) this.#read(false); // adopt the existing sockets of new processes now
  }

  /** Classic tracepoints (server_owner=accept) need tracefs: mount it, or say how. */
  async #tracefsFor(config: ProbeConfig): Promise<void> {
    if (config.params.server_owner !== "accept") return;
    try {
      if (await ensureTracefs()) this.#ctx.log.info("mounted tracefs at /sys/kernel/tracing");
    } catch (e) {
      this.#ctx.log.warn("tracefs unavailable; accept attribution will degrade", { error: e });
    }
  }

  #apply(config: ProbeConfig): void {
    const k = this.#kernel!;
    const prevPeriod = this.#config?.params.report_period;
    this.#config = config;
    const wanted = new Set<string>();
    for (const name of config.probes) {
      for (const e of this.#ctx.manifest.subprobes.find((s) => s.name === name)?.enables ?? []) {
        if (PROGRAMS[e]) wanted.add(e);
      }
    }
    wanted.add("tp_btf/sched_process_fork"); // children of watched processes, from their start
    const owner = config.params.server_owner ?? "sendmsg";
    if (owner === "sendmsg") wanted.add("tp_btf/tcp_sendmsg_locked");
    if (owner === "accept") {
      wanted.add("tp/syscalls/sys_exit_accept4");
      wanted.add("tp/syscalls/sys_exit_accept");
    }
    // Activity markers: attached for read_changed_only whatever the sub-probes; a marker that
    // fails degrades read_changed_only (and is named itself only if a sub-probe wants it).
    const skipIdle = config.params.read_changed_only !== false;
    const all = new Set(wanted);
    if (skipIdle) { for (const m of MARKERS) all.add(m); }
    this.#fields = fieldsOf(config);
    const failed = k.setOptional(all).map((d) =>
      this.#loadDegraded.find((l) => l.part === d.part) ?? d
    );
    this.#degraded = failed.filter((d) => wanted.has(d.part));
    // The read of the slots needs kernel 6.6: before, the hash-table walk (same values, slower).
    const hashWalk = this.#loadDegraded.find((d) => d.part === "iter/bpf_map_elem");
    if (hashWalk) this.#degraded.push(hashWalk);
    const unmarked = skipIdle ? MARKERS.filter((m) => !k.attached().includes(m)) : [];
    if (unmarked.length) {
      this.#degraded.push({
        part: "read_changed_only",
        reason: `activity marker ${unmarked.join(", ")} not attached (${
          failed.find((d) => unmarked.includes(d.part))?.reason ?? "unknown"
        }): every socket is read in full each period`,
      });
    }
    if (config.probes.includes("tcp_abnormal")) {
      this.#countsTimeouts ??= kernelStructMembers("tcp_sock").includes("total_rto");
      if (!this.#countsTimeouts) {
        this.#degraded.push({
          part: "tcp_abn timeouts",
          reason: "this kernel's tcp_sock has no total_rto (added in Linux 6.7): timeouts read 0",
        });
      }
    }
    const hzSource = this.#hz?.source ?? "";
    if (hzSource.startsWith("assumed")) {
      this.#degraded.push({ part: "rto/ato units", reason: hzSource });
    }
    for (const d of this.#degraded) this.#ctx.log.warn("tcp probe part degraded", { ...d });
    k.setCfg(this.#fields);
    // Skipping unchanged sockets is exact only while every activity marker runs.
    k.setFlags(
      skipIdle && !unmarked.length,
      owner === "sendmsg",
      this.#foldable && config.params.fold_closes !== false,
    );
    if (!this.#reportTimer || prevPeriod !== config.params.report_period) {
      clearInterval(this.#reportTimer);
      const ms = Number(config.params.report_period ?? 60) * 1000;
      this.#reportTimer = setInterval(() => this.#report(), ms);
    }
  }

  #consume(): void {
    try {
      const n = this.#kernel?.consume() ?? 0;
      // A burst of closes (thousands of short connections a second) fills 2 MB in about a
      // second; draining again sooner while it lasts keeps records from being dropped.
      if (n >= this.#burstRecords && this.#burstTimer === undefined && this.#consumeTimer) {
        this.#burstTimer = setTimeout(() => {
          this.#burstTimer = undefined;
          this.#consume();
        }, BURST_MS);
      }
    } catch (e) {
      this.#lastError = String(e);
    }
  }

  /** One full read of the tracked connections (adopting unknown sockets first when a scan is due). */
  #read(endOfPeriod = true): void {
    const k = this.#kernel, flows = this.#flows;
    if (!k || !flows) return;
    const t0 = performance.now();
    k.consume();
    let scanned = false;
    if (this.#scanPids.size) {
      adoptSockets(k, this.#scanPids, this.#netns);
      this.#scanPids.clear();
      scanned = true;
    }
    // Records are decoded as the read hands them over, each batch after the close records that
    // came in meanwhile (see FlowTable.onRecords).
    const records = (bytes: Uint8Array) => {
      k.consume();
      flows.onRecords(bytes);
    };
    const r = k.readTracked({ begin: (walk) => flows.beginRead(walk), records }, endOfPeriod);
    k.consume();
    if (!flows.onRead([], r.idle)) {
      // An entry left the map without a close record (evicted, record lost): list all.
      this.#health.fullRereads++;
      k.requestFullRead();
      k.readTracked({ begin: () => flows.beginRead(0, true), records }, false);
      k.consume();
      flows.onRead([]);
    }
    // An adoption scan (at start, and when processes join) reads every socket of each namespace
    // and /proc fd tables once: a burst of native memory that would otherwise stay in the RSS.
    if (scanned) releaseFreeMemory();
    this.#health.readSeconds = (performance.now() - t0) / 1000;
  }

  /** One report at a time: each waits for its fold swap's grace period off the event loop. */
  #report(): Promise<void> {
    // A tick while a report still waits is skipped: the next report reads everything anyway.
    return this.#reporting ??= this.#reportOnce().finally(() => this.#reporting = undefined);
  }

  async #reportOnce(): Promise<void> {
    const k = this.#kernel, flows = this.#flows;
    if (!k || !flows || !this.#config) return;
    try {
      k.pruneForked();
      this.#read();
      await this.#drainFolded(k, flows);
      if (this.#kernel !== k || !this.#config) return; // stopped or restarted meanwhile
      flows.prune();
      const rows = flows.rows();
      const enabled = new Set<string>();
      for (const name of this.#config.probes) {
        for (const t of this.#ctx.manifest.subprobes.find((s) => s.name === name)?.tables ?? []) {
          enabled.add(t);
        }
      }
      for (const [table, r] of rows) if (enabled.has(table)) this.#ctx.emit(table, r);
      this.#ctx.emit("tcp_probe_health", [this.#healthRow(k)]);
      this.#reports++;
    } catch (e) {
      if (this.#kernel !== k) return; // closed under a report waiting for its swap
      this.#lastError = String(e);
      this.#ctx.log.error("tcp probe report failed", { error: e });
    }
  }

  /** The connections folded in the kernel since the last report, into their flows. */
  async #drainFolded(k: TcpKernel, flows: FlowTable): Promise<void> {
    await k.drainFolded((key, perCpu) => {
      const n = flows.onFolded(key, perCpu);
      this.#health.closedRecords += n;
      this.#health.foldedCloses += n;
    });
  }

  #healthRow(k: TcpKernel): Row {
    const before = k.stats();
    const tracked = k.trackedCount();
    const after = k.stats();
    const h = this.#health.update(before, tracked, after);
    return {
      labels: { probe: "tcp" },
      values: {
        tracked_connections: h.tracked,
        map_capacity: k.capacity,
        inserts: h.inserts,
        evictions: h.evictions,
        lost_events: h.lost,
        insert_failures: h.insertFailures,
        closes_folded: this.#health.foldedCloses,
        filtered: h.filtered,
        no_owner: h.noOwner,
        fold_map_full: after.fold_full,
        forks_followed: after.forked,
        forked_pids: k.forkedPids,
        idle_in_last_read: this.#flows?.idleInLastRead ?? 0,
        full_rereads: this.#health.fullRereads,
        watched_netns: this.#netns.size,
        read_duration: this.#health.readSeconds,
        degraded_parts: this.#degraded.length,
      },
    };
  }

  /** Read and publish now (tests use it); resolves once published. */
  reportNow(): Promise<void> {
    return this.#report();
  }

  stop(): Promise<void> {
    clearInterval(this.#consumeTimer);
    clearInterval(this.#reportTimer);
    clearTimeout(this.#burstTimer);
    this.#consumeTimer = this.#reportTimer = this.#burstTimer = undefined;
    this.#kernel?.close();
    this.#kernel = undefined;
    this.#netns.close();
    this.#pids = new Set(); // a later start adopts the existing sockets again
    this.#scanPids.clear();
    return Promise.resolve();
  }

  status(): DriverStatus {
    const k = this.#kernel;
    return {
      degraded: this.#degraded,
      details: {
        attached: k?.attached() ?? [],
        watchedPids: this.#pids.size,
        forkedPids: k?.forkedPids ?? 0,
        watchedNetns: this.#netns.size,
        flows: this.#flows?.size ?? 0,
        liveConnections: this.#flows?.liveConnections ?? 0,
        idleInLastRead: this.#flows?.idleInLastRead ?? 0,
        // Reads that looked every entry up (an LRU eviction since the last such read, or a full
        // read) rather than trusting the slots of unchanged sockets.
        verifiedReads: k?.readState().verifyReads ?? 0,
        readProgram: k?.readProgram ?? "",
        reports: this.#reports,
        hz: this.#hz ? `${this.#hz.hz} (${this.#hz.source})` : "not read yet",
        ...this.#health.snapshot(),
        // Closes sent as records because a report period's fold map was full (4,096 flows).
        foldMapFull: k?.stats().fold_full ?? 0,
        programs: k?.programStats() ?? {},
        ...(this.#lastError ? { lastError: this.#lastError } : {}),
      },
    };
  }
}

/** The driver factory (default export the runner loads). */
const createTcpDriver: DriverFactory = (ctx) => new TcpDriver(ctx);
export default createTcpDriver;
