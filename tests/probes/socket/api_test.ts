import { assertEquals } from "../../ffi/assert.ts";
import { removedAtExit, startDemarc, waitFor } from "../../helpers/demarc.ts";
import { buildDirFor, Traffic } from "../tcp/harness.ts";

Deno.test("PUT /socket starts tcp_socket through the API and its rows reach /metrics", async () => {
  const dir = removedAtExit(await Deno.makeTempDir({ prefix: "demarc-build-socket-" }));
  await Deno.mkdir(`${dir}/bpf`);
  await Deno.copyFile(`${await buildDirFor("socket")}/bpf/socket.bpf.o`, `${dir}/bpf/socket.bpf.o`);
  const demarc = await startDemarc({ buildDir: dir, logLevel: "info" });
  const srv = await Traffic.spawn(undefined, ["server", "0", "--host", "127.0.0.1"], "dm-api-srv");
  const cli = await Traffic.spawn(undefined, [
    "client",
    "127.0.0.1",
    String(srv.info.port),
    "--conns",
    "3",
  ], "dm-api-cli");
  try {
    const put = await demarc.put("/socket", {
      cmd: { probe: ["tcp_socket"] },
      snoopers: { proc_id: [srv.pid, cli.pid] },
      params: { report_period: 5 },
      state: "running",
    });
    assertEquals(put.status, 200);
    await waitFor(
      async () =>
        (await demarc.get<{ status: { phase: string } }>("/socket")).status.phase === "running",
      15_000,
    );
    await cli.send();
    await cli.next();
    const line = await waitFor(
      async () =>
        (await demarc.scrape()).split("\n").find((l) =>
          l.startsWith("demarc_socket_endpoint_opens_total{") && l.includes(`tgid="${cli.pid}"`)
        ),
      15_000,
      "client opens series",
    );
    assertEquals(line.split(" ").pop(), "3");
  } finally {
    await cli.kill();
    await srv.kill();
    await demarc.stop();
  }
});
