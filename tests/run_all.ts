/**
 * `deno task test`: builds the BPF objects and the Java modules (running the JUnit tests while
 * packaging), runs every Deno test, and ends with one line `N passed, N failed` totalling both.
 *
 * Extra arguments are passed to `deno test` (e.g. a path or `--filter`).
 *
 * @module
 */

const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const dec = new TextDecoder();

interface Counts {
  passed: number;
  failed: number;
  skipped: number;
}

async function step(cmd: string, args: string[], env?: Record<string, string>): Promise<number> {
  console.log(`\n$ ${cmd} ${args.join(" ")}`);
  const st = await new Deno.Command(cmd, {
    args,
    cwd: root,
    env,
    stdout: "inherit",
    stderr: "inherit",
  })
    .spawn().status;
  return st.code;
}

/** Count JUnit XML `<testcase>` results in the given files. */
async function countJunit(files: string[]): Promise<Counts> {
  const c: Counts = { passed: 0, failed: 0, skipped: 0 };
  for (const f of files) {
    const xml = dec.decode(await Deno.readFile(f));
    for (const m of xml.matchAll(/<testcase\b[^>]*?(\/>|>([\s\S]*?)<\/testcase>)/g)) {
      const body = m[2] ?? "";
      if (/<(failure|error)\b/.test(body)) c.failed++;
      else if (/<skipped\b/.test(body)) c.skipped++;
      else c.passed++;
    }
  }
  return c;
}

async function surefireReports(): Promise<string[]> {
  const out: string[] = [];
  for await (const mod of Deno.readDir(`${root}/java`)) {
    if (!mod.isDirectory) continue;
    const dir = `${root}/java/${mod.name}/target/surefire-reports`;
    try {
      for await (const f of Deno.readDir(dir)) {
        if (/^TEST-.*\.xml$/.test(f.name)) out.push(`${dir}/${f.name}`);
      }
    } catch {
      // module without tests
    }
  }
  return out;
}

const total: Counts = { passed: 0, failed: 0, skipped: 0 };
const add = (c: Counts) => {
  total.passed += c.passed;
  total.failed += c.failed;
  total.skipped += c.skipped;
};

// Old reports would be counted again: clear them first.
for (const f of await surefireReports()) await Deno.remove(f);
const buildCode = await step(Deno.execPath(), [
  "run",
  "-A",
  "scripts/build.ts",
  "--with-java-tests",
]);
if (buildCode !== 0) {
  console.error("build failed: see above");
  total.failed++;
}
const java = await countJunit(await surefireReports());
console.log(`java: ${java.passed} passed, ${java.failed} failed, ${java.skipped} skipped`);
add(java);

await Deno.mkdir(`${root}/build`, { recursive: true });
const junit = `${root}/build/deno-junit.xml`;
await Deno.remove(junit).catch(() => {});
const paths = Deno.args.length ? Deno.args : ["tests/"];
// The tests' scratch (state dirs, BPF builds of ~15 MB each, apps' working dirs) goes into one
// directory removed afterwards: left in /tmp, a full run's came to ~80 MB and added up run after
// run. Sticky and open to all like /tmp itself: some tests run processes as `nobody`. (The
// product's own paths, the JVMs' sockets in /tmp, do not follow TMPDIR.)
const scratch = await Deno.makeTempDir({ prefix: "demarc-tests-" });
await Deno.chmod(scratch, 0o1777);
let denoCode: number;
try {
  denoCode = await step(Deno.execPath(), [
    "test",
    "-A",
    "--unstable-kv",
    `--junit-path=${junit}`,
    ...paths,
  ], { TMPDIR: scratch });
} finally {
  await Deno.remove(scratch, { recursive: true }).catch((e) =>
    console.error(`could not remove the tests' scratch dir ${scratch}: ${e}`)
  );
}
let denoCounts: Counts = { passed: 0, failed: 0, skipped: 0 };
try {
  denoCounts = await countJunit([junit]);
} catch {
  // deno test died before writing the report
}
if (denoCode !== 0 && denoCounts.failed === 0) denoCounts.failed = 1; // crashed or failed to type-check
console.log(
  `deno: ${denoCounts.passed} passed, ${denoCounts.failed} failed, ${denoCounts.skipped} skipped`,
);
add(denoCounts);

if (total.skipped) console.log(`${total.skipped} skipped`);
console.log(`${total.passed} passed, ${total.failed} failed`);
Deno.exit(total.failed ? 1 : 0);
