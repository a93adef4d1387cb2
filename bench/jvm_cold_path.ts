/**
 * `deno run -A bench/jvm_cold_path.ts [--base REV] [--modes none,inflight,record,full] [--runs 3]
 *   [--rounds 3] [--calls N] [--walk-kib N]`
 *
 * The agent's own cost per call with cold caches (`ColdPathBench`, in the agent's test sources):
 * what a JVM sharing its CPU with others pays for the agent's work, where a warm in-process loop
 * says 100-200 ns. Each mode is a part of gRPC's hook path (see ColdPathBench); `none` is the
 * floor every mode includes. With `--base`, the agent core of that revision is compiled too and
 * the two are run alternately (`--runs` JVMs each, one after the other: this host is shared and
 * noisy, so they meet the same noise), each JVM on CPU 0; reported per build and mode: the median
 * over its JVMs of their cold medians, and the warm median.
 *
 * The walk defaults to 1.25 times the CPU's largest cache (`/sys/devices/system/cpu/cpu0/cache`),
 * at least 4 MiB: a walk that fits in the last-level cache leaves the path in it, and "cold"
 * would time L3 hits (40-170 ns a call on a host with a 32 MiB L3 and a 4 MiB walk). Calls per
 * round default to 5000 for a 4 MiB walk, fewer for a longer one (the same bytes walked, at least
 * 400 calls).
 *
 * Compiles with `javac` only (the agent core needs nothing but the JDK); prints a table.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { coreBuilds, removeBuilds, run } from "./agent_core_builds.ts";

const BENCH_CLASS = "java/agent/src/test/java/io/demarc/agent/core/ColdPathBench.java";

const { values: opt } = parseArgs({
  args: Deno.args,
  options: {
    base: { type: "string" },
    modes: { type: "string", default: "none,inflight,record,full" },
    runs: { type: "string", default: "3" },
    rounds: { type: "string", default: "3" },
    calls: { type: "string" },
    "walk-kib": { type: "string" },
  },
});
const walkKib = opt["walk-kib"] ?? String(defaultWalkKib());
if (!/^[1-9][0-9]*$/.test(walkKib)) {
  throw new Error(`--walk-kib: ${walkKib} is not a whole number of KiB > 0`);
}
const calls = opt.calls ?? String(Math.max(400, Math.round(5000 * 4096 / Number(walkKib))));

/** 1.25 x the largest cache of CPU 0 in KiB, at least 4096 (4096 when sysfs does not say). */
function defaultWalkKib(): number {
  let largest = 0;
  try {
    for (const e of Deno.readDirSync("/sys/devices/system/cpu/cpu0/cache")) {
      if (!e.name.startsWith("index")) continue;
      const text = Deno.readTextFileSync(`/sys/devices/system/cpu/cpu0/cache/${e.name}/size`)
        .trim();
      const m = /^(\d+)([KMG]?)$/.exec(text);
      if (!m) continue;
      const kib = Number(m[1]) * ({ "": 1 / 1024, K: 1, M: 1024, G: 1024 * 1024 }[m[2]] ?? 1);
      largest = Math.max(largest, kib);
    }
  } catch {
    // no sysfs cache description: the fixed default
  }
  return Math.max(4096, Math.ceil(largest * 1.25));
}
const modes = opt.modes.split(",");
for (const m of modes) {
  if (!["none", "inflight", "record", "full"].includes(m)) {
    throw new Error(`--modes: unknown mode ${m}; accepted: none, inflight, record, full`);
  }
}

interface Sample {
  coldMedianNs: number[];
  warmMedianNs: number[];
  coldDrainNs: number[];
  warmDrainNs: number[];
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const builds = await coreBuilds(BENCH_CLASS, opt.base);

const results = new Map<
  string,
  { cold: number[]; warm: number[]; coldDrain: number[]; warmDrain: number[] }
>();
for (let r = 0; r < Number(opt.runs); r++) {
  for (const mode of modes) {
    // Alternate which build goes first, so a drift in the host's load favours neither.
    const order = r % 2 ? [...builds].reverse() : builds;
    for (const b of order) {
      const line = await run("taskset", [
        "-c",
        "0",
        "java",
        "-cp",
        b.classes,
        "io.demarc.agent.core.ColdPathBench",
        mode,
        opt.rounds,
        calls,
        walkKib,
      ]);
      const s: Sample = JSON.parse(line);
      const key = `${b.name}\t${mode}`;
      const acc = results.get(key) ??
        { cold: [], warm: [], coldDrain: [], warmDrain: [] };
      acc.cold.push(median(s.coldMedianNs));
      acc.warm.push(median(s.warmMedianNs));
      acc.coldDrain.push(median(s.coldDrainNs));
      acc.warmDrain.push(median(s.warmDrainNs));
      results.set(key, acc);
      console.error(
        `run ${
          r + 1
        } ${b.name} ${mode}: cold ${s.coldMedianNs} warm ${s.warmMedianNs} drain ${s.coldDrainNs} / ${s.warmDrainNs}`,
      );
    }
  }
}

console.log(
  `ns per call, median over ${opt.runs} JVMs of each JVM's median; cold = ${walkKib} KiB walked before each call`,
);
console.log(
  "(drain: the queued calls added to their rows by the agent's thread, mean ns per call, cold / warm)",
);
console.log("build\tmode\tcold\twarm\tdrain\tcold per JVM");
for (const b of builds) {
  for (const mode of modes) {
    const acc = results.get(`${b.name}\t${mode}`)!;
    console.log(
      `${b.name}\t${mode}\t${median(acc.cold)}\t${median(acc.warm)}\t${
        Math.round(median(acc.coldDrain))
      } / ${Math.round(median(acc.warmDrain))}\t${acc.cold.join(" ")}`,
    );
  }
}
await removeBuilds(builds);
