/** Configs survive a restart of the real process: the probe that was running runs again. */
import { assertEquals } from "../helpers/assert.ts";
import { parseMetrics, startDemarc, waitFor } from "../helpers/demarc.ts";

Deno.test("after a restart every probe that was running runs again with the same config", async () => {
  let d = await startDemarc();
  try {
    const doc = { cmd: { probe: ["mem", "host"] }, state: "running", params: { report_period: 5 } };
    assertEquals((await d.put("/baseinfo", doc)).status, 200);
    const before = await d.get<Record<string, unknown>>("/baseinfo");
    assertEquals(await d.stop(), 0, "SIGTERM gives a clean exit");
    d = await d.restart();
    const after = await d.get<{ status: { phase: string } } & Record<string, unknown>>("/baseinfo");
    const { status: _s1, ...cfgBefore } = before;
    const { status, ...cfgAfter } = after;
    assertEquals(cfgAfter, cfgBefore);
    assertEquals(status.phase, "running");
    await waitFor(
      async () =>
        parseMetrics(await d.scrape()).some((m) => m.name === "demarc_host_mem_total_bytes"),
      10_000,
      "host_mem series after restart",
    );
  } finally {
    await d.stop();
    await Deno.remove(d.stateDir, { recursive: true });
  }
});
