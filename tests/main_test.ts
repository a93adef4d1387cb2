/** The CLI: help, version, probes/get/set against a running agent, one-line errors. */
import { assertEquals, assertIncludes } from "./helpers/assert.ts";
import { startDemarc } from "./helpers/demarc.ts";

const main = new URL("../main.ts", import.meta.url).pathname;

async function cli(...args: string[]) {
  const o = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--unstable-kv", main, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: o.code, out: dec.decode(o.stdout), err: dec.decode(o.stderr) };
}

Deno.test("demarc --help and version answer with exit 0", async () => {
  const h = await cli("--help");
  assertEquals(h.code, 0);
  for (const c of ["run", "probes", "get", "set", "version"]) assertIncludes(h.out, c);
  const rh = await cli("run", "--help");
  assertIncludes(rh.out, "--api-port");
  assertIncludes(rh.out, "--state-dir");
  assertEquals((await cli("version")).out.trim(), "demarc 0.1.0");
});

Deno.test("demarc rejects a bad flag value with a non-zero exit and a reason", async () => {
  const r = await cli("run", "--api-port", "99999");
  assertEquals(r.code, 2);
  assertIncludes(r.err, "must be a port number");
});

Deno.test("demarc probes/get/set talk to a running agent like gopher-ctl", async () => {
  const d = await startDemarc();
  try {
    const p = await cli("probes", "--api", d.api);
    assertEquals(p.code, 0);
    assertIncludes(p.out, "proc  (/baseinfo, /proc)");
    const s = await cli(
      "set",
      "baseinfo",
      '{"cmd":{"probe":["mem"]},"state":"running","params":{"report_period":5}}',
      "--api",
      d.api,
    );
    assertEquals(s.code, 0, s.err);
    assertEquals(s.out.trim(), "New config takes effect");
    const g = await cli("get", "baseinfo", "--api", d.api);
    assertEquals(JSON.parse(g.out).cmd.probe, ["mem"]);
    const bad = await cli("set", "baseinfo", '{"state":"paused"}', "--api", d.api);
    assertEquals(bad.code, 1);
    assertEquals(bad.err.trim().split("\n").length, 1);
    assertIncludes(bad.err, 'state must be "running" or "stopped"');
    const down = await cli("get", "baseinfo", "--api", "http://127.0.0.1:1");
    assertEquals(down.code, 1);
    assertIncludes(down.err, "cannot reach demarc");
  } finally {
    await d.stop();
    await Deno.remove(d.stateDir, { recursive: true });
  }
});
