import { assert, assertEquals } from "../../ffi/assert.ts";
import { configFor, NetPair, rowsWith, sleep, startProbe, Traffic } from "../tcp/harness.ts";
import type { HistogramValue } from "../../../runner/probe_api.ts";

Deno.test("socket probe counts refused and timed-out active opens, completed opens with latency, and listen drops", async () => {
  const net = await NetPair.create();
  // SYNs to port 5998 are dropped on the server's input; 1 SYN retry makes the timeout ~3 s.
  await net.dropInput(net.b, "dmsock", 5998);
  await net.exec(net.a, "sysctl", "-q", "-w", "net.ipv4.tcp_syn_retries=1");
  const srv = await Traffic.spawn(net.b, ["server", "5001"], "dm-sock-srv");
  const stuck = await Traffic.spawn(
    net.b,
    ["server", "5002", "--backlog", "1", "--no-accept"],
    "dm-sock-stuck",
  );
  const ok = await Traffic.spawn(net.a, ["client", net.ipB, "5001", "--conns", "5"], "dm-sock-ok");
  const refused = await Traffic.spawn(
    net.a,
    ["client", net.ipB, "5999", "--conns", "3"],
    "dm-sock-ref",
  );
  const timeout = await Traffic.spawn(net.a, ["client", net.ipB, "5998"], "dm-sock-to");
  const flood = await Traffic.spawn(net.a, [
    "client",
    net.ipB,
    "5002",
    "--conns",
    "6",
    "--timeout",
    "0.5",
    "--hold",
  ]);
  const procs = [srv, stuck, ok, refused, timeout, flood];
  const h = await startProbe(
    "socket",
    await configFor("socket", ["tcp_socket"], { report_period: 1 }),
    new Set(procs.map((p) => p.pid)),
  );
  try {
    for (const c of [ok, refused, timeout, flood]) await c.send();
    for (const c of [ok, refused, timeout, flood]) await c.next();
    await sleep(1500);
    const rows = await h.waitFor(
      "socket_endpoint",
      (r) => rowsWith(r, { tgid: timeout.pid }).length > 0,
    );
    const v = (tgid: number, role: string) => {
      const r = rowsWith(rows, { tgid, role });
      assertEquals(r.length, 1, `one ${role} row for ${tgid}: ${JSON.stringify(rows)}`);
      return r[0];
    };
    const okRow = v(ok.pid, "client");
    assertEquals(okRow.labels, {
      tgid: ok.pid,
      comm: "dm-sock-ok",
      role: "client",
      ip: net.ipB,
      port: 5001,
      family: 2,
    });
    assertEquals(okRow.values.opens, 5);
    const lat = okRow.values.established_latency as HistogramValue;
    assertEquals(lat.count, 5);
    assert(lat.sum > 0 && lat.sum < 1, `latency sum ${lat.sum}`);
    assertEquals(v(ok.pid, "client").values.failures_refused, 0);
    const ref = v(refused.pid, "client").values;
    assertEquals([ref.opens, ref.failures_refused, ref.failures_timeout], [0, 3, 0]);
    const to = v(timeout.pid, "client").values;
    assertEquals([to.opens, to.failures_refused, to.failures_timeout], [0, 0, 1]);
    const srvRow = v(srv.pid, "server");
    assertEquals(srvRow.labels.comm, "dm-sock-srv");
    assertEquals([srvRow.labels.ip, srvRow.labels.port, srvRow.values.opens], [net.ipB, 5001, 5]);
    const listen = await h.waitFor(
      "socket_listen",
      (r) => rowsWith(r, { tgid: stuck.pid }).length > 0,
    );
    const l = rowsWith(listen, { tgid: stuck.pid })[0];
    assertEquals(l.labels.comm, "dm-sock-stuck");
    assertEquals(l.values.accept_queue_max, 1);
    assert((l.values.accept_queue as number) >= 1, `queue ${l.values.accept_queue}`);
    assert((l.values.drops as number) > 0, `listen drops ${l.values.drops}`);
    assertEquals(rowsWith(listen, { tgid: srv.pid })[0]?.values.accept_queue, 0);
  } finally {
    await h.close();
    for (const p of procs) await p.kill();
    await net.close();
  }
});
