/**
 * `deno run -A bench/jvm_drain_interference.ts [--base REV] [--runs 3] [--calls 40960] [--work-us 50]
 *   [--period-us 100] [--cpu 0]`
 *
 * What the agent's sender thread, adding queued calls to their rows, takes from the application
 * when both share one CPU (`DrainInterferenceBench`, in the agent's test sources): an application
 * thread makes calls at a fixed rate on `--cpu`, and every `Recorder.DRAIN_BATCH` calls the one
 * that fills a batch wakes the drainer. Reported per build: the mean and p99 latency of all calls,
 * and the mean of the calls that asked for a drain (a drainer that preempts its waker holds that
 * call for the batch) and of the 8 after them. With `--base`, the agent core of that revision is
 * compiled too and the two run alternately (`--runs` JVMs each), so both meet the same host noise.
 *
 * Compiles with `javac` only (the agent core needs nothing but the JDK); prints a table.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { coreBuilds, removeBuilds, run } from "./agent_core_builds.ts";

const BENCH_CLASS = "java/agent/src/test/java/io/demarc/agent/core/DrainInterferenceBench.java";

const { values: opt } = parseArgs({
  args: Deno.args,
  options: {
    base: { type: "string" },
    runs: { type: "string", default: "3" },
    calls: { type: "string", default: "40960" },
    "work-us": { type: "string", default: "50" },
    "period-us": { type: "string", default: "100" },
    cpu: { type: "string", default: "0" },
  },
});

interface Sample {
  meanNs: number;
  p50Ns: number;
  p99Ns: number;
  maxNs: number;
  askedMeanNs: number;
  afterMeanNs: number;
  drains: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const builds = await coreBuilds(BENCH_CLASS, opt.base);
const samples = new Map<string, Sample[]>(builds.map((b) => [b.name, []]));
try {
  for (let r = 0; r < Number(opt.runs); r++) {
    // Alternate which build goes first, so a drift in the host's load favours neither.
    for (const b of r % 2 ? [...builds].reverse() : builds) {
      const line = await run("taskset", [
        "-c",
        opt.cpu,
        "java",
        "-XX:+UseSerialGC",
        "-cp",
        b.classes,
        "io.demarc.agent.core.DrainInterferenceBench",
        opt.calls,
        opt["work-us"],
        opt["period-us"],
      ]);
      const s: Sample = JSON.parse(line);
      samples.get(b.name)!.push(s);
      console.error(`run ${r + 1} ${b.name}: ${line.trim()}`);
    }
  }
} finally {
  await removeBuilds(builds);
}

const us = (ns: number) => (ns / 1000).toFixed(1);
console.log(
  `µs per call, median over ${opt.runs} JVMs; ${opt.calls} calls of ${
    opt["work-us"]
  } µs work every ` +
    `${opt["period-us"]} µs on CPU ${opt.cpu}; asked = the calls that woke the drainer`,
);
console.log("build\tmean\tp99\tasked\t8 after\tasked per JVM");
for (const b of builds) {
  const s = samples.get(b.name)!;
  console.log(
    [
      b.name,
      us(median(s.map((x) => x.meanNs))),
      us(median(s.map((x) => x.p99Ns))),
      us(median(s.map((x) => x.askedMeanNs))),
      us(median(s.map((x) => x.afterMeanNs))),
      s.map((x) => us(x.askedMeanNs)).join(" "),
    ].join("\t"),
  );
}
