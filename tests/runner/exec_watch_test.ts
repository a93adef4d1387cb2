/**
 * New processes are matched as they exec, not only at the runner's /proc scan: with the scan
 * slowed to once in 10 minutes, a snooped process started after the probe is watched within
 * seconds, so the exec watch alone found it; a connection such a process opens at once is tracked;
 * and where the watch cannot load, the scan alone finds processes and the status says why.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { type Demarc, startDemarc, waitFor } from "../helpers/demarc.ts";

interface Status {
  status: { phase: string; watchedPids: number; processDiscovery?: string };
}

/**
 * A copy of sleep under a name no other process has (comm = file name, so `prefix` + random),
 * and the proc probe configured to watch that comm. The caller removes `dir`.
 */
async function watchFreshComm(d: Demarc, prefix: string): Promise<{ dir: string; comm: string }> {
  const dir = await Deno.makeTempDir({ prefix: "demarc-exec-" });
  const comm = `${prefix}${Math.random().toString(36).slice(2, 10)}`;
  await Deno.copyFile("/usr/bin/sleep", `${dir}/${comm}`);
  await Deno.chmod(`${dir}/${comm}`, 0o755);
  const put = await d.put("/baseinfo", {
    cmd: { probe: ["proc"] },
    snoopers: { proc_name: [{ comm: `^${comm}$` }] },
    params: { report_period: 5 },
    state: "running",
  });
  assertEquals(put.status, 200, JSON.stringify(put.body));
  return { dir, comm };
}

Deno.test("a snooped process is matched at its exec while the /proc scan is 10 minutes away", async () => {
  const d = await startDemarc({ extraArgs: ["--scan-interval", "600000"] });
  const { dir, comm } = await watchFreshComm(d, "dmx");
  let child: Deno.ChildProcess | undefined;
  try {
    const before = await d.get<Status>("/baseinfo");
    assertEquals(before.status.watchedPids, 0);
    assert(
      before.status.processDiscovery?.includes("exec watch: on"),
      `exec watch should be on: ${before.status.processDiscovery}`,
    );

    const t0 = performance.now();
    child = new Deno.Command(`${dir}/${comm}`, { args: ["30"] }).spawn();
    await waitFor(
      async () => (await d.get<Status>("/baseinfo")).status.watchedPids === 1,
      20_000,
      `${comm} (pid ${child.pid}) watched`,
    );
    const ms = performance.now() - t0;
    // The scan runs every 600 s and last ran at the PUT, so only the exec event can explain this.
    assert(ms < 60_000, `matched after ${ms.toFixed(0)} ms`);
    console.log(`matched ${ms.toFixed(0)} ms after spawn (status polled every 100 ms)`);
  } finally {
    child?.kill("SIGKILL");
    await child?.status;
    await d.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a snooped process that connects within 200 ms of its start has its connection tracked", async () => {
  const d = await startDemarc({ extraArgs: ["--scan-interval", "600000"] });
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const accepted: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const c of listener) accepted.push(c);
  })();
  const marker = `dm-exec-connect-${Math.random().toString(36).slice(2, 10)}`;
  let child: Deno.ChildProcess | undefined;
  try {
    const put = await d.put("/tcp", {
      cmd: { probe: ["tcp_stats"] },
      snoopers: { proc_name: [{ comm: "python3", cmdline: marker }] },
      params: { report_period: 5 },
      state: "running",
    });
    assertEquals(put.status, 200, JSON.stringify(put.body));
    // Connects at once (well within 200 ms of exec), sends, and holds the connection.
    child = new Deno.Command("python3", {
      args: [
        "-c",
        `import socket,sys,time
s=socket.create_connection(("127.0.0.1",${port}))
s.sendall(b"x"*1000)
time.sleep(60)`,
        marker,
      ],
    }).spawn();
    const pid = child.pid;
    const t0 = performance.now();
    const line = await waitFor(
      async () =>
        (await d.scrape()).split("\n").find((l) =>
          l.startsWith("demarc_tcp_link_") && l.includes(`tgid="${pid}"`) &&
          l.includes('role="client"')
        ),
      30_000,
      `a client connection of pid ${pid} in /metrics`,
    );
    console.log(`tracked ${(performance.now() - t0).toFixed(0)} ms after spawn: ${line}`);
  } finally {
    child?.kill("SIGKILL");
    await child?.status;
    listener.close();
    await accepting.catch(() => {});
    for (const c of accepted) c.close();
    await d.stop();
  }
});

Deno.test("without the exec watch object the /proc scan alone finds processes and the status says why", async () => {
  const buildDir = await Deno.makeTempDir({ prefix: "demarc-build-noexec-" });
  await Deno.mkdir(`${buildDir}/bpf`);
  const d = await startDemarc({ buildDir });
  const { dir, comm } = await watchFreshComm(d, "dmy");
  let child: Deno.ChildProcess | undefined;
  try {
    const discovery = (await d.get<Status>("/baseinfo")).status.processDiscovery ?? "";
    assert(
      discovery.includes("/proc scan every 1000 ms") && discovery.includes("unavailable") &&
        discovery.includes("exec_watch.bpf.o"),
      `status should name the missing object: ${discovery}`,
    );
    child = new Deno.Command(`${dir}/${comm}`, { args: ["30"] }).spawn();
    await waitFor(
      async () => (await d.get<Status>("/baseinfo")).status.watchedPids === 1,
      20_000,
      `${comm} (pid ${child.pid}) watched by the scan`,
    );
  } finally {
    child?.kill("SIGKILL");
    await child?.status;
    await d.stop();
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(buildDir, { recursive: true });
  }
});
