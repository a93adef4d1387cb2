import { assert, assertEquals, assertMatch } from "../../ffi/assert.ts";
import { BpfError } from "../../../ffi/libbpf.ts";
import { compileBpf } from "../../ffi/build_fixture.ts";
import { removedAtExit } from "../../helpers/demarc.ts";
import { configFor, NetPair, ROOT, rowsWith, startProbe, Traffic } from "./harness.ts";

/** A build dir whose tcp.bpf.o targets a tracepoint this kernel lacks for one program. */
async function buildWith(define: string): Promise<string> {
  const dir = removedAtExit(await Deno.makeTempDir({ prefix: "demarc-build-degraded-" }));
  const src = `${dir}/tcp.bpf.c`;
  await Deno.writeTextFile(src, `#define ${define}\n#include "${ROOT}/probes/tcp/tcp.bpf.c"\n`);
  const obj = await compileBpf(src, [`${ROOT}/probes/tcp`, `${ROOT}/probes`]);
  await Deno.mkdir(`${dir}/bpf`);
  await Deno.copyFile(obj, `${dir}/bpf/tcp.bpf.o`);
  return dir;
}

Deno.test("an optional attach point this kernel lacks degrades with its reason while the rest runs", async () => {
  const buildDir = await buildWith('TCP_PROBE_TP "tcp_probe_not_in_this_kernel"');
  const net = await NetPair.create();
  const srv = await Traffic.spawn(net.b, ["server", "5501"]);
  const cli = await Traffic.spawn(net.a, ["client", net.ipB, "5501", "--bytes", "1000", "--hold"]);
  const h = await startProbe(
    "tcp",
    await configFor("tcp", ["tcp_stats", "tcp_windows"], { report_period: 1 }),
    new Set([srv.pid, cli.pid]),
    buildDir,
  );
  try {
    const st = h.driver.status!();
    // tcp_probe is also an activity marker: without it every socket is read in full.
    assertEquals(st.degraded!.map((d) => d.part), ["tp_btf/tcp_probe", "read_changed_only"]);
    assertMatch(st.degraded![0].reason, /not loadable on this kernel/);
    assertMatch(st.degraded![1].reason, /tp_btf\/tcp_probe not attached.*read in full/);
    assert(!(st.details!.attached as string[]).includes("tp_btf/tcp_probe"));
    assert(h.logs.some((l) => l.includes("tcp probe part degraded")), "the degradation is logged");
    await cli.send();
    await cli.next();
    const rows = await h.waitFor("tcp_link", (r) => rowsWith(r, { tgid: cli.pid }).length === 1);
    assertEquals(rowsWith(rows, { tgid: cli.pid })[0].values.bytes_sent, 1000);
    assertEquals(h.latest.get("tcp_probe_health")![0].values.degraded_parts, 2);
    // Turning the sub-probe off leaves only the full reads; read_changed_only off clears it.
    await h.driver.reconfigure(
      await configFor("tcp", ["tcp_stats"], { report_period: 1 }),
      new Set([srv.pid, cli.pid]),
    );
    assertEquals(h.driver.status!().degraded!.map((d) => d.part), ["read_changed_only"]);
    await h.driver.reconfigure(
      await configFor("tcp", ["tcp_stats"], { report_period: 1, read_changed_only: false }),
      new Set([srv.pid, cli.pid]),
    );
    assertEquals(h.driver.status!().degraded, []);
  } finally {
    await h.close();
    await cli.kill();
    await srv.kill();
    await net.close();
  }
});

Deno.test("a required attach point this kernel lacks fails the start with the libbpf reason", async () => {
  const buildDir = await buildWith("DEMARC_BROKEN_LIFECYCLE");
  let err: unknown;
  try {
    const h = await startProbe("tcp", await configFor("tcp", ["tcp_stats"]), new Set(), buildDir);
    await h.close();
  } catch (e) {
    err = e;
  }
  assert(err instanceof BpfError, `start failed with a BpfError: ${err}`);
  assertMatch(err.message, /load BPF object tcp\.bpf\.o failed/);
  assertMatch(err.message, /on_state/);
});

Deno.test("a kernel that cannot load the read of the slots walks the hash table: same values, counted idle", async () => {
  const buildDir = await buildWith("DEMARC_NO_SLOT_READ");
  const net = await NetPair.create();
  const srv = await Traffic.spawn(net.b, ["server", "5502"]);
  const cli = await Traffic.spawn(net.a, ["client", net.ipB, "5502", "--bytes", "1000", "--hold"]);
  const h = await startProbe(
    "tcp",
    await configFor("tcp", ["tcp_stats"], { report_period: 3600 }),
    new Set([srv.pid, cli.pid]),
    buildDir,
  );
  const report = () => (h.driver as unknown as { reportNow(): Promise<void> }).reportNow();
  try {
    const st = h.driver.status!();
    assertEquals(st.degraded!.map((d) => d.part), ["iter/bpf_map_elem"]);
    assertMatch(st.degraded![0].reason, /hash table is walked instead/);
    assertEquals(st.details!.readProgram, "dump_conns");
    await cli.send();
    await cli.next();
    // A delayed ACK or the server's late read marks a socket up to ~200 ms after the client's
    // answer (longer on a loaded host): report until two periods have passed with no event.
    let d: Record<string, number> = {};
    for (let i = 0; i < 40 && d.idleInLastRead !== 2; i++) {
      if (i) await new Promise((r) => setTimeout(r, 100));
      for (let j = 0; j < 3; j++) await report();
      d = h.driver.status!().details as Record<string, number>;
    }
    const rows = h.latest.get("tcp_link");
    assertEquals(rowsWith(rows, { tgid: cli.pid })[0].values.bytes_sent, 1000);
    assertEquals(d.idleInLastRead, 2, `both sockets counted as unchanged: ${JSON.stringify(d)}`);
    assertEquals(d.verifiedReads, 0);
  } finally {
    await h.close();
    await cli.kill();
    await srv.kill();
    await net.close();
  }
});
