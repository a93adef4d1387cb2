/**
 * The attachment's life: into a JVM of another user and into one with a private /tmp; detach and
 * re-attach 10 times with stable classes and threads; a runner restart that the agent survives.
 */

import assert from "node:assert/strict";
import { type Demarc, startDemarc, waitFor } from "../../helpers/demarc.ts";
import { BUILD, jarsBuilt, loadedClasses, startApp, threadCount, threadNames } from "./apps.ts";
import { jvmStatuses, metricSum, waitConnected, waitMetric, watch } from "./probe_client.ts";

const ignore = !jarsBuilt();

/** JDKs under /usr/lib/jvm other than the default one (17), e.g. temurin-25-jdk-amd64. */
function otherJdks(): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync("/usr/lib/jvm")) {
    if (!e.isDirectory || /(^|-)17(\.|-|$)/.test(e.name)) continue;
    try {
      Deno.statSync(`/usr/lib/jvm/${e.name}/bin/java`);
      out.push(e.name);
    } catch { /* not a JDK */ }
  }
  return out.sort();
}
const REQ = "demarc_l7_rpc_api_requests_total";

/** The attach helper's own view of a JVM: which demarc agent version is loaded (null: none). */
async function loadedAgent(pid: number): Promise<string | null> {
  const out = await new Deno.Command("java", {
    args: ["-jar", `${BUILD}/java/demarc-attach.jar`, "check", "--pid", String(pid)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const answer = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").pop()!);
  assert.equal(answer.ok, true, `check failed: ${JSON.stringify(answer)}`);
  return answer.agentVersion ?? null;
}

async function serverCounts(
  d: Demarc,
  flags: { user?: string; privateTmp?: boolean; java?: string },
  byName = false,
): Promise<void> {
  // By name: a gala-gopher proc_name entry (with its extra "name" key) matching a marker flag.
  const marker = `demarc-test-${crypto.randomUUID().slice(0, 8)}`;
  const server = await startApp("jdk-http-server", ["--tls-port", "-1", "--marker", marker], flags);
  const client = await startApp("http-client", [
    "--lib",
    "jdk",
    "--url",
    `http://127.0.0.1:${server.ports.plain}/echo`,
  ]);
  try {
    await client.run(20);
    const snoopers = byName
      ? { proc_name: [{ comm: "^java$", cmdline: marker, name: "test-server" }] }
      : undefined;
    await watch(d, [server.pid], { snoopers });
    await waitConnected(d, [server.pid]);
    const r = await client.run(100);
    assert.equal(r.ok, 100);
    assert.equal(await waitMetric(d, REQ, { tgid: server.pid, role: "server" }, 100), 100);
  } finally {
    await client.stop();
    await server.stop();
  }
  // The runner's socket for an exited JVM does not stay behind in /tmp (the host's, or the
  // JVM's private one, which went with its namespace).
  await waitFor(
    () => socketsIn("/tmp", server.pid).length === 0,
    30_000,
    `no /tmp/demarc-${server.pid}-*.sock left once pid ${server.pid} exited: ${
      socketsIn("/tmp", server.pid).join(", ")
    }`,
  );
}

/** The runner's channel sockets for `pid` in `dir`. */
function socketsIn(dir: string, pid: number): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) =>
    n.startsWith(`demarc-${pid}-`) && n.endsWith(".sock")
  );
}

/** demarc, and a JDK HttpClient app calling /echo on a JDK HttpServer (plain port only). */
async function demarcWithJdkHttpPair() {
  const d = await startDemarc({ logLevel: "info", buildDir: BUILD });
  const server = await startApp("jdk-http-server", ["--tls-port", "-1"]);
  const client = await startApp("http-client", [
    "--lib",
    "jdk",
    "--url",
    `http://127.0.0.1:${server.ports.plain}/echo`,
  ]);
  return { d, server, client };
}

Deno.test({
  name:
    "attach works into a JVM running as nobody and into one with its own mount namespace and private /tmp",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const d = await startDemarc({ logLevel: "info", buildDir: BUILD });
    try {
      await t.step("JVM of user nobody", () => serverCounts(d, { user: "nobody" }));
      for (const jdk of otherJdks()) {
        await t.step(
          `JVM on ${jdk}`,
          () => serverCounts(d, { java: `/usr/lib/jvm/${jdk}/bin/java` }),
        );
      }
      await t.step(
        "JVM in its own mount namespace with a tmpfs /tmp, watched by proc_name",
        () => serverCounts(d, { privateTmp: true }, true),
      );
    } finally {
      await d.stop();
    }
  },
});

Deno.test({
  name:
    "10 detach/attach cycles: data stops and resumes, the agent is really gone between, classes and threads stay flat",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const { d, server, client } = await demarcWithJdkHttpPair();
    const sel = { tgid: client.pid, role: "client" };
    const samples: Array<{ classes: number; threads: number }> = [];
    try {
      await client.run(50);
      for (let cycle = 1; cycle <= 10; cycle++) {
        await watch(d, [client.pid], { probes: ["l7_rpc_metrics"] });
        await waitConnected(d, [client.pid]);
        await client.run(50);
        assert.equal(await waitMetric(d, REQ, sel, 50), 50, `cycle ${cycle}: counts after attach`);

        await watch(d, [client.pid], { probes: ["l7_rpc_metrics"], state: "stopped" });
        assert.equal(
          await loadedAgent(client.pid),
          null,
          `cycle ${cycle}: agent still loaded after detach`,
        );
        assert.equal(
          await metricSum(d, REQ, sel),
          0,
          `cycle ${cycle}: series still exported after detach`,
        );
        await client.run(50); // not counted by anyone
        const agentThreads = threadNames(client.pid).filter((n) => n.startsWith("demarc-agent"));
        assert.deepEqual(agentThreads, [], `cycle ${cycle}: agent threads left after detach`);
        samples.push({
          classes: await loadedClasses(client.pid),
          threads: threadCount(client.pid),
        });
      }
      const first = samples[0], last = samples[samples.length - 1];
      console.log(
        `classes/threads after each detach: ${
          samples.map((s) => `${s.classes}/${s.threads}`).join(" ")
        }`,
      );
      assert.ok(
        last.threads <= first.threads + 1,
        `threads (JIT compiler threads aside) grew from ${first.threads} to ${last.threads}`,
      );
      // Classes: the JIT and lambda forms add a few per run whatever the agent does; the agent's
      // own classes are loaded once (first cycle) and must not pile up per attach.
      assert.ok(
        last.classes - first.classes <= 60,
        `classes grew from ${first.classes} to ${last.classes}`,
      );
    } finally {
      await client.stop();
      await server.stop();
      await d.stop();
    }
  },
});

Deno.test({
  name: "a runner restart keeps the agent attached: it reconnects, data resumes, no second attach",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    let d = await startDemarc({ logLevel: "info", buildDir: BUILD });
    const server = await startApp("grpc-server", ["--tls-port", "-1"]);
    const client = await startApp("grpc-client", ["--target", `127.0.0.1:${server.ports.plain}`]);
    const pids = [server.pid, client.pid];
    try {
      await watch(d, pids);
      await waitConnected(d, pids);
      await client.run(100);
      // Both sides reported before the restart (an agent keeps what it could not send yet and
      // delivers it after reconnecting, which would add to the counts below).
      await waitMetric(d, REQ, { tgid: client.pid, role: "client" }, 100);
      await waitMetric(d, REQ, { tgid: server.pid, role: "server" }, 100);
      assert.equal((d.log().match(/agent attached/g) ?? []).length, 2);

      d = await d.restart();
      const statuses = await waitConnected(d, pids);
      for (const p of pids) {
        assert.equal(statuses[String(p)].reconnected, true, `pid ${p} was attached again`);
      }
      assert.doesNotMatch(d.log(), /agent attached/);
      assert.match(d.log(), /agent reconnected; no new attach/);

      await client.run(100);
      assert.equal(await waitMetric(d, REQ, { tgid: client.pid, role: "client" }, 100), 100);
      assert.equal(await waitMetric(d, REQ, { tgid: server.pid, role: "server" }, 100), 100);
      assert.equal((await jvmStatuses(d))[String(client.pid)].state, "connected");
    } finally {
      await client.stop();
      await server.stop();
      await d.stop();
    }
  },
});

Deno.test({
  name:
    "GET /sermant's instrumentations follow disabled_instrumentations while the agent stays connected",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const { d, server, client } = await demarcWithJdkHttpPair();
    const entry = async (name: string) => {
      const s = (await jvmStatuses(d))[String(server.pid)];
      return { status: s, inst: s?.instrumentations?.find((i) => i.name === name) };
    };
    /** Waits until jdk_httpserver's `active` is `want`; the agent must not have reconnected. */
    const expectActive = (want: boolean, why: string) =>
      waitFor(
        async () => {
          const { status, inst } = await entry("jdk_httpserver");
          assert.equal(status?.state, "connected", `${why}: ${JSON.stringify(status)}`);
          assert.ok(!status?.reconnected, `${why}: the agent reconnected`);
          return inst?.active === want ? inst : undefined;
        },
        15_000,
        `jdk_httpserver active=${want} (${why})`,
      );
    try {
      await client.run(20);
      await watch(d, [server.pid]);
      await waitConnected(d, [server.pid]);
      await expectActive(true, "attached");
      await watch(d, [server.pid], { params: { disabled_instrumentations: ["jdk_httpserver"] } });
      const off = await expectActive(false, "disabled");
      assert.equal(off.reason, "disabled by config");
      await watch(d, [server.pid], { params: { disabled_instrumentations: [] } });
      await expectActive(true, "enabled again");
      await client.run(30);
      assert.equal(
        await waitMetric(d, REQ, { tgid: server.pid, role: "server" }, 30),
        30,
        "calls after enabling again are counted",
      );
    } finally {
      await client.stop();
      await server.stop();
      await d.stop();
    }
  },
});
