import { assertEquals, assertThrows } from "../helpers/assert.ts";
import { ConfigError, defaultConfig, mergeConfig, parseBody } from "../../runner/config.ts";
import { loadManifests } from "../../runner/manifest.ts";

const root = new URL("../..", import.meta.url).pathname;
const proc =
  (await loadManifests(`${root}/probes`)).find((m) => m.manifest.name === "proc")!.manifest;
const doc = {
  cmd: { probe: ["proc"] },
  snoopers: { proc_name: [{ comm: "java", cmdline: "dubbo" }] },
  state: "running",
  params: { report_period: 5 },
};

Deno.test("parseBody reads raw json=, URL-encoded json= and plain JSON alike", () => {
  const text = JSON.stringify({ ...doc, snoopers: { proc_name: [{ comm: "a+b%" }] } });
  const a = parseBody(`json=${text}`);
  const b = parseBody(`json=${encodeURIComponent(text)}`);
  const c = parseBody(text);
  assertEquals(a, b);
  assertEquals(b, c);
  assertEquals((a.snoopers as { proc_name: { comm: string }[] }).proc_name[0].comm, "a+b%");
});

Deno.test("parseBody rejects what is not a JSON object with a message saying what is accepted", () => {
  assertThrows(() => parseBody("json={bad"), ConfigError, "invalid JSON");
  assertThrows(() => parseBody("hello"), ConfigError, "json=<JSON object>");
  assertThrows(() => parseBody("json=[1,2]"), ConfigError, "must be an object");
});

Deno.test("mergeConfig applies defaults, dedups sub-probes and keeps gala-gopher's extra proc_name keys", () => {
  const c = mergeConfig(proc, defaultConfig(proc), {
    ...doc,
    cmd: { probe: ["mem", "proc", "mem"] },
    snoopers: { proc_name: [{ comm: "java", cmdline: "dubbo", name: "my-service" }] },
  });
  assertEquals(c.probes, ["proc", "mem"]);
  assertEquals(c.params.report_period, 5);
  assertEquals(c.snoopers.proc_name[0].name, "my-service");
  assertEquals(c.state, "running");
});

Deno.test("mergeConfig keeps absent keys and replaces present ones", () => {
  const a = mergeConfig(proc, defaultConfig(proc), doc);
  const b = mergeConfig(proc, a, { state: "stopped" });
  assertEquals(b.probes, ["proc"]);
  assertEquals(b.params.report_period, 5);
  assertEquals(b.state, "stopped");
  assertEquals(a.state, "running", "the current config is never modified");
});

Deno.test("mergeConfig names what was wrong and what is accepted", () => {
  const cur = defaultConfig(proc);
  const cases: Array<[Record<string, unknown>, string]> = [
    [
      { ...doc, cmd: { probe: ["nope"] } },
      'unknown sub-probe "nope" in cmd.probe; accepted: proc, cpu, mem, host',
    ],
    [{ ...doc, cmd: { probe: ["disk"] } }, 'sub-probe "disk" is not supported in this version'],
    [{ ...doc, cmd: { probe: [] } }, "cmd.probe is empty; accepted: proc"],
    [
      { ...doc, params: { report_period: 4 } },
      "params.report_period must be between 5 and 600 (seconds)",
    ],
    [{ ...doc, params: { report_period: "60" } }, "params.report_period must be an integer"],
    [{ ...doc, params: { nope: 1 } }, "unknown param(s) nope; accepted: report_period"],
    [{ ...doc, state: "paused" }, 'state must be "running" or "stopped"'],
    [{ ...doc, blacklist: { proc_id: [1] } }, "snoopers and blacklist are exclusive"],
    [
      { ...doc, extra: 1 },
      "unknown key(s) extra; accepted: cmd, snoopers, blacklist, params, state",
    ],
    [{ ...doc, snoopers: { proc_name: [{ comm: "(" }] } }, "not a valid regular expression"],
    [
      { ...doc, snoopers: { proc_id: ["x"] } },
      "snoopers.proc_id.0 has type string; expected number",
    ],
    [{ state: "running" }, "no sub-probe enabled"],
  ];
  for (const [bad, msg] of cases) {
    assertThrows(() => mergeConfig(proc, cur, bad), ConfigError, msg);
  }
});
