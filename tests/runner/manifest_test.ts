/** Broken manifests and meta tables stop start-up with a message naming the file and the field. */
import { assertEquals, assertIncludes, assertRejects } from "../helpers/assert.ts";
import { loadManifests } from "../../runner/manifest.ts";
import { loadMetaTables } from "../../runner/meta.ts";
import { ManifestError } from "../../runner/yaml_file.ts";

const root = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");

async function probesDirWith(manifest: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "demarc-probes-" });
  await Deno.mkdir(`${dir}/broken`);
  await Deno.writeTextFile(`${dir}/broken/probe.yaml`, manifest);
  await Deno.writeTextFile(`${dir}/broken/broken.ts`, "export default () => ({})\n");
  return dir;
}

const valid = `name: broken
kind: proc
description: d
paths: [/broken]
driver: broken.ts
subprobes:
  - { name: one, description: d }
params:
  report_period: { type: integer, min: 5, max: 600, default: 60, description: d }
`;

Deno.test("every shipped manifest and meta table loads", async () => {
  const manifests = await loadManifests(`${root}/probes`);
  const tables = await loadMetaTables(`${root}/meta`);
  for (const { manifest, file } of manifests) {
    for (const s of manifest.subprobes) {
      for (const t of s.tables) {
        if (!tables.has(t)) {
          throw new Error(`${file}: sub-probe ${s.name} names table ${t} that meta/ lacks`);
        }
      }
    }
  }
});

Deno.test("a manifest with a bad kind is refused naming file, field and accepted values", async () => {
  const dir = await probesDirWith(valid.replace("kind: proc", "kind: magic"));
  const e = await assertRejects(() => loadManifests(dir), ManifestError);
  assertEquals(e.file, `${dir}/broken/probe.yaml`);
  assertEquals(e.field, "kind");
  assertIncludes(e.message, "accepted: ebpf, jvm, proc");
});

Deno.test("a manifest param whose default is out of its range is refused naming the param", async () => {
  const dir = await probesDirWith(valid.replace("default: 60", "default: 1"));
  const e = await assertRejects(() => loadManifests(dir), ManifestError);
  assertEquals(e.field, "params.report_period.default");
});

Deno.test("a sub-probe enabling an undeclared attach point is refused", async () => {
  const dir = await probesDirWith(
    valid.replace(
      "{ name: one, description: d }",
      "{ name: one, description: d, enables: [tp/x] }",
    ),
  );
  const e = await assertRejects(() => loadManifests(dir), ManifestError);
  assertEquals(e.field, "subprobes.0.enables.0");
});

Deno.test("a meta table with an unknown metric type is refused naming the field", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(
    `${dir}/t.yaml`,
    "table: t\nentity: e\ndescription: d\nkeys: [k]\nmetrics:\n  - { name: v, type: summary, help: h }\n",
  );
  const e = await assertRejects(() => loadMetaTables(dir), ManifestError);
  assertEquals(e.field, "metrics.0.type");
  assertIncludes(e.message, "accepted: counter, gauge, histogram");
});

Deno.test("demarc run with a broken manifest exits non-zero with one line naming file and field", async () => {
  const dir = await probesDirWith(valid.replace("driver: broken.ts", "driver: 42"));
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--unstable-kv",
      `${root}/main.ts`,
      "run",
      "--probes-dir",
      dir,
      "--api-port",
      "0",
      "--metrics-port",
      "0",
      "--state-dir",
      `${dir}/state`,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(out.code, 1);
  const err = new TextDecoder().decode(out.stderr).trim();
  assertIncludes(err, `${dir}/broken/probe.yaml: field "driver"`);
  assertEquals(err.split("\n").length, 1, `one line: ${err}`);
});
