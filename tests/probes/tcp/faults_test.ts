import { assert, assertEquals } from "../../ffi/assert.ts";
import { configFor, NetPair, rowsWith, sleep, startProbe, Traffic } from "./harness.ts";
import type { Row } from "../../../runner/probe_api.ts";

const ALL = ["tcp_stats", "tcp_rtt", "tcp_windows", "tcp_abnormal", "tcp_delay"];

function value(
  rows: Row[] | undefined,
  labels: Record<string, string | number>,
  field: string,
): number {
  const r = rowsWith(rows, labels);
  assertEquals(r.length, 1, `one row for ${JSON.stringify(labels)}: ${JSON.stringify(rows)}`);
  return r[0].values[field] as number;
}

Deno.test("10% loss on the receiver's input raises retransmissions for exactly that connection", async () => {
  const net = await NetPair.create();
  await net.dropInput(net.b, "dmloss", 5001, 10);
  const srv1 = await Traffic.spawn(net.b, ["server", "5001"]);
  const srv2 = await Traffic.spawn(net.b, ["server", "5002"]);
  const args = ["--bytes", "3000000", "--rate", "3000000", "--hold", "--cc", "cubic"];
  const lossy = await Traffic.spawn(net.a, ["client", net.ipB, "5001", ...args]);
  const clean = await Traffic.spawn(net.a, ["client", net.ipB, "5002", ...args]);
  const procs = [srv1, srv2, lossy, clean];
  const h = await startProbe(
    "tcp",
    await configFor("tcp", ALL, { report_period: 1 }),
    new Set(procs.map((p) => p.pid)),
  );
  try {
    let maxLost = 0;
    const watchLost = setInterval(() => {
      const r = rowsWith(h.latest.get("tcp_abn"), { tgid: lossy.pid });
      if (r.length) maxLost = Math.max(maxLost, r[0].values.lost as number);
    }, 100);
    await lossy.send();
    await clean.send();
    await lossy.next();
    await clean.next();
    await sleep(1500);
    clearInterval(watchLost);
    const abn = h.latest.get("tcp_abn");
    const faulted = { tgid: lossy.pid, role: "client", server_port: 5001 };
    const ok = { tgid: clean.pid, role: "client", server_port: 5002 };
    assert(value(abn, faulted, "retrans") > 0, "retransmitted segments on the lossy connection");
    assert(
      value(abn, faulted, "retrans_ratio") > 0.01,
      `ratio ${value(abn, faulted, "retrans_ratio")}`,
    );
    // A retransmission fails (err < 0) when the original is still queued on this host (TSQ, the
    // qdisc: -EBUSY), which a busy host sees now and then: some may, never all of them.
    const failed = value(abn, faulted, "retrans_failed");
    assert(failed < value(abn, faulted, "retrans"), `failed retransmissions ${failed}`);
    // Every timeout retransmits at least one segment.
    assert(value(abn, faulted, "timeouts") <= value(abn, faulted, "retrans"));
    // The clean connection may see a tail-loss probe or two when the host is busy (they count as
    // retransmissions), never the lossy connection's dozens.
    const lossyRetrans = value(abn, faulted, "retrans");
    assert(lossyRetrans >= 20, `lossy retrans ${lossyRetrans}`);
    assert(value(abn, ok, "retrans") <= 2, `clean retrans ${value(abn, ok, "retrans")}`);
    // A timeout needs 200 ms without an ACK on a link of sub-millisecond RTT.
    assertEquals(value(abn, ok, "timeouts"), 0, "clean timeouts");
    assertEquals(value(abn, ok, "lost"), 0);
    // The receiving side did not retransmit anything either.
    assert(value(abn, { tgid: srv1.pid, role: "server" }, "retrans") <= 2);
    console.log(`max lost_out seen on the lossy connection: ${maxLost}`);
  } finally {
    await h.close();
    for (const p of procs) await p.kill();
    await net.close();
  }
});

Deno.test("a black-holed connection counts its retransmission timeouts; the other connection none", async () => {
  const net = await NetPair.create();
  const srv1 = await Traffic.spawn(net.b, ["server", "5011"]);
  const srv2 = await Traffic.spawn(net.b, ["server", "5012"]);
  const holed = await Traffic.spawn(net.a, [
    "client",
    net.ipB,
    "5011",
    "--bytes",
    "1000",
    "--hold",
  ]);
  const clean = await Traffic.spawn(net.a, [
    "client",
    net.ipB,
    "5012",
    "--bytes",
    "1000",
    "--hold",
  ]);
  const procs = [srv1, srv2, holed, clean];
  // The default read_changed_only: nothing arrives on the black-holed socket, so only the
  // retransmit program's activity mark gets it read again.
  const h = await startProbe(
    "tcp",
    await configFor("tcp", ["tcp_abnormal"], { report_period: 1 }),
    new Set(procs.map((p) => p.pid)),
  );
  try {
    for (const c of [holed, clean]) await c.send();
    for (const c of [holed, clean]) await c.next();
    await h.waitFor(
      "tcp_abn",
      (r) =>
        rowsWith(r, { tgid: holed.pid }).length + rowsWith(r, { tgid: clean.pid }).length === 2,
    );
    await net.dropInput(net.b, "dmhole", 5011);
    for (const c of [holed, clean]) await c.send("send 1000");
    for (const c of [holed, clean]) await c.next();
    // The RTO starts at 200 ms and doubles: timeouts at ~0.2, 0.6, 1.4, 3.0 and 6.2 s. The send
    // marked the socket for this period and the next (1 s each); the fourth timeout is seen only
    // if the retransmissions mark it.
    const abn = await h.waitFor("tcp_abn", (r) => value(r, { tgid: holed.pid }, "timeouts") >= 4);
    const timeouts = value(abn, { tgid: holed.pid }, "timeouts");
    assert(timeouts <= 5, `timeouts ${timeouts} in under 7 s`);
    assert(value(abn, { tgid: holed.pid }, "retrans") >= timeouts);
    assertEquals(value(abn, { tgid: clean.pid }, "timeouts"), 0);
    assert(value(abn, { tgid: clean.pid }, "retrans") <= 2);
  } finally {
    await h.close();
    for (const p of procs) await p.kill();
    await net.close();
  }
});

Deno.test("a tbf queue on the sender's link raises srtt at least tenfold", async () => {
  const net = await NetPair.create();
  const srv = await Traffic.spawn(net.b, ["server", "5001"]);
  const base = await Traffic.spawn(net.a, [
    "client",
    net.ipB,
    "5001",
    "--bytes",
    "2000000",
    "--hold",
  ]);
  const slow = await Traffic.spawn(net.a, [
    "client",
    net.ipB,
    "5001",
    "--bytes",
    "2000000",
    "--hold",
  ]);
  const procs = [srv, base, slow];
  const h = await startProbe(
    "tcp",
    await configFor("tcp", ["tcp_rtt"], { report_period: 1 }),
    new Set(procs.map((p) => p.pid)),
  );
  try {
    await base.send();
    await base.next();
    const rows = await h.waitFor("tcp_rtt", (r) => rowsWith(r, { tgid: base.pid }).length === 1);
    const before = rowsWith(rows, { tgid: base.pid })[0].values.srtt as number;
    await net.exec(
      net.a,
      "tc",
      "qdisc",
      "add",
      "dev",
      net.vethA,
      "root",
      "tbf",
      "rate",
      "1mbit",
      "burst",
      "32kbit",
      "latency",
      "400ms",
    );
    await slow.send(); // 2 MB at 1 Mbit/s: still sending while we read
    await sleep(4000);
    const after = await h.waitFor(
      "tcp_rtt",
      (r) => (rowsWith(r, { tgid: slow.pid })[0]?.values.srtt as number) > 0,
    );
    const srtt = rowsWith(after, { tgid: slow.pid })[0].values.srtt as number;
    assert(srtt >= 10 * before, `srtt ${srtt}s under tbf vs ${before}s before`);
  } finally {
    await h.close();
    for (const p of procs) await p.kill();
    await net.close();
  }
});

Deno.test("a refused connect counts a received reset; an SO_LINGER 0 close counts a sent and a received reset", async () => {
  const net = await NetPair.create();
  const srv = await Traffic.spawn(net.b, ["server", "5001"]);
  const refused = await Traffic.spawn(net.a, ["client", net.ipB, "5999"]);
  const rst = await Traffic.spawn(net.a, ["client", net.ipB, "5001", "--bytes", "1000", "--rst"]);
  const procs = [srv, refused, rst];
  const h = await startProbe(
    "tcp",
    await configFor("tcp", ["tcp_stats", "tcp_abnormal"], { report_period: 1 }),
    new Set(procs.map((p) => p.pid)),
  );
  try {
    for (const c of [refused, rst]) await c.send();
    for (const c of [refused, rst]) await c.next();
    const abn = await h.waitFor(
      "tcp_abn",
      (r) =>
        rowsWith(r, { tgid: rst.pid }).length === 1 &&
        rowsWith(r, { tgid: refused.pid }).length === 1,
    );
    assertEquals(value(abn, { tgid: refused.pid, server_port: 5999 }, "rst_received"), 1);
    assertEquals(value(abn, { tgid: refused.pid, server_port: 5999 }, "rst_sent"), 0);
    assertEquals(
      value(h.latest.get("tcp_link"), { tgid: refused.pid }, "opens"),
      0,
      "a refused connect is not an open",
    );
    assertEquals(value(abn, { tgid: rst.pid, role: "client" }, "rst_sent"), 1);
    const server = await h.waitFor(
      "tcp_abn",
      (r) => rowsWith(r, { tgid: srv.pid, role: "server" }).length === 1,
    );
    assertEquals(value(server, { tgid: srv.pid, role: "server" }, "rst_received"), 1);
    assertEquals(
      value(h.latest.get("tcp_link"), { tgid: srv.pid, role: "server" }, "bytes_received"),
      1000,
    );
  } finally {
    await h.close();
    for (const p of procs) await p.kill();
    await net.close();
  }
});

Deno.test("a receiver that stops reading shows zero windows on both sides of exactly that connection", async () => {
  const net = await NetPair.create();
  const stalled = await Traffic.spawn(net.b, ["server", "5601", "--stall"]);
  const reading = await Traffic.spawn(net.b, ["server", "5602"]);
  const c1 = await Traffic.spawn(net.a, [
    "client",
    net.ipB,
    "5601",
    "--bytes",
    "50000000",
    "--send-timeout",
    "2",
    "--hold",
  ]);
  const c2 = await Traffic.spawn(net.a, [
    "client",
    net.ipB,
    "5602",
    "--bytes",
    "20000", // well inside the first window: it cannot close
    "--hold",
  ]);
  const procs = [stalled, reading, c1, c2];
  const h = await startProbe(
    "tcp",
    await configFor("tcp", ["tcp_windows"], { report_period: 1 }),
    new Set(procs.map((p) => p.pid)),
  );
  try {
    for (const c of [c1, c2]) await c.send();
    assertEquals(
      ((await c1.next()).errors as Record<string, number>).send_timeout,
      1,
      "the sender got stuck",
    );
    await c2.next();
    const rows = await h.waitFor(
      "tcp_windows",
      (r) => value(r, { tgid: c1.pid }, "zero_window_rx") > 0,
    );
    assertEquals(value(rows, { tgid: c1.pid }, "snd_wnd"), 0, "the peer's window is closed now");
    assert(
      value(rows, { tgid: stalled.pid }, "zero_window_tx") > 0,
      "the stalled receiver advertised zero",
    );
    assertEquals(value(rows, { tgid: c2.pid }, "zero_window_rx"), 0);
    assertEquals(value(rows, { tgid: reading.pid }, "zero_window_tx"), 0);
  } finally {
    await h.close();
    for (const p of procs) await p.kill();
    await net.close();
  }
});
