/** The JIT counters the JVM overhead bench reads from a JVM's performance-data file. */
import { assert, assertEquals, assertRejects, assertThrows } from "../helpers/assert.ts";
import { jitCounters, parsePerfData } from "../../bench/jvm_perfdata.ts";

async function jstatCompiler(pid: number): Promise<{ compiled: number; seconds: number }> {
  const out = await new Deno.Command("jstat", { args: ["-compiler", String(pid)], stdout: "piped" })
    .output();
  const [head, values] = new TextDecoder().decode(out.stdout).trim().split("\n").map((l) =>
    l.trim().split(/\s+/)
  );
  return {
    compiled: Number(values[head.indexOf("Compiled")]),
    seconds: Number(values[head.indexOf("Time")]),
  };
}

Deno.test("jitCounters: a running JVM's compile count and time, as jstat reads them", async () => {
  const dir = await Deno.makeTempDir({ prefix: "demarc-perfdata-" });
  // Enough work for the JIT to compile hundreds of methods, then quiet while it sleeps.
  await Deno.writeTextFile(
    `${dir}/Busy.java`,
    `public class Busy { public static void main(String[] a) throws Exception {
      long s = 0; for (int i = 0; i < 5_000_000; i++) s += Integer.toString(i).length();
      System.out.println(s); System.out.flush(); Thread.sleep(60_000); } }`,
  );
  const jvm = new Deno.Command("java", {
    args: ["-XX:TieredStopAtLevel=1", `${dir}/Busy.java`], // C1 only: quiet once the loop ends
    stdout: "piped",
    stderr: "null",
  }).spawn();
  try {
    // The loop's result on stdout: the work is done.
    const reader = jvm.stdout.getReader();
    const { value } = await reader.read();
    assert(value && value.length > 0, "the JVM printed its result");
    reader.releaseLock();
    let before = await jitCounters(jvm.pid);
    let jstat = await jstatCompiler(jvm.pid);
    let after = await jitCounters(jvm.pid);
    // jstat starts a JVM of its own (~1 s): a late compile may land in between; read again.
    for (let i = 0; i < 5 && before.compiles !== after.compiles; i++) {
      before = await jitCounters(jvm.pid);
      jstat = await jstatCompiler(jvm.pid);
      after = await jitCounters(jvm.pid);
    }
    assertEquals(before.compiles, after.compiles, "the JIT went quiet");
    assertEquals(after.compiles, jstat.compiled);
    assert(after.compiles > 100, `${after.compiles} compiles`);
    assert(
      Math.abs(after.compileSeconds - jstat.seconds) < 0.006, // jstat prints 2 decimals
      `${after.compileSeconds} s vs jstat's ${jstat.seconds} s`,
    );
  } finally {
    jvm.kill();
    await jvm.status;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("jitCounters: a process that is no JVM is named, with what would make it one", async () => {
  const e = await assertRejects(() => jitCounters(Deno.pid), Error);
  assert(e.message.includes(`hsperfdata_*/${Deno.pid}`), e.message);
  assert(e.message.includes("-XX:-UsePerfData"), e.message);
});

Deno.test("parsePerfData: refuses a file without the magic", () => {
  assertThrows(
    () => parsePerfData(new Uint8Array(64)),
    Error,
    "not a HotSpot performance-data file",
  );
});
