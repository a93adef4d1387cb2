import { assert, assertEquals } from "../../ffi/assert.ts";
import {
  assertForkedDroppedAfterGrace,
  configFor,
  forkingClient,
  NetPair,
  rowsWith,
  sh,
  startProbe,
  Traffic,
} from "./harness.ts";
import type { Row } from "../../../runner/probe_api.ts";

function sum(rows: Row[], field: string): number {
  return rows.reduce((n, r) => n + (r.values[field] as number), 0);
}

Deno.test("each of 1,000 connections carries its own client and server process (pid and comm), pre-existing ones too", async () => {
  const net = await NetPair.create();
  const s1 = await Traffic.spawn(net.b, ["server", "5101"], "dm-srv-1");
  const s2 = await Traffic.spawn(net.b, ["server", "5102"], "dm-srv-2");
  const c0 = await Traffic.spawn(
    net.a,
    ["client", net.ipB, "5101", "--conns", "100", "--hold"],
    "dm-cli-0",
  );
  await c0.send();
  await c0.next(); // these 100 exist before the probe starts
  const c1 = await Traffic.spawn(
    net.a,
    ["client", net.ipB, "5101", "--conns", "300", "--hold"],
    "dm-cli-1",
  );
  const c2 = await Traffic.spawn(
    net.a,
    ["client", net.ipB, "5102", "--conns", "300", "--hold"],
    "dm-cli-2",
  );
  const c3 = await Traffic.spawn(
    net.a,
    ["client", net.ipB, "5102", "--conns", "300", "--hold"],
    "dm-cli-3",
  );
  const procs = [s1, s2, c0, c1, c2, c3];
  const h = await startProbe(
    "tcp",
    await configFor("tcp", ["tcp_stats"], { report_period: 1 }),
    new Set(procs.map((p) => p.pid)),
  );
  try {
    for (const c of [c1, c2, c3]) await c.send();
    for (const c of [c1, c2, c3]) assertEquals((await c.next()).connected, 300);
    const rows = await h.waitFor("tcp_link", (r) => sum(r, "connections") === 2000, 15_000);
    const expect: Array<[Traffic, string, string, number, number]> = [
      [c0, "dm-cli-0", "client", 5101, 100],
      [c1, "dm-cli-1", "client", 5101, 300],
      [c2, "dm-cli-2", "client", 5102, 300],
      [c3, "dm-cli-3", "client", 5102, 300],
      [s1, "dm-srv-1", "server", 5101, 400],
      [s2, "dm-srv-2", "server", 5102, 600],
    ];
    for (const [p, comm, role, port, n] of expect) {
      const r = rowsWith(rows, { tgid: p.pid });
      assertEquals(r.length, 1, `${comm}: ${JSON.stringify(r)}`);
      assertEquals(r[0].labels, {
        tgid: p.pid,
        comm,
        role,
        client_ip: net.ipA,
        server_ip: net.ipB,
        server_port: port,
        family: 2,
      });
      assertEquals([r[0].values.connections, r[0].values.opens], [n, n], comm);
    }
    assertEquals(rows.length, 6, "no other flows");
  } finally {
    await h.close();
    for (const p of procs) await p.kill();
    await net.close();
  }
});

Deno.test("an unwatched process never appears; watching it later takes effect without a restart", async () => {
  const net = await NetPair.create();
  const srv = await Traffic.spawn(net.b, ["server", "5201"], "dm-flt-srv");
  const watched = await Traffic.spawn(
    net.a,
    ["client", net.ipB, "5201", "--conns", "3", "--hold"],
    "dm-flt-w",
  );
  const other = await Traffic.spawn(
    net.a,
    ["client", net.ipB, "5201", "--conns", "5", "--hold"],
    "dm-flt-u",
  );
  const later = await Traffic.spawn(
    net.a,
    ["client", net.ipB, "5201", "--conns", "2", "--hold"],
    "dm-flt-w2",
  );
  const procs = [srv, watched, other, later];
  const h = await startProbe(
    "tcp",
    await configFor("tcp", ["tcp_stats"], { report_period: 1 }),
    new Set([srv.pid, watched.pid]),
  );
  try {
    for (const c of [watched, other]) await c.send();
    for (const c of [watched, other]) await c.next();
    let rows = await h.waitFor(
      "tcp_link",
      (r) => rowsWith(r, { tgid: srv.pid })[0]?.values.connections === 8,
    );
    assertEquals(rowsWith(rows, { tgid: watched.pid })[0].values.connections, 3);
    assertEquals(rowsWith(rows, { tgid: other.pid }), [], "the unwatched client is absent");
    const health = h.latest.get("tcp_probe_health")![0].values;
    assert((health.filtered as number) >= 5, `filtered ${health.filtered}`);
    const reports = h.driver.status!().details!.reports as number;

    // Watch `other` (its open connections are adopted through /proc), stop watching `watched`.
    await h.driver.updatePids(new Set([srv.pid, other.pid, later.pid]));
    await later.send();
    await later.next();
    rows = await h.waitFor(
      "tcp_link",
      (r) =>
        rowsWith(r, { tgid: other.pid }).length === 1 &&
        rowsWith(r, { tgid: later.pid }).length === 1,
    );
    const o = rowsWith(rows, { tgid: other.pid })[0];
    assertEquals([o.labels.comm, o.values.connections], ["dm-flt-u", 5]);
    assertEquals(rowsWith(rows, { tgid: later.pid })[0].values.opens, 2);
    assert(
      (h.driver.status!().details!.reports as number) > reports,
      "same driver instance kept reporting",
    );
    assertEquals(
      h.logs.filter((l) => l.includes("tcp probe running")).length,
      1,
      "never restarted",
    );
  } finally {
    await h.close();
    for (const p of procs) await p.kill();
    await net.close();
  }
});

for (const owner of ["sendmsg", "accept"]) {
  Deno.test(`server_owner=${owner}: connections of a pre-forked server belong to the worker that serves them`, async () => {
    const net = await NetPair.create();
    const srv = await Traffic.spawn(net.b, ["server", "5401", "--workers", "2"], "dm-prefork");
    const workers = srv.info.workers as number[];
    const cli = await Traffic.spawn(
      net.a,
      ["client", net.ipB, "5401", "--conns", "40", "--hold"],
      "dm-pf-cli",
    );
    const h = await startProbe(
      "tcp",
      await configFor("tcp", ["tcp_stats"], { report_period: 1, server_owner: owner }),
      new Set([srv.pid, ...workers, cli.pid]),
    );
    try {
      assertEquals(h.driver.status!().degraded, []);
      await cli.send();
      await cli.next();
      const rows = await h.waitFor(
        "tcp_link",
        (r) => sum(rowsWith(r, { role: "server" }), "connections") === 40,
      );
      const server = rowsWith(rows, { role: "server" });
      assert(
        server.every((r) => workers.includes(r.labels.tgid as number)),
        JSON.stringify(server.map((r) => r.labels)),
      );
      assertEquals(rowsWith(rows, { tgid: srv.pid }), [], "the parent only listened");
      assertEquals(sum(server, "opens"), 40);
    } finally {
      await h.close();
      await cli.kill();
      await srv.kill();
      for (const w of workers) await sh("kill", "-9", String(w)).catch(() => {});
      await net.close();
    }
  });
}

Deno.test("a watched process's child that connects at once is tracked under its own pid until the runner decides", async () => {
  const f = await forkingClient(5901, "dm-fork");
  const h = await startProbe(
    "tcp",
    await configFor("tcp", ["tcp_stats"], { report_period: 1 }),
    new Set([f.srv.pid, f.parent.pid]), // the runner watches the parent only
  );
  try {
    const child = await f.fork();
    const rows = await h.waitFor(
      "tcp_link",
      (r) => rowsWith(r, { tgid: child, role: "client" })[0]?.values.bytes_sent === 5000,
    );
    assertEquals(rowsWith(rows, { tgid: child })[0].labels.comm, "dm-fork-cli");
    assertEquals(rowsWith(rows, { tgid: f.parent.pid }).length, 0, "nothing on the parent");
    assertEquals(rowsWith(rows, { tgid: f.srv.pid }).length, 1, "the server side as usual");
    // The runner's snoopers never match it: after the grace the kernel stops watching it.
    await assertForkedDroppedAfterGrace(h);
  } finally {
    await h.close();
    await f.close();
  }
});

Deno.test("a map-size change reloads the kernel side and re-adopts the open connections", async () => {
  const net = await NetPair.create();
  const srv = await Traffic.spawn(net.b, ["server", "5801"], "dm-rl-srv");
  const cli = await Traffic.spawn(
    net.a,
    ["client", net.ipB, "5801", "--conns", "7", "--hold"],
    "dm-rl-cli",
  );
  const pids = new Set([srv.pid, cli.pid]);
  const h = await startProbe(
    "tcp",
    await configFor("tcp", ["tcp_stats"], { report_period: 1 }),
    pids,
  );
  try {
    await cli.send();
    await cli.next();
    await h.waitFor("tcp_link", (r) => rowsWith(r, { tgid: cli.pid })[0]?.values.connections === 7);
    await h.driver.reconfigure(
      await configFor("tcp", ["tcp_stats"], { report_period: 1, max_connections: 2048 }),
      pids,
    );
    assertEquals(h.latest.get("tcp_probe_health")?.[0].values.map_capacity, 65536);
    const health = await h.waitFor("tcp_probe_health", (r) => r[0].values.map_capacity === 2048);
    assertEquals(health[0].values.tracked_connections, 14, "both sides adopted again");
    const rows = await h.waitFor(
      "tcp_link",
      (r) => rowsWith(r, { tgid: srv.pid })[0]?.values.connections === 7,
    );
    assertEquals(rowsWith(rows, { tgid: cli.pid })[0].values.connections, 7);
  } finally {
    await h.close();
    await cli.kill();
    await srv.kill();
    await net.close();
  }
});
