/**
 * `deno run -A --unstable-kv bench/jvm_agent_threads.ts [--only dubbo,grpc,http-okhttp]
 *   [--builds build,/tmp/other-build] [--runs 2] [--rounds 3] [--calls 20000] [--rate 1000]
 *   [--idle-seconds 60] [--ratio 0.01] [--cpus 1] [--warm-calls 200000]`
 *
 * What the agent's own threads cost, per call and per idle minute, read from the kernel's
 * per-thread CPU clocks (`/proc/<pid>/task/<tid>/schedstat`), where the overhead bench
 * (`jvm_overhead.ts`) sees only whole JVMs and needs 80 windows to resolve a few hundred ns. The
 * sender thread adds queued calls to their rows (a batch every 2,048 calls) and sends a report
 * each period; the reader only takes CONFIG frames. Their CPU is the agent's work that is off the
 * application's threads, so one number per thread is exact to a few ns a call, whatever the
 * application's own threads do.
 *
 * Per service and build (`--builds`: build dirs, each with `java/demarc-agent.jar`; the first one
 * is this tree's `build/` unless given), `--runs` times in turn (a, b, a, b: this host is shared):
 * a client and server pair on `--cpus`, warmed up, attached through the runner (all sub-probes,
 * `--ratio` of calls traced, report period 5 s), `--warm-calls` calls made so that the JIT has
 * compiled the agent's paths with C2 (on one CPU the C2 queue holds hundreds of the application's
 * methods after start: 60,000 calls after the attach left the agent's record, queue and drain
 * methods in C1's profiling tier, 160,000 had them all in C2; `jcmd <pid> Compiler.codelist`),
 * then:
 * - idle: after one period (whose report drains what the warm-up left queued), `--idle-seconds`
 *   with no call: the sender's CPU per report period and its wake-ups;
 * - `--rounds` rounds of `--calls` calls at `--rate` a second: the sender's and the reader's CPU
 *   per call, client and server, and the sender's voluntary (wake-ups) and involuntary (preempted
 *   or yielding to another thread) context switches per 1,000 calls.
 *
 * Prints a table per service; progress to stderr.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { startDemarc } from "../tests/helpers/demarc.ts";
import { BUILD, startApp, type TestApp } from "../tests/probes/jvm/apps.ts";
import { waitConnected, watch } from "../tests/probes/jvm/probe_client.ts";
import { BENCH_JVM_ARGS, SERVICES } from "./jvm_lib.ts";

const { values: opt } = parseArgs({
  args: Deno.args,
  options: {
    only: { type: "string", default: "dubbo,grpc,http-okhttp" },
    builds: { type: "string", default: BUILD },
    runs: { type: "string", default: "2" },
    rounds: { type: "string", default: "3" },
    calls: { type: "string", default: "20000" },
    rate: { type: "string", default: "1000" },
    "idle-seconds": { type: "string", default: "60" },
    ratio: { type: "string", default: "0.01" },
    cpus: { type: "string", default: "1" },
    "warm-calls": { type: "string", default: "200000" },
  },
});

const num = (name: keyof typeof opt, min: number): number => {
  const v = Number(opt[name]);
  if (!Number.isFinite(v) || v < min) {
    throw new Error(`--${name}: ${opt[name]} is not a number >= ${min}`);
  }
  return v;
};
const RUNS = num("runs", 1), ROUNDS = num("rounds", 0), CALLS = num("calls", 1);
const WARM_CALLS = num("warm-calls", 1);
const RATE = num("rate", 1), IDLE_S = num("idle-seconds", 0), RATIO = num("ratio", 0);
const PERIOD_S = 5;
const BUILDS = (opt.builds as string).split(",");
for (const b of BUILDS) {
  try {
    Deno.statSync(`${b}/java/demarc-agent.jar`);
  } catch {
    throw new Error(`--builds: ${b}/java/demarc-agent.jar not found (run deno task build)`);
  }
}
const services = (opt.only as string).split(",").map((name) => {
  const s = SERVICES.find((x) => x.name === name);
  if (!s) {
    throw new Error(`--only: no service ${name} (${SERVICES.map((x) => x.name).join(", ")})`);
  }
  return s;
});

/** A thread of the agent: CPU ns and context switches so far. */
interface ThreadClock {
  cpuNs: number;
  voluntary: number;
  involuntary: number;
}

/** The agent's threads of `pid` by name (`demarc-agent-se`nder, `demarc-agent-re`ader). */
function agentThreads(pid: number): Map<string, ThreadClock> {
  const out = new Map<string, ThreadClock>();
  for (const t of Deno.readDirSync(`/proc/${pid}/task`)) {
    try {
      const dir = `/proc/${pid}/task/${t.name}`;
      const comm = Deno.readTextFileSync(`${dir}/comm`).trim();
      if (!comm.startsWith("demarc-agent")) continue;
      const status = Deno.readTextFileSync(`${dir}/status`);
      const field = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, "m").exec(status)?.[1]);
      const clock = {
        cpuNs: Number(Deno.readTextFileSync(`${dir}/schedstat`).split(" ")[0]),
        voluntary: field("voluntary_ctxt_switches"),
        involuntary: field("nonvoluntary_ctxt_switches"),
      };
      const prev = out.get(comm);
      // A reconnect starts a new reader: threads of one name are summed.
      out.set(comm, prev ? add(prev, clock, 1) : clock);
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return out;
}

function add(a: ThreadClock, b: ThreadClock, sign: number): ThreadClock {
  return {
    cpuNs: a.cpuNs + sign * b.cpuNs,
    voluntary: a.voluntary + sign * b.voluntary,
    involuntary: a.involuntary + sign * b.involuntary,
  };
}

const ZERO: ThreadClock = { cpuNs: 0, voluntary: 0, involuntary: 0 };
const SENDER = "demarc-agent-se", READER = "demarc-agent-re";

/** What each agent thread of `apps` did while `work` ran. */
async function during(apps: TestApp[], work: () => Promise<unknown>) {
  const before = apps.map((a) => agentThreads(a.pid));
  await work();
  return apps.map((a, i) => {
    const after = agentThreads(a.pid);
    const delta = (name: string) => add(after.get(name) ?? ZERO, before[i].get(name) ?? ZERO, -1);
    return { sender: delta(SENDER), reader: delta(READER) };
  });
}

interface Sample {
  idleSenderUsPerPeriod: number[]; // server, client
  idleWakesPerPeriod: number[];
  senderNsPerCall: number[][]; // per round: server, client
  readerNsPerCall: number[][];
  wakesPer1000: number[][];
  switchesPer1000: number[][];
}

async function measure(svc: (typeof SERVICES)[number], build: string): Promise<Sample> {
  const demarc = await startDemarc({ logLevel: "warn", buildDir: build });
  const server = await startApp(svc.server[0], svc.server[1], {
    jvmArgs: BENCH_JVM_ARGS,
    cpus: opt.cpus,
  });
  const [clientApp, clientFlags] = svc.client(server.ports);
  const client = await startApp(clientApp, clientFlags, { jvmArgs: BENCH_JVM_ARGS, cpus: opt.cpus })
    .catch(async (e) => {
      await server.stop();
      throw e;
    });
  const apps = [server, client];
  try {
    await client.run(30000, "concurrency=4");
    const pids = apps.map((a) => a.pid);
    await watch(demarc, pids, {
      params: { report_period: PERIOD_S, trace_sample_ratio: RATIO },
    });
    await waitConnected(demarc, pids);
    await client.run(WARM_CALLS, "concurrency=4"); // the attached paths compiled
    // The next report drains what the warm-up left queued (up to a batch): not idle work.
    await new Promise((r) => setTimeout(r, (PERIOD_S + 1) * 1000));
    const periods = IDLE_S / PERIOD_S;
    const idle = IDLE_S > 0
      ? await during(apps, () => new Promise((r) => setTimeout(r, IDLE_S * 1000)))
      : undefined;
    const s: Sample = {
      idleSenderUsPerPeriod: idle?.map((t) => t.sender.cpuNs / 1e3 / periods) ?? [],
      idleWakesPerPeriod: idle?.map((t) => t.sender.voluntary / periods) ?? [],
      senderNsPerCall: [],
      readerNsPerCall: [],
      wakesPer1000: [],
      switchesPer1000: [],
    };
    for (let r = 0; r < ROUNDS; r++) {
      let calls = 0;
      const t = await during(apps, async () => {
        calls = (await client.run(CALLS, `rate=${RATE} concurrency=4`)).calls;
      });
      s.senderNsPerCall.push(t.map((x) => x.sender.cpuNs / calls));
      console.error(
        `${svc.name} ${build} round ${r + 1}: sender ns/call server ${
          (t[0].sender.cpuNs / calls).toFixed(0)
        }, client ${(t[1].sender.cpuNs / calls).toFixed(0)}`,
      );
      s.readerNsPerCall.push(t.map((x) => x.reader.cpuNs / calls));
      s.wakesPer1000.push(t.map((x) => x.sender.voluntary / calls * 1000));
      s.switchesPer1000.push(t.map((x) => x.sender.involuntary / calls * 1000));
    }
    return s;
  } finally {
    await client.stop();
    await server.stop();
    await demarc.stop();
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
/** Median (min–max) of the figures measured ("-" for none: e.g. no idle part with --idle-seconds 0). */
const range = (all: (number | undefined)[], digits = 0) => {
  const xs = all.filter((x): x is number => x !== undefined && Number.isFinite(x));
  return xs.length
    ? `${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}–${
      Math.max(...xs).toFixed(digits)
    })`
    : "-";
};

console.log(
  `The agent's threads, per call (${RATE} calls/s, ${CALLS} a round, ${ROUNDS} rounds, trace ratio ` +
    `${RATIO}) and per ${PERIOD_S} s report period of an idle JVM (${IDLE_S} s), median (range) ` +
    `over ${RUNS} run(s) of each build, all JVMs on CPU ${opt.cpus}:`,
);
for (const svc of services) {
  const samples = new Map<string, Sample[]>(BUILDS.map((b) => [b, []]));
  for (let run = 0; run < RUNS; run++) {
    for (const build of run % 2 ? [...BUILDS].reverse() : BUILDS) {
      console.error(`${svc.name}: run ${run + 1}, build ${build}`);
      samples.get(build)!.push(await measure(svc, build));
    }
  }
  console.log(`\n${svc.name}`);
  console.log(
    "| build | side | sender ns/call | reader ns/call | sender wake-ups /1000 calls | " +
      "sender switched out /1000 calls | idle: sender µs/period | idle: wake-ups/period |",
  );
  console.log("| --- | --- | --- | --- | --- | --- | --- | --- |");
  for (const [build, ss] of samples) {
    for (const [side, i] of [["server", 0], ["client", 1]] as const) {
      const calls = (pick: (s: Sample) => number[][]) =>
        ss.flatMap((s) => pick(s).map((r) => r[i]));
      console.log(
        `| ${build} | ${side} | ${range(calls((s) => s.senderNsPerCall))} | ${
          range(calls((s) => s.readerNsPerCall))
        } | ${range(calls((s) => s.wakesPer1000), 2)} | ${
          range(calls((s) => s.switchesPer1000), 1)
        } | ${range(ss.map((s) => s.idleSenderUsPerPeriod[i]))} | ${
          range(ss.map((s) => s.idleWakesPerPeriod[i]), 1)
        } |`,
      );
    }
  }
}
