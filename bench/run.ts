/**
 * `deno task bench [name...]`: runs every `bench/*_bench.ts` (or the named ones) one after another,
 * each in its own process so one's memory does not colour another's figures.
 */
const dir = new URL(".", import.meta.url).pathname;
const wanted = Deno.args;
const files = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.endsWith("_bench.ts"))
  .sort()
  .filter((n) => !wanted.length || wanted.some((w) => n.includes(w)));
let failed = 0;
for (const f of files) {
  console.log(`\n== ${f}`);
  const st = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--unstable-kv", `${dir}${f}`],
    stdout: "inherit",
    stderr: "inherit",
  }).spawn().status;
  if (!st.success) failed++;
}
Deno.exit(failed ? 1 : 0);
