/**
 * Closes folded in the kernel (tcp.bpf.c fold_closed): connections no periodic read listed are
 * summed per flow in the kernel and drained once per report, instead of a close record each.
 * Both paths run in one probe here, with reads every second: short connections (folded) and
 * held ones (listed by a read, so closed through records). Every flow must come out exact either
 * way, and the same with folding off.
 */
import { assert, assertEquals } from "../../ffi/assert.ts";
import type { HistogramValue, Row } from "../../../runner/probe_api.ts";
import {
  allSubprobes,
  configFor,
  NetPair,
  rowsWith,
  sleep,
  startProbe,
  Traffic,
} from "./harness.ts";

const SHORT = 1500, PORTS = 3, BYTES = 700, HELD = 60, RST = 300;
const SHORT_PORT = 5411, HELD_PORT = 5421, RST_PORT = 5431;

const health = (rows: Row[] | undefined): Row["values"] => rows?.[0]?.values ?? {};

/** The histogram's mean lies inside the bounds of its non-empty buckets. */
function assertPlausible(h: HistogramValue, bounds: readonly number[], what: string): void {
  const used = h.counts.flatMap((c, i) => (c ? [i] : []));
  assert(used.length > 0, `${what}: no observation`);
  const lo = used[0] === 0 ? 0 : bounds[used[0] - 1];
  const hi = used.at(-1)! < bounds.length ? bounds[used.at(-1)!] : Infinity;
  const mean = h.sum / h.count;
  assert(
    mean > lo && mean <= hi,
    `${what}: mean ${mean} outside (${lo}, ${hi}] ${JSON.stringify(h)}`,
  );
}

for (const fold of [true, false]) {
  Deno.test(`fold_closes=${fold}: short (unlisted) and held (listed) connections give exact flows`, async () => {
    await using net = await NetPair.create();
    await using srv = await Traffic.spawn(net.b, [
      "server",
      String(SHORT_PORT),
      "--ports",
      String(PORTS),
    ]);
    await using srvHeld = await Traffic.spawn(net.b, ["server", String(HELD_PORT)]);
    await using srvRst = await Traffic.spawn(net.b, ["server", String(RST_PORT)]);
    await using short = await Traffic.spawn(net.a, [
      "client",
      net.ipB,
      String(SHORT_PORT),
      "--conns",
      String(SHORT),
      "--ports",
      String(PORTS),
      "--bytes",
      String(BYTES),
    ], "dm-fold-short");
    await using held = await Traffic.spawn(
      net.a,
      ["client", net.ipB, String(HELD_PORT), "--conns", String(HELD), "--bytes", "100", "--hold"],
      "dm-fold-held",
    );
    // SO_LINGER 0: each close sends its reset just after the socket went to CLOSE.
    await using rst = await Traffic.spawn(
      net.a,
      ["client", net.ipB, String(RST_PORT), "--conns", String(RST), "--bytes", "10", "--rst"],
      "dm-fold-rst",
    );
    const h = await startProbe(
      "tcp",
      await configFor("tcp", await allSubprobes("tcp"), { report_period: 1, fold_closes: fold }),
      new Set([srv.pid, srvHeld.pid, srvRst.pid, short.pid, held.pid, rst.pid]),
    );
    try {
      await held.send();
      assertEquals((await held.next()).connected, HELD);
      // Held across reads: listed (so their closes are records whatever fold_closes says).
      await h.waitFor(
        "tcp_link",
        (r) =>
          rowsWith(r, { role: "client", server_port: HELD_PORT })[0]?.values.connections === HELD,
      );
      await short.send();
      assertEquals((await short.next()).connected, SHORT);
      await rst.send();
      assertEquals((await rst.next()).connected, RST);
      await held.kill(); // closes the held connections
      const perPort = SHORT / PORTS;
      const opens = (r: Row[], role: string, port: number) =>
        rowsWith(r, { role, server_port: port }).reduce(
          (n, x) => n + (x.values.opens as number),
          0,
        );
      const complete = (r: Row[]) =>
        [SHORT_PORT, SHORT_PORT + 1, SHORT_PORT + 2].every((p) =>
          opens(r, "client", p) >= perPort && opens(r, "server", p) >= perPort
        ) && opens(r, "server", HELD_PORT) >= HELD && opens(r, "server", RST_PORT) >= RST &&
        rowsWith(r, { role: "server", server_port: HELD_PORT })[0]?.values.connections === 0;
      await h.waitFor("tcp_link", complete, 30_000);
      await sleep(2200); // two more reports: nothing may come on top
      const link = h.latest.get("tcp_link")!;
      for (let p = SHORT_PORT; p < SHORT_PORT + PORTS; p++) {
        const [c] = rowsWith(link, { role: "client", server_port: p });
        const [s] = rowsWith(link, { role: "server", server_port: p });
        assertEquals([c.values.opens, s.values.opens], [perPort, perPort], `opens on port ${p}`);
        assertEquals([c.labels.tgid, s.labels.tgid], [short.pid, srv.pid]);
        assertEquals([c.labels.comm, c.labels.client_ip], ["dm-fold-short", net.ipA]);
        assertEquals(c.values.bytes_sent, perPort * BYTES, `client bytes sent on port ${p}`);
        // Acked: at most the data and the SYN and FIN (a socket may close before the last ACK).
        const acked = c.values.bytes_acked as number;
        assert(acked > 0 && acked <= perPort * (BYTES + 2), `acked ${acked}`);
        const got = s.values.bytes_received as number;
        assert(got >= perPort * BYTES && got <= perPort * (BYTES + 1), `server received ${got}`);
        assertEquals([c.values.connections, s.values.connections], [0, 0]);
      }
      const [hc] = rowsWith(link, { role: "client", server_port: HELD_PORT });
      assertEquals([hc.values.opens, hc.values.bytes_sent], [HELD, HELD * 100]);
      // Late resets (sent after CLOSE) count on their flow, one each.
      const abn = h.latest.get("tcp_abn")!;
      const [rc] = rowsWith(abn, { role: "client", server_port: RST_PORT });
      const [rs] = rowsWith(abn, { role: "server", server_port: RST_PORT });
      assertEquals([rc.values.rst_sent, rs.values.rst_received], [RST, RST], "resets");
      // One handshake RTT per open, one connect latency per client open.
      const srtt = h.latest.get("tcp_srtt")!, delay = h.latest.get("tcp_delay")!;
      const synBounds = h.ctx.tables.get("tcp_srtt")!.metrics[0].buckets!;
      const delayBounds = h.ctx.tables.get("tcp_delay")!.metrics[0].buckets!;
      for (let p = SHORT_PORT; p < SHORT_PORT + PORTS; p++) {
        for (const role of ["client", "server"]) {
          const syn = rowsWith(srtt, { role, server_port: p })[0].values.syn_rtt as HistogramValue;
          assertEquals(syn.count, perPort, `${role} SYN RTTs on port ${p}`);
          assertEquals(syn.counts.reduce((a, b) => a + b, 0), perPort);
          assertPlausible(syn, synBounds, `${role} syn_rtt`);
        }
        const conn = rowsWith(delay, { role: "client", server_port: p })[0].values
          .connect_latency as HistogramValue;
        assertEquals(conn.count, perPort, `connect latencies on port ${p}`);
        assertPlausible(conn, delayBounds, "connect_latency");
        assertEquals(rowsWith(delay, { role: "server", server_port: p }), []);
      }
      const hv = health(h.latest.get("tcp_probe_health"));
      const d = h.driver.status!().details as Record<string, number>;
      assertEquals(hv.closes_folded, d.foldedCloses);
      if (fold) {
        // Nearly every short connection lives far less than the 1 s between reads.
        const short = 2 * (SHORT + RST);
        assert(d.foldedCloses >= short / 2, `folded ${d.foldedCloses} of ${short} short closes`);
        assert(d.foldedCloses <= short, `folded ${d.foldedCloses}: held ones are listed`);
      } else {
        assertEquals(d.foldedCloses, 0);
      }
      assertEquals(d.lastError, undefined);
    } finally {
      await h.close();
    }
  });
}
