/**
 * Agent failure isolation: with every instrumentation made to throw inside the agent
 * (`fault_injection`), the application's calls all succeed and are all served; the agent only
 * counts its own internal errors.
 */

import assert from "node:assert/strict";
import { startDemarc } from "../../helpers/demarc.ts";
import { BUILD, jarsBuilt, startApp } from "./apps.ts";
import { jvmStatuses, metricSum, waitConnected, waitMetric, watch } from "./probe_client.ts";

const ignore = !jarsBuilt();

const PAIRS: Array<
  {
    name: string;
    server: [string, string[]];
    client: (p: Record<string, number>) => [string, string[]];
  }
> = [
  {
    name: "gRPC",
    server: ["grpc-server", ["--tls-port", "-1"]],
    client: (p) => ["grpc-client", ["--target", `127.0.0.1:${p.plain}`]],
  },
  {
    name: "HTTP (JDK HttpClient to Tomcat)",
    server: ["http-server", ["--tls-port", "-1"]],
    client: (p) => ["http-client", ["--lib", "jdk", "--url", `http://127.0.0.1:${p.plain}/echo`]],
  },
];

Deno.test({
  name: "an agent whose instrumentations throw internally leaves every application call unaffected",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const d = await startDemarc({ logLevel: "info", buildDir: BUILD });
    try {
      for (const pair of PAIRS) {
        await t.step(pair.name, async () => {
          const server = await startApp(...pair.server);
          const client = await startApp(...pair.client(server.ports));
          try {
            await client.run(50);
            await watch(d, [server.pid, client.pid], { params: { fault_injection: true } });
            await waitConnected(d, [server.pid, client.pid]);
            await server.command("reset");
            const r = await client.run(300, "concurrency=4");
            assert.equal(r.ok, 300, `calls failed with the agent throwing: ${JSON.stringify(r)}`);
            assert.equal(r.exceptions, 0);
            const served = await server.command<{ requests: number }>("stats");
            assert.equal(served.requests, 300);
            // The agent saw its advice fail, counted it, and kept the application out of it.
            await waitMetric(d, "demarc_l7_agent_internal_errors_total", { tgid: client.pid }, 1);
            await waitMetric(d, "demarc_l7_agent_internal_errors_total", { tgid: server.pid }, 1);
            // Reports keep coming while the advice fails: each side's last one is within 3 periods.
            for (const pid of [client.pid, server.pid]) {
              const at = await metricSum(d, "demarc_l7_agent_last_report_time_seconds", {
                tgid: pid,
              });
              const age = Date.now() / 1000 - at;
              assert.ok(age >= 0 && age < 15, `pid ${pid}: last report ${age.toFixed(1)} s ago`);
            }
            // ...and GET /sermant says what failed, for each side.
            const jvms = await jvmStatuses(d);
            for (const pid of [client.pid, server.pid]) {
              assert.match(
                jvms[String(pid)]?.lastInternalError ?? "",
                /^java\.lang\.IllegalStateException: demarc debug=throw.* at io\.demarc\.agent\./,
                `pid ${pid}: ${JSON.stringify(jvms[String(pid)])}`,
              );
              assert.ok((jvms[String(pid)]?.internalErrors ?? 0) >= 1);
            }
          } finally {
            await client.stop();
            await server.stop();
          }
        });
      }
    } finally {
      await d.stop();
    }
  },
});
