/**
 * The config API of a real demarc process: every accepted PUT form, every kind of bad input
 * (400 and nothing changed), 404, 405, unsupported gala-gopher probes, oversize bodies.
 */
import { assert, assertEquals, assertIncludes } from "../helpers/assert.ts";
import { startDemarc } from "../helpers/demarc.ts";

const good = {
  cmd: { probe: ["proc", "mem"] },
  snoopers: {
    proc_name: [{ comm: "^deno$", cmdline: "nothing-matches-this-" + crypto.randomUUID() }],
  },
  state: "running",
  params: { report_period: 7 },
};

async function rawPut(api: string, path: string, body: string, contentType?: string) {
  const r = await fetch(`${api}${path}`, {
    method: "PUT",
    body,
    headers: contentType ? { "content-type": contentType } : {},
  });
  return { status: r.status, body: await r.json() as { result: string; message: string } };
}

Deno.test("config API of a running demarc", async (t) => {
  const d = await startDemarc();
  try {
    await t.step("PUT with URL-encoded json= (curl --data-urlencode) is accepted", async () => {
      const r = await rawPut(
        d.api,
        "/baseinfo",
        "json=" + encodeURIComponent(JSON.stringify(good)),
        "application/x-www-form-urlencoded",
      );
      assertEquals(r, {
        status: 200,
        body: { result: "success", message: "New config takes effect" },
      });
      const cfg = await d.get<
        { cmd: { probe: string[] }; params: { report_period: number }; state: string }
      >("/baseinfo");
      assertEquals(cfg.cmd.probe, ["proc", "mem"]);
      assertEquals(cfg.params.report_period, 7);
      assertEquals(cfg.state, "running");
    });

    await t.step(
      "PUT with raw json= and with a JSON body are accepted, on either path of the probe",
      async () => {
        const r1 = await rawPut(
          d.api,
          "/baseinfo",
          "json=" + JSON.stringify({ ...good, params: { report_period: 8 } }),
        );
        assertEquals(r1.status, 200);
        assertEquals(
          (await d.get<{ params: { report_period: number } }>("/proc")).params.report_period,
          8,
        );
        const r2 = await d.put("/proc", { ...good, params: { report_period: 9 } });
        assertEquals(r2.status, 200);
        assertEquals(
          (await d.get<{ params: { report_period: number } }>("/baseinfo")).params.report_period,
          9,
        );
      },
    );

    const before = await d.get("/baseinfo");
    const bad: Array<[string, string, string]> = [
      ["invalid JSON", "json={not json", "invalid JSON"],
      [
        "unknown sub-probe",
        JSON.stringify({ cmd: { probe: ["proc", "gpu"] } }),
        'unknown sub-probe "gpu"',
      ],
      [
        "out-of-range param",
        JSON.stringify({ params: { report_period: 601 } }),
        "between 5 and 600",
      ],
      ["wrong type", JSON.stringify({ params: { report_period: "fast" } }), "must be an integer"],
      ["snoopers with blacklist", JSON.stringify({ blacklist: { proc_id: [1] } }), "exclusive"],
      ["bad state", JSON.stringify({ state: "paused" }), 'state must be "running" or "stopped"'],
      ["empty probe list", JSON.stringify({ cmd: { probe: [] } }), "cmd.probe is empty"],
      [
        "unsupported sub-probe",
        JSON.stringify({ cmd: { probe: ["disk"] } }),
        "not supported in this version",
      ],
    ];
    for (const [what, body, msg] of bad) {
      await t.step(
        `PUT with ${what} answers 400 naming the problem and changes nothing`,
        async () => {
          const r = await rawPut(d.api, "/baseinfo", body, "application/json");
          assertEquals(r.status, 400);
          assertEquals(r.body.result, "failed");
          assertIncludes(r.body.message, msg);
          assertEquals(await d.get("/baseinfo"), {
            ...before,
            status: (await d.get<{ status: unknown }>("/baseinfo")).status,
          });
        },
      );
    }

    await t.step("a body over 1 MiB answers 400 and changes nothing", async () => {
      const big = JSON.stringify({
        ...good,
        snoopers: { proc_name: [{ cmdline: "x".repeat(1024 * 1024 + 10) }] },
      });
      const r = await rawPut(d.api, "/baseinfo", big, "application/json");
      assertEquals(r.status, 400);
      assertIncludes(r.body.message, "1 MiB");
      assertEquals(
        (await d.get<{ params: unknown }>("/baseinfo")).params,
        (before as { params: unknown }).params,
      );
    });

    await t.step(
      "unknown probe answers 404, other methods 405, known gala-gopher probes 400",
      async () => {
        const r404 = await rawPut(d.api, "/nosuchprobe", "{}", "application/json");
        assertEquals(r404.status, 404);
        const r405 = await fetch(`${d.api}/baseinfo`, { method: "POST", body: "{}" });
        assertEquals(r405.status, 405);
        assertEquals((await r405.json()).result, "failed");
        const r400 = await rawPut(d.api, "/nginx", JSON.stringify(good), "application/json");
        assertEquals(r400.status, 400);
        assertIncludes(r400.body.message, "not supported in this version");
      },
    );

    await t.step("GET /probes and GET /openapi.json are derived from the manifests", async () => {
      const probes = await d.get<
        Array<{ name: string; paths: string[]; subprobes: { name: string }[] }>
      >("/probes");
      const proc = probes.find((p) => p.name === "proc")!;
      assertEquals(proc.paths, ["/baseinfo", "/proc"]);
      assert(proc.subprobes.some((s) => s.name === "mem"));
      const doc = await d.get<{ openapi: string; paths: Record<string, { put: unknown }> }>(
        "/openapi.json",
      );
      assertEquals(doc.openapi, "3.1.0");
      assert(doc.paths["/baseinfo"].put, "PUT /baseinfo documented");
    });

    await t.step("GET /api/v1/samples returns rows and rejects an unknown table", async () => {
      const r = await fetch(`${d.api}/api/v1/samples?table=nosuch`);
      assertEquals(r.status, 400);
      assertIncludes((await r.json()).message, "table must be one of");
      const ok = await d.get<{ rows: Array<{ labels: { host: string } }> }>(
        "/api/v1/samples?table=host_mem&since=5m",
      );
      assert(ok.rows.length >= 1, "host_mem rows stored");
      const badSince = await fetch(`${d.api}/api/v1/samples?table=proc&since=yesterday-ish`);
      assertEquals(badSince.status, 400);
    });
  } finally {
    await d.stop();
    await Deno.remove(d.stateDir, { recursive: true });
  }
});
