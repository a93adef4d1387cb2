/**
 * The kernel half of the TCP probe: tcp.bpf.o opened, sized, loaded and attached through
 * ffi/, with typed access to its maps. One object per running probe; {@link TcpKernel.close}
 * releases everything.
 *
 * @module
 */

import {
  BpfError,
  type BpfLink,
  type BpfMap,
  BpfObject,
  type NetnsSet,
  type RecordAtHandler,
  RingBuffer,
} from "../../ffi/libbpf.ts";
import {
  ADOPT_BATCH,
  AdoptFilter,
  AdoptKey,
  AdoptReq,
  CFG_FLAGS,
  HIST_BOUNDS,
  HistBounds,
  ListenerKey,
  ListenerOwner,
  ReadState,
  SCAN,
  STAT_MAX,
  STATS,
  TcpCfg,
  TcpSnap,
} from "./layout.ts";
import { WatchedPids } from "./watched_pids.ts";
import { u32 } from "../../ffi/struct.ts";

export { FORK_GRACE_MS } from "./watched_pids.ts";

/** Attach point (manifest name) → program in tcp.bpf.c. */
export const PROGRAMS: Readonly<Record<string, string>> = {
  "tp_btf/inet_sock_set_state": "on_state",
  "iter/tcp": "dump_tcp",
  "iter/bpf_map_elem": "read_slots",
  "tp_btf/tcp_retransmit_skb": "on_retransmit",
  "tp_btf/tcp_send_reset": "on_send_reset",
  "tp_btf/tcp_receive_reset": "on_receive_reset",
  "tp_btf/tcp_probe": "on_tcp_probe",
  "tp_btf/tcp_sendmsg_locked": "on_sendmsg",
  "tp_btf/tcp_rcv_space_adjust": "on_recv",
  "tp_btf/sched_process_fork": "on_fork",
  "tp/syscalls/sys_exit_accept4": "on_accept4",
  "tp/syscalls/sys_exit_accept": "on_accept",
};

/** One periodic read (see {@link TcpKernel.readTracked}). */
export interface TrackedRead {
  walk: number;
  idle: number | undefined;
  /** The read looked every entry up instead of trusting the slots of unchanged ones (an LRU
   * eviction since the last such read, a full read, or a change under way when it began). */
  verified: boolean;
}

/** Who decodes a periodic read's records, a buffer at a time (see {@link TcpKernel.readTracked}). */
export interface TrackedReader {
  /** The read starts, with its number `walk` (0 when it lists every socket). */
  begin(walk: number): void;
  /** `struct tcp_snap` records back to back, a view valid during the call. */
  records(bytes: Uint8Array): void;
}

/** A socket to adopt (see {@link TcpKernel.adoptSockets}), as /proc/<pid>/net/tcp lists it. */
export interface AdoptRequest {
  /** Inode of its network namespace. */
  netns: number;
  /** 2 AF_INET, 10 AF_INET6. */
  family: number;
  /** 16 bytes, IPv4 in the first 4 (see probes/tcp/proc_net.ts). */
  laddr: Uint8Array;
  lport: number;
  raddr: Uint8Array;
  rport: number;
  /** Its inode, by which /proc named the owner. */
  ino: number;
  tgid: number;
  comm: string;
  /** 1 client, 2 server. */
  role: 1 | 2;
  /** `enum demarc_owner`. */
  ownerSrc: number;
}

/** Map sizes (params). */
export interface KernelSizes {
  maxConnections: number;
  maxListeners: number;
  maxPids: number;
  ringbufSize: number;
}

/** An optional part that could not start. */
export interface Degraded {
  part: string;
  reason: string;
}

/** The loaded tcp.bpf.o. */
export class TcpKernel {
  readonly #obj: BpfObject;
  readonly #links = new Map<string, BpfLink>();
  readonly #iter: BpfLink;
  readonly #connsIter: BpfLink;
  readonly #rb: RingBuffer;
  readonly #conns: BpfMap;
  readonly #pids: WatchedPids;
  readonly #listeners: BpfMap;
  readonly #stats: BpfMap;
  readonly #cfg: BpfMap;
  readonly #activity: BpfMap;
  readonly #adopt: BpfMap;
  readonly #adoptFilter: BpfMap;
  readonly #readState: BpfMap;
  /** The two fold maps (closed, never listed connections per flow); `folds`[0] names the
   * current one, `#foldCurrent` its index here. */
  readonly #foldMaps: [BpfMap, BpfMap];
  readonly #folds: BpfMap;
  #foldCurrent = 0;
  readonly #bounds: BpfMap;
  /** The periodic read's buffer: records are handed over as each read(2) fills it. */
  readonly #readBuf = new Uint8Array(READ_BUF);
  /** Optional attach points whose programs the kernel refused to load. */
  #unloaded = new Set<string>();
  /** What `cfg` holds (see `struct tcp_cfg`). */
  #cfgValue = { scan: SCAN.OFF as number, fields: 0, gen: 2, flags: 0, walk: 0, readId: 0 };
  /** The next periodic read lists every socket in full (values the reader lacks). */
  #fullRead = true;
  /** The periodic read's program: read_slots, or on kernels before 6.6 dump_conns. */
  readonly #readProgram: string;

  private constructor(obj: BpfObject, onClosed: RecordAtHandler, readProgram: string) {
    this.#obj = obj;
    this.#readProgram = readProgram;
    this.#conns = obj.map("conns");
    this.#stats = obj.map("stats");
    this.#pids = new WatchedPids(
      obj.map("pids"),
      obj.map("pid_slots"),
      () => this.#stat(STATS.indexOf("forked")),
    );
    this.#listeners = obj.map("listeners");
    this.#cfg = obj.map("cfg");
    this.#activity = obj.map("activity");
    this.#adopt = obj.map("adopt");
    this.#adoptFilter = obj.map("adopt_filter");
    this.#readState = obj.map("read_state");
    this.#foldMaps = [obj.map("fold_a"), obj.map("fold_b")];
    this.#bounds = obj.map("bounds");
    this.#folds = obj.map("folds");
    this.#links.set(
      "tp_btf/inet_sock_set_state",
      obj.program(PROGRAMS["tp_btf/inet_sock_set_state"]).attach(),
    );
    this.#iter = obj.program(PROGRAMS["iter/tcp"]).attachIter();
    // The read walks the slots of conns' elements, a chunk of them per program run (before 6.6,
    // the conns hash table, an entry per run).
    this.#connsIter = obj.program(readProgram).attachIter({
      map: obj.map(readProgram === HASH_WALK ? "conns" : "chunks"),
    });
    // Handled in place, at once: nothing allocated per record.
    this.#rb = new RingBuffer(obj, obj.map("events"), { at: onClosed });
  }

  /**
   * Open, size, load and attach the required programs. A program the kernel refuses to load
   * (e.g. a tracepoint it lacks) is left out when it is optional, and reported in `degraded`.
   *
   * @throws {BpfError} when the object is missing or a required part fails (with a hint)
   */
  static async open(
    path: string,
    sizes: KernelSizes,
    onClosed: RecordAtHandler,
    degraded: Degraded[] = [],
  ): Promise<TcpKernel> {
    const bytes = await readObject(path);
    const skip = new Set<string>();
    let readProgram = PROGRAMS["iter/bpf_map_elem"];
    for (;;) {
      const obj = BpfObject.openMem(bytes, "tcp.bpf.o");
      try {
        obj.map("conns").setMaxEntries(sizes.maxConnections);
        // One slot per element of conns, indexed modulo a power of two (tcp.bpf.c elem_index),
        // read SLOT_CHUNK to a program run.
        const slots = pow2(sizes.maxConnections);
        obj.map("elems").setMaxEntries(slots);
        obj.map("chunks").setMaxEntries(slots / SLOT_CHUNK);
        obj.map("listeners").setMaxEntries(sizes.maxListeners);
        obj.map("pids").setMaxEntries(sizes.maxPids);
        obj.map("events").setMaxEntries(pow2(sizes.ringbufSize));
        for (const p of skip) obj.program(PROGRAMS[p]).autoload = false;
        for (const p of [PROGRAMS["iter/bpf_map_elem"], HASH_WALK]) {
          obj.program(p).autoload = p === readProgram;
        }
        obj.load();
        const k = new TcpKernel(obj, onClosed, readProgram);
        k.#unloaded = skip;
        return k;
      } catch (e) {
        obj.close();
        if (
          readProgram !== HASH_WALK && e instanceof BpfError &&
          failedProgram(e.message) === readProgram
        ) {
          // A kernel before 6.6 (no element count for the eviction check, or no open-coded
          // loops): the hash-table walk, exact on its own and slower per socket.
          readProgram = HASH_WALK;
          degraded.push({
            part: "iter/bpf_map_elem",
            reason: `the read of the slots is not loadable on this kernel (${
              firstLine(e)
            }): the connection map's hash table is walked instead`,
          });
          continue;
        }
        const point = e instanceof BpfError ? failedPoint(e.message) : undefined;
        if (!point || REQUIRED.has(point) || skip.has(point)) throw e;
        skip.add(point);
        degraded.push({
          part: point,
          reason: `not loadable on this kernel: ${firstLine(e as Error)}`,
        });
      }
    }
  }

  /** Attach exactly the optional attach points in `wanted`; returns those that failed. */
  setOptional(wanted: ReadonlySet<string>): Degraded[] {
    const degraded: Degraded[] = [];
    for (const [point, prog] of Object.entries(PROGRAMS)) {
      if (REQUIRED.has(point)) continue;
      const link = this.#links.get(point);
      if (wanted.has(point) && this.#unloaded.has(point)) {
        degraded.push({ part: point, reason: "its program could not be loaded on this kernel" });
      } else if (wanted.has(point) && !link) {
        try {
          this.#links.set(point, this.#obj.program(prog).attach());
        } catch (e) {
          degraded.push({ part: point, reason: e instanceof BpfError ? e.message : String(e) });
        }
      } else if (!wanted.has(point) && link) {
        link.close();
        this.#links.delete(point);
      }
    }
    return degraded;
  }

  /**
   * Mean cost per run of each attached program (only while kernel.bpf_stats_enabled=1; for
   * iter/tcp a run is one socket visited, for iter/bpf_map_elem 128 slots of tracked sockets).
   */
  programStats(): Record<string, { runs: number; nsPerRun: number }> {
    const out: Record<string, { runs: number; nsPerRun: number }> = {};
    for (const point of this.attached()) {
      const prog = point === "iter/bpf_map_elem" ? this.#readProgram : PROGRAMS[point];
      const i = this.#obj.program(prog).info();
      if (i.runCount) out[point] = { runs: i.runCount, nsPerRun: i.runTimeNs / i.runCount };
    }
    return out;
  }

  /** Attach points attached now. */
  attached(): string[] {
    return [...this.#links.keys(), "iter/tcp", "iter/bpf_map_elem"];
  }

  /**
   * Make the kernel's watched set the runner's `pids`, plus the children the kernel added at
   * fork while the runner may not have scanned them yet (see {@link WatchedPids}).
   */
  setPids(pids: ReadonlySet<number>): void {
    this.#pids.set(pids);
  }

  /** Drop children added at fork that the runner has not come to watch within the grace. */
  pruneForked(): void {
    this.#pids.pruneForked();
  }

  /**
   * Runtime switches (see `struct tcp_cfg`): the value groups to read (`fields`: a mask of
   * `FIELDS`).
   */
  setCfg(fields: number): void {
    if (fields !== this.#cfgValue.fields) this.#fullRead = true; // a group's values are missing
    this.#cfgValue.fields = fields;
    this.#writeCfg();
  }

  /**
   * `skipIdle`: the periodic read lists sockets with no activity in this or the previous period
   * as idle records (only when every program that marks activity is attached: see
   * {@link MARKERS}); `sendmsgOwner`: server_owner=sendmsg; `foldClosed`: closes of connections
   * no read has listed are summed per flow in the kernel ({@link drainFolded}), not sent as
   * records (needs {@link setHistogramBounds} first).
   */
  setFlags(skipIdle: boolean, sendmsgOwner: boolean, foldClosed = false): void {
    const flags = (skipIdle ? CFG_FLAGS.SKIP_IDLE : 0) |
      (sendmsgOwner ? CFG_FLAGS.SENDMSG_OWNER : 0) | (foldClosed ? CFG_FLAGS.FOLD_CLOSED : 0);
    if (flags !== this.#cfgValue.flags) this.#fullRead = true;
    this.#cfgValue.flags = flags;
    this.#writeCfg();
  }

  /** The next periodic read lists every socket in full (e.g. a new reader of the records). */
  requestFullRead(): void {
    this.#fullRead = true;
  }

  #writeCfg(noSkip = false): void {
    const c = this.#cfgValue;
    const v = new Uint8Array(TcpCfg.size);
    const dv = new DataView(v.buffer);
    dv.setUint32(TcpCfg.offsets.scan, c.scan, true);
    dv.setUint32(TcpCfg.offsets.fields, c.fields, true);
    dv.setUint32(TcpCfg.offsets.gen, c.gen, true);
    dv.setUint32(TcpCfg.offsets.flags, noSkip ? c.flags & ~CFG_FLAGS.SKIP_IDLE : c.flags, true);
    dv.setUint32(TcpCfg.offsets.walk, c.walk, true); // `idle` starts at 0
    dv.setUint32(TcpCfg.offsets.read_id, c.readId, true);
    this.#cfg.update(u32(0), v);
  }

  /**
   * The histogram bounds (seconds, ascending) the kernel buckets folded connections with:
   * connect latency and handshake RTT. False when there are more than the kernel holds
   * (HIST_BOUNDS): do not fold then.
   */
  setHistogramBounds(connect: readonly number[], synRtt: readonly number[]): boolean {
    if (connect.length > HIST_BOUNDS || synRtt.length > HIST_BOUNDS) return false;
    const v = new Uint8Array(HistBounds.size), dv = new DataView(v.buffer);
    const o = HistBounds.offsets;
    connect.forEach((b, i) =>
      dv.setBigUint64(o.connect_ns + 8 * i, BigInt(integerBound(b, 1e9)), true)
    );
    synRtt.forEach((b, i) => dv.setBigUint64(o.syn_us + 8 * i, BigInt(integerBound(b, 1e6)), true));
    dv.setUint32(o.n_connect, connect.length, true);
    dv.setUint32(o.n_syn, synRtt.length, true);
    this.#bounds.update(u32(0), v);
    return true;
  }

  /**
   * Hand over the closed connections folded in the kernel since the last call, per flow
   * (`struct flow_key`, then `struct flow_closed` once per possible CPU), and start a new
   * period of folding. The current fold map is swapped for the other, empty one first; the
   * kernel returns from that update only once no program can still be adding to the old one
   * (an RCU grace period, 7-15 ms here: waited for off the event loop), so what is drained is
   * complete and final.
   *
   * @returns how many flows were handed over
   */
  async drainFolded(visit: (key: Uint8Array, perCpu: Uint8Array) => void): Promise<number> {
    const old = this.#foldCurrent, next = 1 - old;
    await this.#folds.updateAsync(u32(0), u32(this.#foldMaps[next].fd));
    this.#foldCurrent = next;
    return this.#foldMaps[old].drain(visit);
  }

  /** Hand pending close records to the handler; returns how many. */
  consume(): number {
    return this.#rb.consume();
  }

  /**
   * The tracked connections (all namespaces), from a walk of the slots of the `conns` map's
   * elements (tcp.bpf.c read_slots): `records`, a `struct tcp_snap` per socket listed; with read_changed_only, sockets unchanged since they
   * were last listed are only counted (`idle`; undefined when every socket was listed) under the
   * read's number `walk` (close records of counted sockets carry it). `endOfPeriod`: this is
   * the report period's read, after which activity counts as the previous period's (reads
   * between, e.g. at adoption, do not advance it: the one-period grace for delayed ACKs and
   * timers stays a report period long). The records go to `reader` as the iterator writes them,
   * one 64 KiB buffer at a time: 10,000 sockets are 2.4 MB, which a buffer holding the whole read
   * kept resident (or cost the GC every period when allocated per read).
   */
  readTracked(reader: TrackedReader, endOfPeriod = true): TrackedRead {
    const c = this.#cfgValue;
    const skip = !this.#fullRead && (c.flags & CFG_FLAGS.SKIP_IDLE) !== 0;
    c.walk = skip ? (c.walk % 32767) + 1 : 0;
    c.readId = (c.readId + 1) >>> 0;
    this.#writeCfg(!skip);
    let idle;
    try {
      reader.begin(c.walk);
      this.#connsIter.readIterChunks(this.#readBuf, TcpSnap.size, (b) => reader.records(b));
      if (skip) {
        const cfg = this.#cfg.lookup(u32(0))!;
        idle = new DataView(cfg.buffer).getUint32(TcpCfg.offsets.idle, true);
      }
    } finally {
      if (endOfPeriod) {
        // The next period's bitmap (two periods old) starts empty before gen selects it.
        const next = (c.gen + 1) >>> 0;
        this.#activity.update(u32(next & 1), new Uint8Array(this.#activity.valueSize));
        c.gen = next;
      }
      this.#writeCfg();
    }
    this.#fullRead = false;
    return { walk: c.walk, idle, verified: this.readState().verify !== 0 };
  }

  /** The periodic read's program: `read_slots`, or `dump_conns` on kernels before 6.6. */
  get readProgram(): string {
    return this.#readProgram;
  }

  /** What the periodic read knows of the LRU's evictions (`struct read_state`). */
  readState(): { verify: number; verifyReads: number; evictionsClean: number } {
    const v = this.#readState.lookup(u32(0))!;
    const dv = new DataView(v.buffer, v.byteOffset, v.byteLength);
    return {
      verify: dv.getUint32(ReadState.offsets.verify, true),
      verifyReads: dv.getUint32(ReadState.offsets.verify_reads, true),
      evictionsClean: Number(dv.getBigUint64(ReadState.offsets.evictions_clean, true)),
    };
  }

  /** Kernel-side counters summed over CPUs, by name. */
  stats(): Record<(typeof STATS)[number], number> {
    const out = {} as Record<(typeof STATS)[number], number>;
    for (let i = 0; i < STAT_MAX && i < STATS.length; i++) out[STATS[i]] = this.#stat(i);
    return out;
  }

  /** One kernel-side counter summed over CPUs. */
  #stat(i: number): number {
    const v = this.#stats.lookup(u32(i));
    let sum = 0;
    if (v) {
      const dv = new DataView(v.buffer);
      for (let off = 0; off < v.byteLength; off += 8) sum += Number(dv.getBigUint64(off, true));
    }
    return sum;
  }

  /** Children added at fork that the runner does not watch (yet). */
  get forkedPids(): number {
    return this.#pids.forked;
  }

  /** Entries in the per-connection map now. */
  trackedCount(): number {
    return this.#conns.count();
  }

  /** Capacity of the per-connection map. */
  get capacity(): number {
    return this.#conns.maxEntries;
  }

  /**
   * Start tracking existing sockets whose owners were found through /proc: the kernel inserts
   * each entry during a walk of its namespace in `netns`, holding the socket, and only if the
   * socket still has the inode the owner was found by (one that closed since the scan is not
   * tracked; one closing after the insert is deleted at its CLOSE as usual). Sockets tracked
   * already are left as they are.
   *
   * @returns how many entries were added
   */
  adoptSockets(reqs: readonly AdoptRequest[], netns: NetnsSet): number {
    const before = this.#stat(STATS.indexOf("adopted"));
    const enc = new TextEncoder();
    for (let i = 0; i < reqs.length; i += ADOPT_BATCH) {
      const batch = reqs.slice(i, i + ADOPT_BATCH);
      const keys = batch.map(adoptKey);
      const filter = new Uint8Array(AdoptFilter.size);
      for (const r of batch) {
        const bit = adoptPortBit(r.lport, r.rport);
        filter[bit >> 3] |= 1 << (bit & 7);
      }
      this.#adoptFilter.update(u32(0), filter);
      for (const [j, r] of batch.entries()) {
        const v = new Uint8Array(AdoptReq.size);
        const dv = new DataView(v.buffer);
        dv.setBigUint64(AdoptReq.offsets.ino, BigInt(r.ino), true);
        dv.setUint32(AdoptReq.offsets.tgid, r.tgid, true);
        dv.setUint8(AdoptReq.offsets.role, r.role);
        dv.setUint8(AdoptReq.offsets.owner_src, r.ownerSrc);
        v.set(enc.encode(r.comm).subarray(0, 15), AdoptReq.offsets.comm);
        this.#adopt.update(keys[j], v);
      }
      this.#cfgValue.scan = SCAN.ADOPT;
      this.#writeCfg();
      try {
        netns.map(() => this.#iter.readIter());
      } finally {
        this.#cfgValue.scan = SCAN.OFF;
        this.#writeCfg();
        this.#adoptFilter.update(u32(0), new Uint8Array(AdoptFilter.size));
        for (const k of keys) this.#adopt.delete(k);
      }
    }
    return this.#stat(STATS.indexOf("adopted")) - before;
  }

  /** Is the owner of the listener on (netns, port) known to the kernel side? */
  hasListener(netns: number, port: number): boolean {
    return this.#listeners.lookup(listenerKey(netns, port)) !== undefined;
  }

  /** Record the owner of a listener that existed before the probe. */
  addListener(netns: number, port: number, tgid: number, comm: string): void {
    const v = new Uint8Array(ListenerOwner.size);
    new DataView(v.buffer).setUint32(ListenerOwner.offsets.tgid, tgid, true);
    v.set(new TextEncoder().encode(comm).subarray(0, 15), ListenerOwner.offsets.comm);
    this.#listeners.update(listenerKey(netns, port), v);
  }

  /** Detach everything and free the object. Safe to call twice. */
  close(): void {
    this.#links.clear();
    this.#obj.close();
  }
}

/**
 * A histogram bound in seconds as an integer of `1 / scale` seconds that buckets integer values
 * as the float bound buckets them in seconds: `v > bound` for an integer v holds exactly when
 * v exceeds the bound's floor (a bound such as 0.00005 s is 50 us, not 49.999...).
 */
function integerBound(seconds: number, scale: number): number {
  const x = seconds * scale, r = Math.round(x);
  return Math.abs(x - r) < 1e-6 ? r : Math.floor(x);
}

/**
 * Programs that mark socket activity (tcp.bpf.c `mark_active`): the periodic read may skip
 * unchanged sockets only while all of them are attached.
 */
export const MARKERS: readonly string[] = [
  "tp_btf/tcp_probe",
  "tp_btf/tcp_sendmsg_locked",
  "tp_btf/tcp_rcv_space_adjust",
  "tp_btf/tcp_retransmit_skb",
  "tp_btf/tcp_send_reset",
  "tp_btf/tcp_receive_reset",
];

/** The periodic read where read_slots cannot load (tcp.bpf.c dump_conns). */
const HASH_WALK = "dump_conns";

/** Slots of `elems` per run of the periodic read (tcp.bpf.c SLOT_CHUNK). */
const SLOT_CHUNK = 128;

/** The periodic read's buffer: room for one read(2) of the iterator (its seq buffer is 32 KiB). */
const READ_BUF = 1 << 16;

/** Attach points the probe cannot run without. */
const REQUIRED = new Set(["tp_btf/inet_sock_set_state", "iter/tcp", "iter/bpf_map_elem"]);

async function readObject(path: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    throw new BpfError(`read ${path}`, 2, "run `deno task build --bpf-only` first", { cause: e });
  }
}

/** The program libbpf names in a load failure (`prog 'x': ...`). */
function failedProgram(message: string): string | undefined {
  return /prog '([\w]+)': (?:BPF program load failed|failed to (?:load|find|resolve))/.exec(
    message,
  )?.[1];
}

/** The attach point whose program libbpf names in a load failure. */
function failedPoint(message: string): string | undefined {
  const prog = failedProgram(message);
  return Object.entries(PROGRAMS).find(([, p]) => p === prog)?.[0];
}

function firstLine(e: Error): string {
  return e.message.split("\n")[0].slice(0, 300);
}

/** The `adopt` map's key of a request (`struct adopt_key`). */
function adoptKey(r: AdoptRequest): Uint8Array<ArrayBuffer> {
  const k = new Uint8Array(AdoptKey.size);
  const dv = new DataView(k.buffer);
  dv.setUint32(AdoptKey.offsets.netns, r.netns, true);
  dv.setUint16(AdoptKey.offsets.lport, r.lport, true);
  dv.setUint16(AdoptKey.offsets.rport, r.rport, true);
  dv.setUint8(AdoptKey.offsets.family, r.family);
  k.set(r.laddr.subarray(0, 16), AdoptKey.offsets.laddr);
  k.set(r.raddr.subarray(0, 16), AdoptKey.offsets.raddr);
  return k;
}

/**
 * The bit of `adopt_filter` for a connection's ports: tcp.bpf.c adopt_port_hash, a 12-bit
 * Fibonacci hash of the two ports in one 32-bit word.
 */
export function adoptPortBit(lport: number, rport: number): number {
  return Math.imul(((lport & 0xffff) << 16) | (rport & 0xffff), 2654435761) >>> 20;
}

function listenerKey(netns: number, port: number): Uint8Array<ArrayBuffer> {
  const k = new Uint8Array(ListenerKey.size);
  const dv = new DataView(k.buffer);
  dv.setUint32(ListenerKey.offsets.netns, netns, true);
  dv.setUint16(ListenerKey.offsets.port, port, true);
  return k;
}

/** Round up to a power of two (ring buffers must be one, and a multiple of the page size). */
function pow2(n: number): number {
  let p = 4096;
  while (p < n) p *= 2;
  return p;
}
