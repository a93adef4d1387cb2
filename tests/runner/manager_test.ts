/**
 * The probe manager restarts a crashed driver with backoff, reports it, and never lets one probe's
 * failure stop another. The crashing probe is a real probe folder with a driver that dies on purpose.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { parseMetrics, startDemarc, waitFor } from "../helpers/demarc.ts";

const root = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");

const crashyManifest = `name: crashy
kind: proc
description: a probe whose driver exits 300 ms after it starts
paths: [/crashy]
driver: crashy.ts
subprobes:
  - { name: crash, description: dies, tables: [host_mem] }
params:
  report_period: { type: integer, min: 5, max: 600, default: 60, description: d }
`;

const crashyDriver = `
export default function createCrashyDriver(ctx) {
  let reject;
  const done = new Promise((_, r) => (reject = r));
  return {
    done,
    start() {
      ctx.emit("host_mem", [{ labels: { host: "crashy" }, values: { total: 1 } }]);
      setTimeout(() => reject(new Error("crashy died on purpose")), 300);
      return Promise.resolve();
    },
    reconfigure() { return Promise.resolve(); },
    updatePids() {},
    stop() { return Promise.resolve(); },
  };
}
`;

Deno.test("a crashing probe is restarted with backoff and reported while another probe keeps running", async () => {
  const probes = await Deno.makeTempDir({ prefix: "demarc-probes-" });
  await Deno.mkdir(`${probes}/crashy`);
  await Deno.writeTextFile(`${probes}/crashy/probe.yaml`, crashyManifest);
  await Deno.writeTextFile(`${probes}/crashy/crashy.ts`, crashyDriver);
  await Deno.mkdir(`${probes}/proc`);
  for (const f of Deno.readDirSync(`${root}/probes/proc`)) {
    await Deno.copyFile(`${root}/probes/proc/${f.name}`, `${probes}/proc/${f.name}`);
  }
  const d = await startDemarc({ probesDir: probes });
  try {
    assertEquals(
      (await d.put("/baseinfo", {
        cmd: { probe: ["cpu"] },
        state: "running",
        params: { report_period: 5 },
      })).status,
      200,
    );
    assertEquals(
      (await d.put("/crashy", { cmd: { probe: ["crash"] }, state: "running" })).status,
      200,
    );
    const st = await waitFor(
      async () => {
        const s = (await d.get<{ status: { phase: string; restarts: number; lastError?: string } }>(
          "/crashy",
        )).status;
        return s.restarts >= 2 ? s : undefined;
      },
      15_000,
      "two restarts of crashy",
    );
    assertEquals(st.lastError, "crashy died on purpose");
    const restarts = await waitFor(
      async () =>
        parseMetrics(await d.scrape()).find((m) =>
          m.name === "demarc_probe_restarts_total" && m.labels.probe === "crashy" && m.value >= 1
        ),
      10_000,
      "restart counter",
    );
    assert(restarts.value >= 1);
    const proc = await d.get<{ status: { phase: string } }>("/baseinfo");
    assertEquals(proc.status.phase, "running");
    assert(d.log().includes("probe crashed"), "crash logged");
    assertEquals((await d.put("/crashy", { state: "stopped" })).status, 200);
    assertEquals((await d.get<{ status: { phase: string } }>("/crashy")).status.phase, "stopped");
  } finally {
    await d.stop();
    await Deno.remove(d.stateDir, { recursive: true });
    await Deno.remove(probes, { recursive: true });
  }
});
