import { assert, assertEquals } from "../../ffi/assert.ts";
import {
  allSubprobes,
  configFor,
  NetPair,
  rowsWith,
  sleep,
  startProbe,
  Traffic,
} from "./harness.ts";
import type { Row } from "../../../runner/probe_api.ts";

const ALL = await allSubprobes("tcp");

/** The fields of `ss -tinme` for the one established socket matching `port`. */
async function ssFields(
  net: NetPair,
  ns: string,
  port: number,
  state = "established",
): Promise<Record<string, number>> {
  const out = await net.exec(
    ns,
    "ss",
    "-tinmeH",
    "state",
    state,
    `( sport = :${port} or dport = :${port} )`,
  );
  const text = out.replace(/\s+/g, " ");
  const f: Record<string, number> = {};
  const num = (re: RegExp) => Number(re.exec(text)?.[1] ?? NaN);
  [f.srtt, f.rttvar] = (/ rtt:([\d.]+)\/([\d.]+)/.exec(text) ?? []).slice(1).map(Number);
  for (
    const k of [
      "cwnd",
      "ssthresh",
      "bytes_sent",
      "bytes_acked",
      "bytes_received",
      "bytes_retrans",
      "segs_out",
      "segs_in",
      "snd_wnd",
      "mss",
      "rto",
      "ato",
    ]
  ) {
    f[k] = num(new RegExp(` ${k}:([\\d.]+)`));
  }
  const skmem = /skmem:\(r(\d+),rb(\d+),t(\d+),tb(\d+),f\d+,w(\d+),o\d+,bl(\d+),d(\d+)\)/.exec(
    text,
  );
  assert(skmem, `ss printed skmem: ${text}`);
  [f.r, f.rb, f.t, f.tb, f.w, f.bl, f.d] = skmem.slice(1).map(Number);
  f.retrans = Number(/ retrans:\d+\/(\d+)/.exec(text)?.[1] ?? 0);
  return f;
}

function one(rows: Row[] | undefined, labels: Record<string, string | number>): Row["values"] {
  const r = rowsWith(rows, labels);
  assertEquals(r.length, 1, `one row for ${JSON.stringify(labels)} in ${JSON.stringify(rows)}`);
  return r[0].values;
}

Deno.test("client and server rows match ss -tinme for the same sockets (counters exact, RTT within 10%)", async () => {
  await using net = await NetPair.create(); // also deleted when the setup below throws
  await using srv = await Traffic.spawn(net.b, ["server", "5001"]);
  await using cli = await Traffic.spawn(net.a, [
    "client",
    net.ipB,
    "5001",
    "--bytes",
    "4000000",
    "--hold",
  ]);
  const h = await startProbe(
    "tcp",
    await configFor("tcp", ALL, { report_period: 1 }),
    new Set([srv.pid, cli.pid]),
  );
  try {
    await cli.send();
    const done = await cli.next();
    const cport = (done.ports as number[])[0];
    // Both sides idle from here on: everything sent was acknowledged and received.
    await h.waitFor(
      "tcp_link",
      (r) =>
        rowsWith(r, { tgid: cli.pid })[0]?.values.bytes_acked === 4_000_001 &&
        rowsWith(r, { tgid: srv.pid })[0]?.values.bytes_received === 4_000_000,
    );
    await sleep(300); // and the last delayed ACK is out
    const tables = ["tcp_link", "tcp_rtt", "tcp_windows", "tcp_rate", "tcp_sockbuf", "tcp_abn"];
    const client = {
      tgid: cli.pid,
      role: "client",
      server_port: 5001,
      client_ip: net.ipA,
      server_ip: net.ipB,
      family: 2,
    };
    const server = {
      tgid: srv.pid,
      role: "server",
      server_port: 5001,
      client_ip: net.ipA,
      server_ip: net.ipB,
      family: 2,
    };
    // A report taken after the idle point, then ss at once.
    const before = h.latest.get("tcp_link");
    await h.waitFor("tcp_link", (r) => r !== before && rowsWith(r, client).length === 1);
    const ssC = await ssFields(net, net.a, cport), ssS = await ssFields(net, net.b, cport);
    for (const [labels, ss, side] of [[client, ssC, "client"], [server, ssS, "server"]] as const) {
      const v = Object.fromEntries(tables.map((t) => [t, one(h.latest.get(t), labels)]));
      const exact: Array<[string, unknown, number]> = [
        ["bytes_sent", v.tcp_link.bytes_sent, ss.bytes_sent || 0],
        ["bytes_acked", v.tcp_link.bytes_acked, ss.bytes_acked || 0],
        ["bytes_received", v.tcp_link.bytes_received, ss.bytes_received || 0],
        ["segs_out", v.tcp_link.segs_out, ss.segs_out],
        ["segs_in", v.tcp_link.segs_in, ss.segs_in],
        ["cwnd", v.tcp_windows.cwnd, ss.cwnd],
        ["snd_wnd", v.tcp_windows.snd_wnd, ss.snd_wnd],
        ["mss", v.tcp_rate.mss, ss.mss],
        ["rcvbuf", v.tcp_sockbuf.rcvbuf, ss.rb],
        ["sndbuf", v.tcp_sockbuf.sndbuf, ss.tb],
        ["rmem_alloc", v.tcp_sockbuf.rmem_alloc, ss.r],
        ["wmem_queued", v.tcp_sockbuf.wmem_queued, ss.w],
        ["backlog", v.tcp_abn.backlog, ss.bl],
        ["drops", v.tcp_abn.drops, ss.d],
        ["retrans", v.tcp_abn.retrans, ss.retrans],
      ];
      if (!Number.isNaN(ss.ssthresh)) exact.push(["ssthresh", v.tcp_windows.ssthresh, ss.ssthresh]);
      for (const [name, ours, theirs] of exact) assertEquals(ours, theirs, `${side} ${name}`);
      const near = (name: string, ours: number, theirs: number, tol: number) =>
        assert(
          Math.abs(ours - theirs) <= tol * theirs + 1e-6,
          `${side} ${name}: ours ${ours}, ss ${theirs}`,
        );
      near("srtt", (v.tcp_rtt.srtt as number) * 1000, ss.srtt, 0.1);
      near("rto", (v.tcp_rate.rto as number) * 1000, ss.rto, 0.02);
      near("ato", (v.tcp_rate.ato as number) * 1000, ss.ato, 0.02);
    }
    // bytes_sent counts retransmitted bytes too (a loaded host can retransmit on a veth).
    assertEquals(
      one(h.latest.get("tcp_link"), client).bytes_sent,
      4_000_000 + (ssC.bytes_retrans || 0),
    );
    assertEquals(one(h.latest.get("tcp_link"), server).bytes_received, 4_000_000);
    const delay = one(h.latest.get("tcp_delay"), client).connect_latency as {
      count: number;
      sum: number;
    };
    assertEquals(delay.count, 1);
    assert(delay.sum > 0 && delay.sum < 0.5, `connect latency ${delay.sum}`);
    // Both end when the SYN-ACK is processed; the connect began before the SYN left: a connect
    // latency shorter than the SYN RTT would be a clock read too early (or on another clock).
    const synC = one(h.latest.get("tcp_srtt"), client).syn_rtt as { count: number; sum: number };
    assertEquals(synC.count, 1);
    assert(synC.sum > 0, `client SYN RTT ${synC.sum}`);
    assert(delay.sum >= synC.sum - 1e-6, `connect ${delay.sum}s < SYN RTT ${synC.sum}s`);
    // The server's SYN-ACK RTT, once.
    const synS = one(h.latest.get("tcp_srtt"), server).syn_rtt as { count: number; sum: number };
    assertEquals(synS.count, 1);
    assert(synS.sum > 0 && synS.sum < 0.5, `server SYN-ACK RTT ${synS.sum}`);
  } finally {
    await h.close(); // then cli, srv and net go as they were declared (await using), in reverse
  }
});

Deno.test("sockets skipped as unchanged keep values equal to ss; a read by the application alone is seen", async () => {
  await using net = await NetPair.create(); // also deleted when the setup below throws
  await using srv = await Traffic.spawn(net.b, ["server", "5801", "--stall"]);
  await using cli = await Traffic.spawn(net.a, [
    "client",
    net.ipB,
    "5801",
    "--bytes",
    "60000",
    "--hold",
  ]);
  const h = await startProbe(
    "tcp",
    await configFor("tcp", ALL, { report_period: 1 }),
    new Set([srv.pid, cli.pid]),
  );
  const server = { tgid: srv.pid, role: "server", server_port: 5801 };
  const details = () => h.driver.status!().details as Record<string, number>;
  /** The probe's rows against ss for the server socket, field by field. */
  const compare = async (when: string, cport: number) => {
    const before = h.latest.get("tcp_sockbuf");
    await h.waitFor("tcp_sockbuf", (r) => r !== before);
    const ss = await ssFields(net, net.b, cport);
    const link = one(h.latest.get("tcp_link"), server),
      buf = one(h.latest.get("tcp_sockbuf"), server);
    const win = one(h.latest.get("tcp_windows"), server),
      rate = one(h.latest.get("tcp_rate"), server);
    const pairs: Array<[string, unknown, number]> = [
      ["bytes_received", link.bytes_received, ss.bytes_received || 0],
      ["segs_out", link.segs_out, ss.segs_out],
      ["segs_in", link.segs_in, ss.segs_in],
      ["rcvbuf", buf.rcvbuf, ss.rb],
      ["rmem_alloc", buf.rmem_alloc, ss.r],
      ["sndbuf", buf.sndbuf, ss.tb],
      ["cwnd", win.cwnd, ss.cwnd],
      ["mss", rate.mss, ss.mss],
    ];
    for (const [name, ours, theirs] of pairs) assertEquals(ours, theirs, `${when}: ${name}`);
    assert(
      Math.abs((rate.ato as number) * 1000 - ss.ato) <= 0.02 * ss.ato + 1e-6,
      `${when}: ato ${rate.ato} vs ss ${ss.ato}`,
    );
  };
  try {
    await cli.send();
    const cport = ((await cli.next()).ports as number[])[0];
    await h.waitFor(
      "tcp_link",
      (r) => rowsWith(r, server)[0]?.values.bytes_received === 60_000,
    );
    // Quiet for more than two periods: both sockets are listed as unchanged.
    await sleep(2500);
    assertEquals(details().idleInLastRead, 2, "both sockets skipped as unchanged");
    assertEquals(
      h.latest.get("tcp_probe_health")?.[0].values.idle_in_last_read,
      2,
      "exported in tcp_probe_health too",
    );
    await compare("idle, data queued", cport);
    assert((one(h.latest.get("tcp_sockbuf"), server).rmem_alloc as number) > 0, "data queued");
    // The application reads what is queued: no segment arrives, the socket still changes.
    await srv.send("drain");
    assertEquals((await srv.next()).drained, 60_000);
    await compare("after the application's read", cport);
    assertEquals(one(h.latest.get("tcp_sockbuf"), server).rmem_alloc, 0);
  } finally {
    await h.close(); // then cli, srv and net go as they were declared (await using), in reverse
  }
});

Deno.test("a socket in a closing state is read again while segments arrive there (they pass no tcp_probe)", async () => {
  await using net = await NetPair.create(); // also deleted when the setup below throws
  await using srv = await Traffic.spawn(net.b, ["server", "5802", "--stall"]);
  await using cli = await Traffic.spawn(net.a, [
    "client",
    net.ipB,
    "5802",
    "--bytes",
    "1000",
    "--hold",
  ]);
  const h = await startProbe(
    "tcp",
    await configFor("tcp", ALL, { report_period: 1 }),
    new Set([srv.pid, cli.pid]),
  );
  const server = { tgid: srv.pid, role: "server", server_port: 5802 };
  try {
    await cli.send();
    const cport = ((await cli.next()).ports as number[])[0];
    // The server half-closes: its socket goes to FIN_WAIT2, where the client can still send.
    await srv.send("shutdown");
    assertEquals((await srv.next()).shut, 1);
    let total = 1000;
    for (const burst of [3000, 5000]) {
      await sleep(2500); // quiet for more than two periods: no activity mark left
      await cli.send(`send ${burst}`);
      assertEquals((await cli.next()).sent, burst);
      total += burst;
      // Nothing marks the server socket for these segments: only its closing state has it read.
      await sleep(1500);
      const before = h.latest.get("tcp_link");
      await h.waitFor("tcp_link", (r) => r !== before);
      const ss = await ssFields(net, net.b, cport, "fin-wait-2");
      assertEquals(ss.bytes_received, total, "ss sees the socket in FIN_WAIT2 with every byte");
      assertEquals(one(h.latest.get("tcp_link"), server).bytes_received, total, `after ${burst}`);
    }
  } finally {
    await h.close(); // then cli, srv and net go as they were declared (await using), in reverse
  }
});

Deno.test("IPv6 connections carry family 10 and compressed addresses; v4-mapped ones read as IPv4", async () => {
  await using net = await NetPair.create(); // also deleted when the setup below throws
  await using srv = await Traffic.spawn(net.b, ["server", "5701", "--host", "::"]);
  await using v6 = await Traffic.spawn(net.b, [
    "client",
    "::1",
    "5701",
    "--bytes",
    "3000",
    "--hold",
  ]);
  await using v4 = await Traffic.spawn(net.b, [
    "client",
    "127.0.0.1",
    "5701",
    "--bytes",
    "4000",
    "--hold",
  ]);
  const procs = [srv, v6, v4];
  const h = await startProbe(
    "tcp",
    await configFor("tcp", ["tcp_stats"], { report_period: 1 }),
    new Set(procs.map((p) => p.pid)),
  );
  try {
    for (const c of [v6, v4]) await c.send();
    for (const c of [v6, v4]) await c.next();
    const rows = await h.waitFor("tcp_link", (r) => rowsWith(r, { tgid: srv.pid }).length === 2);
    assertEquals(one(rows, { tgid: v6.pid }).bytes_sent, 3000);
    assertEquals(rowsWith(rows, { tgid: v6.pid })[0].labels, {
      tgid: v6.pid,
      comm: "python3",
      role: "client",
      client_ip: "::1",
      server_ip: "::1",
      server_port: 5701,
      family: 10,
    });
    assertEquals(one(rows, { tgid: srv.pid, client_ip: "::1" }).bytes_received, 3000);
    // The dual-stack server sees the IPv4 client through an AF_INET6 socket.
    assertEquals(
      one(rows, { tgid: srv.pid, client_ip: "127.0.0.1", family: 10 }).bytes_received,
      4000,
    );
    assertEquals(rowsWith(rows, { tgid: v4.pid })[0].labels.family, 2);
  } finally {
    await h.close(); // then the processes and net go as they were declared (await using), in reverse
  }
});
