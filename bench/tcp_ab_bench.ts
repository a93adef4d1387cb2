/**
 * Side-by-side cost of two builds of tcp.bpf.c in one process, on one load: the host here is
 * shared and noisy (2 vCPUs, load 4-12), so runs minutes apart differ by 2x; ratios measured in
 * the same seconds are what can be trusted.
 *
 * Both objects are loaded and attached at once (each with its own maps), so both see every
 * event. Tracepoint programs run in attach order and the second finds warmer caches: the order
 * is swapped after every round, and besides the totals the median of the ratios of each pair of
 * rounds (one in each order) is reported: a burst of other load on this host moves one pair,
 * where it would move a total (a no-change build measured 0.9-1.3 on the totals of two halves).
 * iter/tcp reads alternate between the objects.
 * Also: the cost of the periodic read per value group of the new object (`struct
 * tcp_cfg.fields`), and with `read_changed_only` (CFG_SKIP_IDLE) against full reads of the same
 * object, interleaved: idle-heavy (the held sockets idle, one request/response connection busy)
 * and all-active (every socket's activity slot current: the worst case of the check).
 *
 * The events: short connections, request/response, resets (SO_LINGER 0), a transfer through 5%
 * loss (nft, in the namespace) for retransmissions, and forks, by a watched parent (each child
 * inserted into `pids`) and by an unwatched one (the common case on a host), reported apart.
 *
 * Run: deno run -A --unstable-kv bench/tcp_ab_bench.ts [old.bpf.c-or-.o] [rounds] [held] [lossy]
 *   [--programs-only]
 *   default old: probes/tcp/tcp.bpf.c of git HEAD ("" for it when passing more arguments);
 *   rounds: pairs of event rounds (4); held: client connections held open (2,000; each is two
 *   tracked sockets); lossy: bytes of the lossy transfer per round (16000000); --programs-only:
 *   the tracepoint programs alone, no periodic reads (several variants measured in the time
 *   of one full run)
 */

import { BpfObject, enableRunStats, NetnsSet, RingBuffer } from "../ffi/libbpf.ts";
import type { BpfLink } from "../ffi/libbpf.ts";
import { compileBpf } from "../tests/ffi/build_fixture.ts";
import { NetPair, ROOT, sh, Traffic } from "../tests/probes/tcp/harness.ts";
import { WatchedPids } from "../probes/tcp/watched_pids.ts";

const programsOnly = Deno.args.includes("--programs-only");
const args = Deno.args.filter((a) => a !== "--programs-only");
const rounds = Number(args[1] ?? 4);
const heldConns = Number(args[2] ?? 2000);
/** Bytes of the lossy transfer per round: veth carries GSO segments of up to 64 KB, so 16 MB
 * gives only ~30 retransmissions a round; more make on_retransmit's ratio steadier. */
const lossyBytes = args[3] ?? "16000000";

async function oldObject(): Promise<string> {
  const arg = args[0];
  if (arg?.endsWith(".o")) return arg;
  if (arg) return await compileBpf(arg, [arg.replace(/\/[^/]*$/, ""), `${ROOT}/probes`]);
  const dir = await Deno.makeTempDir({ prefix: "demarc-ab-old-" });
  for (const f of ["tcp.bpf.c", "tcp.h"]) {
    await Deno.writeTextFile(
      `${dir}/${f}`,
      await sh("git", "-C", ROOT, "show", `HEAD:probes/tcp/${f}`),
    );
  }
  return await compileBpf(`${dir}/tcp.bpf.c`, [dir, `${ROOT}/probes`]);
}

const POINTS: Record<string, string> = {
  "tp_btf/inet_sock_set_state": "on_state",
  "tp_btf/tcp_retransmit_skb": "on_retransmit",
  "tp_btf/tcp_send_reset": "on_send_reset",
  "tp_btf/tcp_receive_reset": "on_receive_reset",
  "tp_btf/tcp_probe": "on_tcp_probe",
  "tp_btf/tcp_sendmsg_locked": "on_sendmsg",
  "tp_btf/tcp_rcv_space_adjust": "on_recv", // new builds only (activity marks)
  "tp_btf/sched_process_fork": "on_fork",
};
/** Forks per round, by a watched and by an unwatched parent. */
const FORKS = 500;
/** The lossy transfer's port. */
const LOSSY_PORT = "6002";
const ALL_FIELDS = 0x3f;
/** The watched set of builds that have `pid_slots`, kept by the driver's code. */
const watchedSets = new Map<string, WatchedPids>();

interface Side {
  name: string;
  obj: BpfObject;
  links: Map<string, BpfLink>;
  iter: BpfLink;
  /** Close records, drained every 100 ms as the driver does (a full ring would make the close
   * path skip its record and look cheaper than it is). */
  events: RingBuffer;
  /** Run totals at the last mark, per program. */
  mark: Map<string, [number, number]>;
  acc: Map<string, [number, number]>;
  /** Run time and count per program in each event round since the start. */
  perRound: Map<string, [number, number]>[];
}

function u32(n: number): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
}

/** CFG_SKIP_IDLE | CFG_SENDMSG_OWNER (builds whose cfg has { ..., gen, flags }); CFG_VERIFY
 * (builds that read the slots: look every entry up, as after an LRU eviction). */
const SKIP_IDLE = 1, SENDMSG_OWNER = 2, VERIFY = 4;

function setCfg(s: Side, fields: number, gen = 0, skipIdle = false, flags = 0): void {
  const m = s.obj.map("cfg");
  const v = new Uint8Array(m.valueSize);
  const dv = new DataView(v.buffer);
  // Builds with socket storage for the lazy owner have { emit_untracked, lazy_owner }
  // (server_owner=sendmsg: 1); later ones { emit_untracked, fields }, then + { gen, flags }
  // (`emit_untracked` is the field now named `scan`).
  const lazyLayout = s.obj.maps().some((m) => m.name === "owner_pending");
  dv.setUint32(4, lazyLayout ? 1 : fields, true);
  if (m.valueSize >= 16) {
    dv.setUint32(8, gen, true);
    dv.setUint32(12, SENDMSG_OWNER | (skipIdle ? SKIP_IDLE : 0) | flags, true);
  }
  m.update(u32(0), v);
}

function has(s: Side, prog: string): boolean {
  return s.obj.programs().some((p) => p.name === prog);
}

function load(name: string, bytes: Uint8Array, pids: number[]): Side {
  const obj = BpfObject.openMem(bytes, name);
  for (const p of ["on_accept4", "on_accept"]) obj.program(p).autoload = false;
  obj.load();
  if (obj.maps().some((m) => m.name === "pid_slots")) {
    watchedSets.set(name, new WatchedPids(obj.map("pids"), obj.map("pid_slots")));
  }
  const s: Side = {
    name,
    obj,
    links: new Map(),
    iter: obj.program("dump_tcp").attachIter(),
    events: new RingBuffer(obj, obj.map("events"), { at: () => {} }),
    mark: new Map(),
    acc: new Map(),
    perRound: [],
  };
  for (const p of pids) addPid(s, p);
  setCfg(s, ALL_FIELDS);
  attachAll(s);
  return s;
}

function attachAll(s: Side): void {
  for (const [point, prog] of Object.entries(POINTS)) {
    if (has(s, prog)) s.links.set(point, s.obj.program(prog).attach());
  }
}

function detachAll(s: Side): void {
  for (const l of s.links.values()) l.close();
  s.links.clear();
}

function totals(s: Side, prog: string): [number, number] {
  if (!has(s, prog)) return [0, 0];
  const i = s.obj.program(prog).info();
  return [i.runTimeNs, i.runCount];
}

function markAll(s: Side): void {
  for (const p of [...Object.values(POINTS), "dump_tcp"]) s.mark.set(p, totals(s, p));
}

function accumulate(s: Side): void {
  const round = new Map<string, [number, number]>();
  for (const p of [...Object.values(POINTS), "dump_tcp"]) {
    const [t, c] = totals(s, p), [t0, c0] = s.mark.get(p)!;
    const a = s.acc.get(p) ?? [0, 0];
    s.acc.set(p, [a[0] + t - t0, a[1] + c - c0]);
    round.set(p, [t - t0, c - c0]);
  }
  s.perRound.push(round);
}

/** new/old of mean ns per run over each pair of rounds (one in each attach order): median, and
 * the lowest and highest. */
function pairRatios(o: Side, n: Side, prog: string): { med: number; lo: number; hi: number } {
  const rs: number[] = [];
  for (let r = 0; r + 1 < o.perRound.length; r += 2) {
    const sum = (s: Side) => {
      const [t1, c1] = s.perRound[r].get(prog)!, [t2, c2] = s.perRound[r + 1].get(prog)!;
      return (t1 + t2) / Math.max(1, c1 + c2);
    };
    const on = sum(o);
    if (on > 0) rs.push(sum(n) / on);
  }
  rs.sort((a, b) => a - b);
  return { med: rs[Math.floor(rs.length / 2)] ?? NaN, lo: rs[0] ?? NaN, hi: rs.at(-1) ?? NaN };
}

/** The periodic read of one object: its iterator program and how to run it once. */
function reader(s: Side, netns: NetnsSet): { prog: string; read: () => number } {
  const names = s.obj.programs().map((p) => p.name);
  let buf = new Uint8Array(1 << 16);
  const readInto = (link: BpfLink) => () => {
    const v = link.readIterInto(buf);
    buf = new Uint8Array(v.buffer);
    return v.byteLength;
  };
  if (names.includes("read_slots")) {
    // This build walks the slots of the conns elements, a chunk per run; each read has its
    // number (`struct tcp_cfg.read_id`, after `idle`): a run seeing its own number again takes
    // itself for a repeat.
    const link = s.obj.program("read_slots").attachIter({ map: s.obj.map("chunks") });
    const cfg = s.obj.map("cfg"), read = readInto(link);
    let id = 0;
    return {
      prog: "read_slots",
      read: () => {
        const v = cfg.lookup(u32(0))!;
        new DataView(v.buffer).setUint32(24, ++id, true);
        cfg.update(u32(0), v);
        return read();
      },
    };
  }
  if (names.includes("dump_conns")) {
    // This build walks the conns map (all namespaces at once).
    const link = s.obj.program("dump_conns").attachIter({ map: s.obj.map("conns") });
    return { prog: "dump_conns", read: readInto(link) };
  }
  return {
    prog: "dump_tcp",
    read: () => {
      let n = 0;
      netns.map(() => (n += readInto(s.iter)()));
      return n;
    },
  };
}

interface ReadCost {
  /** Program run time per run (iter/tcp: per socket visited; the map walk: per entry). */
  perRun: number;
  /** Program run time per tracked socket read. */
  perTracked: number;
  /** Wall time of a whole read (syscalls, kernel walk, copy) per tracked socket. */
  wallPerTracked: number;
}

/** 64 MB written before each read: the driver reads a socket once per period, with its lines
 * long gone from the caches; read back to back, the held sockets (~10 MB) would stay cached. */
const evictBuf = new Uint8Array(64 << 20);
function evictCaches(): void {
  for (let i = 0; i < evictBuf.length; i += 64) evictBuf[i]++;
}

function readCost(
  s: Side,
  r: { prog: string; read: () => number },
  reads: number,
  tracked: number,
): ReadCost {
  const [t0, c0] = totals(s, r.prog);
  let busy = 0;
  const w0 = performance.now();
  for (let i = 0; i < reads; i++) {
    const e0 = performance.now();
    evictCaches();
    busy += performance.now() - e0;
    r.read();
  }
  const wall = (performance.now() - w0 - busy) * 1e6;
  const [t1, c1] = totals(s, r.prog);
  return {
    perRun: (t1 - t0) / Math.max(1, c1 - c0),
    perTracked: (t1 - t0) / (reads * tracked),
    wallPerTracked: wall / (reads * tracked),
  };
}

const oldBytes = await Deno.readFile(await oldObject());
const newBytes = await Deno.readFile(
  await compileBpf(`${ROOT}/probes/tcp/tcp.bpf.c`, [`${ROOT}/probes/tcp`, `${ROOT}/probes`]),
);

/** A python process that forks `n` children (each exits at once) when its stdin says so. */
function forker(n: number): { pid: number; run: () => Promise<void> } {
  const child = new Deno.Command("python3", {
    args: [
      "-c",
      `import os,sys\nsys.stdin.readline()\n` +
      `for _ in range(${n}): os.waitpid(os.fork() or os._exit(0), 0)`,
    ],
    stdin: "piped",
  }).spawn();
  return {
    pid: child.pid, // the pyenv shim execs python: the same pid
    run: async () => {
      const w = child.stdin.getWriter();
      await w.write(new TextEncoder().encode("go\n"));
      await w.close();
      const st = await child.status;
      if (!st.success) throw new Error(`forker exited with ${st.code}`);
    },
  };
}

const net = await NetPair.create();
const srv = await Traffic.spawn(net.b, ["server", "6001", "--echo"], "dm-ab-srv");
const sink = await Traffic.spawn(net.b, ["server", LOSSY_PORT], "dm-ab-sink");
// 5% of the segments to the sink dropped on its input: retransmissions (fast and timer).
await net.dropInput(net.b, "dmab", Number(LOSSY_PORT), 5);
const pids = [srv.pid, sink.pid];
const stats = enableRunStats();
let sides = [load("old", oldBytes, pids), load("new", newBytes, pids)];
// The servers listened before the objects were loaded: their owners are recorded as the driver's
// adoption does, so that their connections are tracked (server inserts, closes) as in the driver.
const serverNetns = Number((await Deno.stat(`/proc/${srv.pid}/ns/net`)).ino);
for (const s of sides) {
  for (const [t, port] of [[srv, 6001], [sink, Number(LOSSY_PORT)]] as const) {
    const k = new Uint8Array(8), v = new Uint8Array(24);
    new DataView(k.buffer).setUint32(0, serverNetns, true);
    new DataView(k.buffer).setUint16(4, port, true);
    new DataView(v.buffer).setUint32(0, t.pid, true);
    v.set(new TextEncoder().encode(t === srv ? "dm-ab-srv" : "dm-ab-sink"), 8);
    s.obj.map("listeners").update(k, v);
  }
}
const netns = new NetnsSet();
/** on_fork run totals per side and parent kind ("old/watched"), and the sums per phase. */
const forkMark = new Map<string, [number, number]>();
const forkAcc = new Map<string, [number, number]>();
function forkAdd(s: Side, kind: string): void {
  const [t, c] = totals(s, "on_fork"), [t0, c0] = forkMark.get(`${s.name}/${kind}`)!;
  const a = forkAcc.get(`${s.name}/${kind}`) ?? [0, 0];
  forkAcc.set(`${s.name}/${kind}`, [a[0] + t - t0, a[1] + c - c0]);
}
/** Drop the children the fork program added (pids the bench does not watch), as the driver's
 * pruneForked does after its grace. */
function pruneForked(s: Side): void {
  const w = watchedSets.get(s.name);
  if (w) return w.pruneForked(performance.now(), true);
  const m = s.obj.map("pids");
  const keep = new Set(pids);
  for (const k of [...m.keys()]) {
    if (!keep.has(new DataView(k.buffer).getUint32(0, true))) m.delete(k);
  }
}
/** Add a watched pid as the driver does. */
function addPid(s: Side, pid: number): void {
  const w = watchedSets.get(s.name);
  if (w) w.set(new Set(pids));
  else s.obj.map("pids").update(u32(pid), new Uint8Array([1]));
}
const watch = (pid: number) => {
  pids.push(pid);
  for (const s of sides) addPid(s, pid);
  netns.update(pids);
};
netns.update(pids);

const drain = setInterval(() => {
  for (const s of sides) s.events.consume();
}, 100);
try {
  // Events: short connections (lifecycle, resets at SO_LINGER close) and request/response.
  for (let r = 0; r < rounds * 2; r++) {
    for (const s of sides) markAll(s);
    const c = await Traffic.spawn(net.a, ["client", net.ipB, "6001", "--conns", "1500"]);
    watch(c.pid);
    await c.send();
    await c.next();
    await c.kill();
    const rr = await Traffic.spawn(net.a, ["client", net.ipB, "6001", "--rr", "3000"]);
    watch(rr.pid);
    await rr.send();
    await rr.next();
    await rr.next().catch(() => {});
    await rr.kill();
    const rst = await Traffic.spawn(net.a, [
      "client",
      net.ipB,
      "6001",
      "--conns",
      "300",
      "--rst",
    ]);
    watch(rst.pid);
    await rst.send();
    await rst.next();
    await rst.kill();
    const lossy = await Traffic.spawn(net.a, [
      "client",
      net.ipB,
      LOSSY_PORT,
      "--bytes",
      lossyBytes,
    ]);
    watch(lossy.pid);
    await lossy.send();
    await lossy.next();
    await lossy.kill();
    // Forks: a watched parent's children go into `pids` (removed again, as the driver's
    // pruneForked does); an unwatched parent's cost the lookup only.
    const fw = forker(FORKS);
    watch(fw.pid);
    for (const s of sides) forkMark.set(s.name + "/watched", totals(s, "on_fork"));
    await fw.run();
    for (const s of sides) forkAdd(s, "watched");
    for (const s of sides) pruneForked(s);
    const fu = forker(FORKS);
    for (const s of sides) forkMark.set(s.name + "/unwatched", totals(s, "on_fork"));
    await fu.run();
    for (const s of sides) forkAdd(s, "unwatched");
    for (const s of sides) accumulate(s);
    // Swap the attach order for the next round.
    for (const s of sides) detachAll(s);
    sides = [sides[1], sides[0]];
    for (const s of sides) attachAll(s);
  }
  console.log(`tracepoint programs, mean ns per run (both objects on the same events):`);
  const [o, n] = [sides.find((s) => s.name === "old")!, sides.find((s) => s.name === "new")!];
  for (const prog of Object.values(POINTS)) {
    const [ot, oc] = o.acc.get(prog)!, [nt, nc] = n.acc.get(prog)!;
    if (!oc && !nc) continue;
    if (!oc) {
      console.log(
        `  ${prog.padEnd(18)} (new only)${" ".repeat(12)}new ${
          (nt / nc).toFixed(0).padStart(5)
        } ns x${String(nc).padStart(7)}`,
      );
      continue;
    }
    const on = ot / Math.max(1, oc), nn = nt / Math.max(1, nc);
    const pr = pairRatios(o, n, prog);
    console.log(
      `  ${prog.padEnd(18)} old ${on.toFixed(0).padStart(5)} ns x${String(oc).padStart(7)}` +
        `   new ${nn.toFixed(0).padStart(5)} ns x${String(nc).padStart(7)}   new/old ${
          (nn / on).toFixed(2)
        }   pairs: median ${pr.med.toFixed(2)} (${pr.lo.toFixed(2)}-${pr.hi.toFixed(2)})`,
    );
  }
  for (const kind of ["watched", "unwatched"]) {
    const [ot, oc] = forkAcc.get(`old/${kind}`) ?? [0, 0],
      [nt, nc] = forkAcc.get(`new/${kind}`) ?? [0, 0];
    if (!oc || !nc) continue;
    const on = ot / oc, nn = nt / nc;
    console.log(
      `  on_fork (${kind.padEnd(9)}) old ${on.toFixed(0).padStart(5)} ns x${
        String(oc).padStart(7)
      }   new ${nn.toFixed(0).padStart(5)} ns x${String(nc).padStart(7)}   new/old ${
        (nn / on).toFixed(2)
      }   (other forks on the host included)`,
    );
  }

  if (!programsOnly) await periodicReads(n);
} finally {
  stats.close();
  clearInterval(drain);
  for (const s of sides) s.events.close();
  for (const s of sides) s.obj.close();
  netns.close();
  await srv.kill();
  await sink.kill();
  await net.close();
}

/** The periodic read: old against new, by value group, and read_changed_only against full. */
async function periodicReads(n: Side): Promise<void> {
  // Sockets held open for the iterator: 2,000 client + 2,000 server sockets.
  const held = await Traffic.spawn(net.a, [
    "client",
    net.ipB,
    "6001",
    "--conns",
    String(heldConns),
    "--hold",
  ]);
  watch(held.pid);
  await held.send();
  await held.next();
  const rd = Object.fromEntries(sides.map((s) => [s.name, reader(s, netns)]));
  const tracked = n.obj.map("conns").count();
  const per: Record<string, ReadCost[]> = { old: [], new: [] };
  for (let r = 0; r < rounds * 2; r++) {
    for (const s of r % 2 ? [...sides].reverse() : sides) {
      per[s.name].push(readCost(s, rd[s.name], 3, tracked));
    }
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const m = (name: string, k: keyof ReadCost) => med(per[name].map((c) => c[k]));
  console.log(
    `periodic read of ${tracked} tracked sockets (median of ${rounds * 2} x 3 reads), all groups:`,
  );
  for (const k of ["perRun", "perTracked", "wallPerTracked"] as const) {
    console.log(
      `  ${k.padEnd(15)} old (${rd.old.prog}) ${
        m("old", k).toFixed(0).padStart(5)
      } ns   new (${rd.new.prog}) ${m("new", k).toFixed(0).padStart(5)} ns   new/old ${
        (m("new", k) / m("old", k)).toFixed(2)
      }`,
    );
  }
  const groups: Record<string, number> = {
    none: 0,
    tcp_stats: 1,
    tcp_rtt: 2,
    tcp_windows: 4,
    tcp_rate: 8,
    tcp_sockbuf: 16,
    tcp_abnormal: 32,
    all: ALL_FIELDS,
  };
  const g: Record<string, number[]> = {};
  for (let r = 0; r < rounds; r++) {
    for (const [name, mask] of Object.entries(groups)) {
      setCfg(n, mask);
      (g[name] ??= []).push(readCost(n, rd.new, 3, tracked).perRun);
    }
  }
  setCfg(n, ALL_FIELDS);
  console.log(`new: program ns per run by value group enabled (median of ${rounds}):`);
  console.log("  " + Object.entries(g).map(([k, v]) => `${k} ${med(v).toFixed(0)}`).join(", "));

  // read_changed_only against full reads, interleaved, for each object whose cfg has the flags.
  // One busy connection (request/response) runs throughout; the held sockets are idle after
  // their setup.
  const skipping = sides.filter((s) => s.obj.map("cfg").valueSize >= 16);
  if (skipping.length) {
    const busy = await Traffic.spawn(net.a, ["client", net.ipB, "6001", "--rr", "100000000"]);
    watch(busy.pid);
    await busy.send();
    const gen = new Map(skipping.map((s) => [s.name, 100]));
    const modes = new Map(
      skipping.map((
        s,
      ) => [s.name, { full: [], idle_heavy: [], all_active: [], verify: [] } as Record<
        string,
        ReadCost[]
      >]),
    );
    for (const s of skipping) {
      setCfg(s, ALL_FIELDS, gen.get(s.name)!); // a full read marks every entry as read once
      rd[s.name].read();
    }
    for (let r = 0; r < rounds * 2; r++) {
      const order = r % 2
        ? ["verify", "all_active", "idle_heavy", "full"]
        : ["full", "idle_heavy", "all_active", "verify"];
      for (const mode of order) {
        for (const s of r % 2 ? [...skipping].reverse() : skipping) {
          if (mode === "verify" && rd[s.name].prog !== "read_slots") continue;
          const act = s.obj.map("activity");
          let g = gen.get(s.name)!;
          if (mode === "full") setCfg(s, ALL_FIELDS, g, false);
          if (mode === "idle_heavy" || mode === "verify") {
            // A new period, as the driver starts one: the next bitmap cleared, gen advanced;
            // only sockets active in this or the previous round are re-read. `verify`: the
            // same, with every entry looked up (the slot read after an LRU eviction).
            act.update(u32((g + 1) & 1), new Uint8Array(act.valueSize));
            gen.set(s.name, ++g);
            setCfg(s, ALL_FIELDS, g, true, mode === "verify" ? VERIFY : 0);
          }
          if (mode === "all_active") {
            // Every bit of both periods set: each socket passes the check and is read in full.
            const ones = new Uint8Array(act.valueSize).fill(0xff);
            for (const p of [0, 1]) act.update(u32(p), ones);
            setCfg(s, ALL_FIELDS, g, true);
          }
          modes.get(s.name)![mode].push(readCost(s, rd[s.name], 1, tracked));
          if (mode === "all_active") {
            for (const p of [0, 1]) act.update(u32(p), new Uint8Array(act.valueSize));
          }
        }
      }
    }
    await busy.kill();
    console.log(
      `periodic read of ${tracked} tracked sockets, read_changed_only vs full ` +
        `(median of ${rounds * 2} interleaved reads per object; one busy connection):`,
    );
    for (const k of ["perTracked", "wallPerTracked"] as const) {
      for (const [name, m] of modes) {
        const f = med(m.full.map((c) => c[k]));
        const idle = med(m.idle_heavy.map((c) => c[k]));
        const active = med(m.all_active.map((c) => c[k]));
        const verify = m.verify.length
          ? `   verify (idle-heavy, every entry looked up) ${
            med(m.verify.map((c) => c[k])).toFixed(0).padStart(5)
          } ns`
          : "";
        console.log(
          `  ${k.padEnd(15)} ${name.padEnd(3)} full ${f.toFixed(0).padStart(5)} ns   idle-heavy ${
            idle.toFixed(0).padStart(5)
          } ns (${(idle / f).toFixed(2)})   all-active ${active.toFixed(0).padStart(5)} ns (${
            (active / f).toFixed(2)
          })${verify}`,
        );
      }
      if (modes.size === 2) {
        const ratio = (mode: string) => {
          const of = (name: string) => med(modes.get(name)![mode].map((c) => c[k]));
          return (of("new") / of("old")).toFixed(2);
        };
        console.log(
          `  ${k.padEnd(15)} new/old: full ${ratio("full")}, idle-heavy ${
            ratio("idle_heavy")
          }, all-active ${ratio("all_active")}`,
        );
      }
    }
  }
  await held.kill();
}
