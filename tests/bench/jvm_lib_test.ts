/** The CPU clock the JVM overhead bench reads its per-call CPU from. */
import { assert } from "../helpers/assert.ts";
import { cpuMicros } from "../../bench/jvm_lib.ts";

function statMicros(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) * 1e4; // clock ticks of 10 ms
}

Deno.test("cpuMicros: another process's CPU time, finer than /proc's ticks and agreeing with them", async () => {
  // A child that burns CPU for a while, read from outside as the bench reads the JVMs.
  const child = new Deno.Command("python3", {
    args: [
      "-c",
      "import time\nt=time.process_time()\nwhile time.process_time()-t<0.3: pass\ntime.sleep(5)",
    ],
  }).spawn();
  try {
    let burnt = 0;
    for (let i = 0; i < 100 && burnt < 300_000; i++) {
      await new Promise((r) => setTimeout(r, 50));
      burnt = await cpuMicros(child.pid);
    }
    const stat = statMicros(child.pid);
    assert(burnt >= 300_000, `the child burnt 0.3 s of CPU, read ${burnt} µs`);
    assert(Math.abs(burnt - stat) < 20_000, `clock ${burnt} µs vs /proc/<pid>/stat ${stat} µs`);
    assert(burnt % 10_000 !== 0, `${burnt} µs is a whole number of clock ticks: not the ns clock`);
  } finally {
    child.kill();
    await child.status;
  }
});
