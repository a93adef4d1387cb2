import { assert, assertEquals } from "../../ffi/assert.ts";
import { removedAtExit, startDemarc, waitFor } from "../../helpers/demarc.ts";
import { buildDirFor, sh, Traffic } from "./harness.ts";

/** The seed's command, verbatim but for the address of the API. */
const SEED_JSON =
  '{"cmd":{"probe":["tcp_abnormal","tcp_rtt","tcp_windows","tcp_rate","tcp_rtt","tcp_sockbuf","tcp_stats"]},"snoopers":{"proc_name":[{"comm":"java","cmdline":"dubbo"}]},"state":"running","params":{"report_period":60,"l7_protocol":["http"]}}';

/** A build dir with both probes' objects. */
async function buildDir(): Promise<string> {
  const dir = removedAtExit(await Deno.makeTempDir({ prefix: "demarc-build-all-" }));
  await Deno.mkdir(`${dir}/bpf`);
  for (const p of ["tcp", "socket"]) {
    await Deno.copyFile(`${await buildDirFor(p)}/bpf/${p}.bpf.o`, `${dir}/bpf/${p}.bpf.o`);
  }
  return dir;
}

function series(text: string, metric: string, tgid: number): string[] {
  return text.split("\n").filter((l) => l.startsWith(metric + "{") && l.includes(`tgid="${tgid}"`));
}

type TcpGet = {
  cmd: { probe: string[] };
  state: string;
  params: Record<string, unknown>;
  status: {
    phase: string;
    restarts: number;
    watchedPids: number;
    driver?: { details?: Record<string, number> };
  };
};

Deno.test("the seed's curl works verbatim through the API; snoopers change without restarting the probe", async () => {
  const demarc = await startDemarc({ buildDir: await buildDir(), logLevel: "info" });
  // A "java" process running "dubbo" serves; a java+dubbo client and a plain client connect to it.
  const srv = await Traffic.spawn(undefined, [
    "server",
    "0",
    "--host",
    "127.0.0.1",
    "--tag",
    "dubbo",
  ], "java");
  const port = String(srv.info.port);
  const javaCli = await Traffic.spawn(undefined, [
    "client",
    "127.0.0.1",
    port,
    "--bytes",
    "5000",
    "--hold",
    "--tag",
    "dubbo",
  ], "java");
  const plain = await Traffic.spawn(undefined, [
    "client",
    "127.0.0.1",
    port,
    "--bytes",
    "7000",
    "--hold",
  ], "dm-plain");
  const procs = [srv, javaCli, plain];
  try {
    const res = await sh(
      "curl",
      "-sS",
      "-X",
      "PUT",
      `${demarc.api}/tcp`,
      "--data-urlencode",
      `json=${SEED_JSON}`,
    );
    assertEquals(JSON.parse(res), { result: "success", message: "New config takes effect" });
    let got = await demarc.get<TcpGet>("/tcp");
    assertEquals(got.cmd.probe.length, 6, "the duplicate tcp_rtt is accepted once");
    assertEquals([got.state, got.params.report_period, got.params.l7_protocol], ["running", 60, [
      "http",
    ]]);
    await waitFor(
      async () => (await demarc.get<TcpGet>("/tcp")).status.phase === "running",
      15_000,
      "tcp running",
    );

    // The same config with a 5 s period, so the test sees reports; the driver is reconfigured.
    const seed = JSON.parse(SEED_JSON);
    const put = await demarc.put("/tcp", { ...seed, params: { ...seed.params, report_period: 5 } });
    assertEquals(put.status, 200);
    await waitFor(
      async () => (await demarc.get<TcpGet>("/tcp")).status.watchedPids >= 2,
      10_000,
      "pids",
    );
    for (const c of [javaCli, plain]) await c.send();
    for (const c of [javaCli, plain]) await c.next();
    const text = await waitFor(
      async () => {
        const t = await demarc.scrape();
        return series(t, "demarc_tcp_link_bytes_sent_bytes_total", javaCli.pid).length
          ? t
          : undefined;
      },
      15_000,
      "java client series",
    );
    assertEquals(
      series(text, "demarc_tcp_link_bytes_sent_bytes_total", javaCli.pid).map((l) =>
        l.split(" ").pop()
      ),
      ["5000"],
    );
    assert(
      series(text, "demarc_tcp_link_bytes_received_bytes_total", srv.pid).some((l) =>
        l.includes('role="server"')
      ),
    );
    assertEquals(
      series(text, "demarc_tcp_link_bytes_sent_bytes_total", plain.pid),
      [],
      "unwatched: absent",
    );
    assert(text.includes("# TYPE demarc_tcp_rtt_srtt_seconds gauge"));
    got = await demarc.get<TcpGet>("/tcp");
    const reportsBefore = got.status.driver!.details!.reports;
    assert(reportsBefore >= 1);

    // Watch the plain client too, by pid: its open connection is adopted, no restart happens.
    const put2 = await demarc.put("/tcp", {
      ...seed,
      snoopers: { proc_id: [plain.pid], proc_name: seed.snoopers.proc_name },
      params: { ...seed.params, report_period: 5 },
    });
    assertEquals(put2.status, 200);
    const text2 = await waitFor(
      async () => {
        const t = await demarc.scrape();
        return series(t, "demarc_tcp_link_bytes_sent_bytes_total", plain.pid).length
          ? t
          : undefined;
      },
      15_000,
      "plain client series",
    );
    assertEquals(
      series(text2, "demarc_tcp_link_bytes_sent_bytes_total", plain.pid).map((l) =>
        l.split(" ").pop()
      ),
      ["7000"],
    );
    got = await demarc.get<TcpGet>("/tcp");
    assertEquals(got.status.restarts, 0);
    assert(
      got.status.driver!.details!.reports > reportsBefore,
      "the same driver kept counting reports",
    );
    assert(
      !/tcp probe running[\s\S]*tcp probe running/.test(demarc.log()),
      "the probe started once",
    );
  } finally {
    for (const p of procs) await p.kill();
    await demarc.stop();
  }
});
