/**
 * The watched set's slots (tcp.bpf.c `pid_slots`, probes/tcp/watched_pids.ts) where two tgids
 * PID_SLOTS apart share one: the kernel must fall back to `pids` for both, and a child forked into a
 * taken slot must be recorded in `pids`. Pids PID_SLOTS apart are arranged by adding pids to the
 * runner's set that no test process has (the maps hold numbers; whether a process exists does
 * not matter to them).
 */

import { assert, assertEquals } from "../../ffi/assert.ts";
import {
  assertForkedDroppedAfterGrace,
  configFor,
  forkingClient,
  NetPair,
  ROOT,
  rowsWith,
  startProbe,
  Traffic,
} from "./harness.ts";
import type { Row } from "../../../runner/probe_api.ts";

/** tcp.bpf.c's PID_SLOTS (WatchedPids takes it from the map's size). */
const PID_SLOTS = Number(
  /#define PID_SLOTS (\d+)/.exec(Deno.readTextFileSync(`${ROOT}/probes/tcp/tcp.bpf.c`))![1],
);

function sentBy(rows: Row[], tgid: number): number {
  return rowsWith(rows, { tgid, role: "client" }).reduce(
    (n, r) => n + (r.values.bytes_sent as number),
    0,
  );
}

Deno.test("two watched pids sharing a slot are both watched; an unwatched pid whose slot holds another is not", async () => {
  const net = await NetPair.create();
  const srv = await Traffic.spawn(net.b, ["server", "5951"], "dm-slot-srv");
  const args = ["client", net.ipB, "5951", "--conns", "20", "--bytes", "1000"];
  const shared = await Traffic.spawn(net.a, args, "dm-slot-w");
  const other = await Traffic.spawn(net.a, args, "dm-slot-u");
  // `shared` shares its slot with another watched pid; `other` is not watched, but its slot
  // holds a watched pid.
  const pids = new Set([srv.pid, shared.pid, shared.pid + PID_SLOTS, other.pid + PID_SLOTS]);
  const h = await startProbe(
    "tcp",
    await configFor("tcp", ["tcp_stats"], { report_period: 1 }),
    pids,
  );
  try {
    // Short connections, closed before any /proc adoption could see them: only the kernel's
    // check at connect() tracks them.
    for (const c of [shared, other]) await c.send();
    for (const c of [shared, other]) await c.next();
    const rows = await h.waitFor("tcp_link", (r) => sentBy(r, shared.pid) === 20_000);
    assertEquals(sentBy(rows, shared.pid), 20_000, "all 20 connections of the shared slot's pid");
    assertEquals(rowsWith(rows, { tgid: other.pid }).length, 0, "nothing of the unwatched pid");
  } finally {
    await h.close();
    for (const c of [shared, other, srv]) await c.kill();
    await net.close();
  }
});

Deno.test("a watched process's child whose slot is taken is watched through pids, then dropped after the grace", async () => {
  const f = await forkingClient(5952, "dm-slot");
  // The next PID_SLOTS - 1 pids after the parent's (all but its own slot) find their slots
  // taken by watched pids.
  const RANGE = PID_SLOTS - 1;
  const pids = new Set([f.srv.pid, f.parent.pid]);
  // A pid of the same slot that no process holds now: a live one that forks would add its own
  // children to the kernel's watched set and to the count this test checks.
  const alive = (pid: number) => {
    try {
      Deno.statSync(`/proc/${pid}`);
      return true;
    } catch {
      return false;
    }
  };
  for (let i = 1; i <= RANGE; i++) {
    let p = f.parent.pid + i + PID_SLOTS;
    while (alive(p)) p += PID_SLOTS;
    pids.add(p);
  }
  const h = await startProbe(
    "tcp",
    await configFor("tcp", ["tcp_stats"], { report_period: 1 }),
    pids,
  );
  try {
    const child = await f.fork();
    assert(
      child > f.parent.pid && child <= f.parent.pid + RANGE,
      `the child (${child}) forked within ${RANGE} pids of its parent (${f.parent.pid}): ` +
        "its slot was taken (a host forking faster than that makes this test moot; run again)",
    );
    const rows = await h.waitFor("tcp_link", (r) => sentBy(r, child) === 5000);
    assertEquals(rowsWith(rows, { tgid: child })[0].labels.comm, "dm-slot-cli");
    await assertForkedDroppedAfterGrace(h);
  } finally {
    await h.close();
    await f.close();
  }
});
