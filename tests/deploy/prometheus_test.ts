/** A real Prometheus server (Debian package) scrapes demarc and can query its series. */
import { assert, assertEquals } from "../helpers/assert.ts";
import { freePort, startDemarc, waitFor } from "../helpers/demarc.ts";

Deno.test("a real Prometheus server scrapes demarc's /metrics and answers queries on its series", async () => {
  const d = await startDemarc();
  const dir = await Deno.makeTempDir({ prefix: "demarc-prom-" });
  const port = freePort();
  await Deno.writeTextFile(
    `${dir}/prometheus.yml`,
    `global:
  scrape_interval: 1s
scrape_configs:
  - job_name: demarc
    static_configs:
      - targets: ["${new URL(d.metrics).host}"]
`,
  );
  const prom = new Deno.Command("prometheus", {
    args: [
      `--config.file=${dir}/prometheus.yml`,
      `--storage.tsdb.path=${dir}/data`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    assertEquals(
      (await d.put("/baseinfo", {
        cmd: { probe: ["mem"] },
        state: "running",
        params: { report_period: 5 },
      })).status,
      200,
    );
    const q = encodeURIComponent("demarc_host_mem_total_bytes");
    const result = await waitFor(
      async () => {
        const r = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${q}`);
        const j = await r.json();
        return j.data?.result?.length ? j.data.result : undefined;
      },
      30_000,
      "Prometheus to have scraped demarc_host_mem_total_bytes",
    );
    const total = Number(result[0].value[1]);
    const memTotal = Number(/MemTotal:\s+(\d+)/.exec(Deno.readTextFileSync("/proc/meminfo"))![1]) *
      1024;
    assertEquals(total, memTotal);
    const targets = await (await fetch(`http://127.0.0.1:${port}/api/v1/targets`)).json();
    assert(
      targets.data.activeTargets.every((t: { health: string }) => t.health === "up"),
      "scrape target healthy",
    );
  } finally {
    prom.kill("SIGTERM");
    await prom.status;
    await d.stop();
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(d.stateDir, { recursive: true });
  }
});
