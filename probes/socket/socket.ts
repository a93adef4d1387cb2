/**
 * The socket probe's driver (gala-gopher `/socket`, sub-probe `tcp_socket`): loads socket.bpf.o,
 * keeps its watched-pid map current and every report period publishes the kernel-aggregated
 * endpoint counters and the listening sockets of every watched network namespace.
 *
 * @module
 */

import { type BpfLink, type BpfMap, BpfObject, NetnsSet } from "../../ffi/libbpf.ts";
import type {
  DriverFactory,
  DriverStatus,
  ProbeConfig,
  ProbeContext,
  ProbeDriver,
  Row,
} from "../../runner/probe_api.ts";
import { formatAddr } from "../tcp/addr.ts";
import { findSocketOwners } from "../tcp/owners.ts";
import { EndpointKey, EndpointStats, LAT_SLOTS, ListenSnap, LsnKey, LsnOwner } from "./layout.ts";

type Sizes = { maxPending: number; maxEndpoints: number; maxPids: number };

function sizesOf(c: ProbeConfig): Sizes {
  const n = (k: string, d: number) => Number(c.params[k] ?? d);
  return {
    maxPending: n("max_pending", 16384),
    maxEndpoints: n("max_endpoints", 16384),
    maxPids: n("max_pids", 16384),
  };
}

function u32(n: number): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
}

class SocketDriver implements ProbeDriver {
  readonly #ctx: ProbeContext;
  #obj: BpfObject | undefined;
  #iter: BpfLink | undefined;
  #endpoints: BpfMap | undefined;
  #pidMap: BpfMap | undefined;
  #owners: BpfMap | undefined;
  #pids = new Set<number>();
  #netns = new NetnsSet();
  #config: ProbeConfig | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #lastError: string | undefined;
  #reports = 0;

  constructor(ctx: ProbeContext) {
    this.#ctx = ctx;
    ctx.signal.addEventListener("abort", () => void this.stop());
  }

  async start(config: ProbeConfig, pids: ReadonlySet<number>): Promise<void> {
    const obj = await BpfObject.openFile(`${this.#ctx.buildDir}/bpf/socket.bpf.o`, "socket.bpf.o");
    try {
      const s = sizesOf(config);
      obj.map("pending").setMaxEntries(s.maxPending);
      obj.map("endpoints").setMaxEntries(s.maxEndpoints);
      obj.map("pids").setMaxEntries(s.maxPids);
      obj.load();
      obj.program("sock_state").attach();
      this.#iter = obj.program("dump_listeners").attachIter();
    } catch (e) {
      obj.close();
      throw e;
    }
    this.#obj = obj;
    this.#endpoints = obj.map("endpoints");
    this.#pidMap = obj.map("pids");
    this.#owners = obj.map("owners");
    this.#config = config;
    try {
      this.updatePids(pids);
    } catch (e) {
      await this.stop();
      throw e;
    }
    this.#schedule(config);
  }

  #schedule(config: ProbeConfig): void {
    clearInterval(this.#timer);
    this.#timer = setInterval(
      () => this.#report(),
      Number(config.params.report_period ?? 60) * 1000,
    );
  }

  async reconfigure(config: ProbeConfig, pids: ReadonlySet<number>): Promise<void> {
    if (!this.#obj || JSON.stringify(sizesOf(config)) !== JSON.stringify(sizesOf(this.#config!))) {
      await this.stop();
      await this.start(config, pids);
      return;
    }
    if (config.params.report_period !== this.#config?.params.report_period) this.#schedule(config);
    this.#config = config;
    this.updatePids(pids);
  }

  updatePids(pids: ReadonlySet<number>): void {
    const m = this.#pidMap, ep = this.#endpoints;
    if (!m || !ep) {
      this.#pids = new Set(pids);
      return;
    }
    const one = new Uint8Array([1]);
    for (const p of this.#pids) if (!pids.has(p)) m.delete(u32(p));
    for (const p of pids) if (!this.#pids.has(p)) m.update(u32(p), one);
    this.#pids = new Set(pids);
    this.#netns.update(this.#pids);
    // Endpoints of processes no longer watched go away with their rows.
    for (const [k] of ep.entries()) {
      const tgid = new DataView(k.buffer).getUint32(EndpointKey.offsets.tgid, true);
      if (!this.#pids.has(tgid)) ep.delete(k);
    }
    this.#readListeners(); // servers already listening: their next connections are attributed
  }

  #endpointRows(): Row[] {
    const rows: Row[] = [];
    for (const [kb, vb] of this.#endpoints!.entries()) {
      const k = EndpointKey.decode(new DataView(kb.buffer));
      const dv = new DataView(vb.buffer);
      const v = EndpointStats.decode(dv);
      const counts: number[] = [];
      for (let i = 0; i < LAT_SLOTS; i++) {
        counts.push(Number(dv.getBigUint64(EndpointStats.offsets.lat_slots + 8 * i, true)));
      }
      rows.push({
        labels: {
          tgid: k.tgid,
          comm: v.comm,
          role: k.role === 1 ? "client" : "server",
          ip: formatAddr(k.family, k.addr),
          port: k.port,
          family: k.family,
        },
        values: {
          opens: v.opens,
          failures_refused: v.fail_refused,
          failures_timeout: v.fail_timeout,
          failures_reset: v.fail_reset,
          failures_other: v.fail_other,
          established_latency: { counts, sum: v.lat_sum_ns / 1e9, count: v.opens },
        },
      });
    }
    return rows;
  }

  #listenRows(): Row[] {
    return this.#readListeners().filter((s) => this.#pids.has(s.tgid)).map((s) => ({
      labels: {
        tgid: s.tgid,
        comm: s.comm,
        ip: formatAddr(s.family, s.addr),
        port: s.port,
        family: s.family,
      },
      values: { accept_queue: s.ack_backlog, accept_queue_max: s.max_ack_backlog, drops: s.drops },
    }));
  }

  /** Read every listener; those opened before the probe get their owner from /proc. */
  #readListeners(): Array<ReturnType<typeof ListenSnap.decode>> {
    const snaps = [];
    for (const bytes of this.#netns.map(() => this.#iter!.readIter())) {
      const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      for (let off = 0; off + ListenSnap.size <= bytes.byteLength; off += ListenSnap.size) {
        snaps.push(ListenSnap.decode(dv, off));
      }
    }
    const unknown = new Set(snaps.filter((s) => !s.tgid && s.ino).map((s) => s.ino));
    const found = findSocketOwners(this.#pids, unknown);
    for (const s of snaps) {
      const o = found.get(s.ino);
      if (!o) continue;
      const k = new Uint8Array(LsnKey.size), v = new Uint8Array(LsnOwner.size);
      new DataView(k.buffer).setUint32(LsnKey.offsets.netns, s.netns, true);
      new DataView(k.buffer).setUint16(LsnKey.offsets.port, s.port, true);
      new DataView(v.buffer).setUint32(LsnOwner.offsets.tgid, o.pid, true);
      v.set(new TextEncoder().encode(o.comm).subarray(0, 15), LsnOwner.offsets.comm);
      this.#owners!.update(k, v);
      s.tgid = o.pid;
      s.comm = o.comm;
    }
    return snaps;
  }

  #report(): void {
    if (!this.#obj) return;
    try {
      this.#ctx.emit("socket_endpoint", this.#endpointRows());
      this.#ctx.emit("socket_listen", this.#listenRows());
      this.#reports++;
    } catch (e) {
      this.#lastError = String(e);
      this.#ctx.log.error("socket probe report failed", { error: e });
    }
  }

  stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#obj?.close();
    this.#obj =
      this.#iter =
      this.#endpoints =
      this.#pidMap =
      this.#owners =
        undefined;
    this.#netns.close();
    return Promise.resolve();
  }

  status(): DriverStatus {
    return {
      degraded: [],
      details: {
        watchedPids: this.#pids.size,
        watchedNetns: this.#netns.size,
        reports: this.#reports,
        ...(this.#lastError ? { lastError: this.#lastError } : {}),
      },
    };
  }
}

/** The driver factory (default export the runner loads). */
const createSocketDriver: DriverFactory = (ctx) => new SocketDriver(ctx);
export default createSocketDriver;
