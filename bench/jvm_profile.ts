/**
 * `deno run -A --unstable-kv bench/jvm_profile.ts [--only dubbo] [--calls 200000] [--top 25]
 *   [--period-ms 1] [--cpus 1] [--demarc-probes l7_rpc_metrics,l7_bytes_metrics]`
 *
 * Where the demarc agent's time goes inside a real application, from JDK Flight Recorder's
 * execution samples: one client→server pair of the test apps per service (on one CPU, as in
 * `jvm_overhead.ts`), demarc attached through the runner's API as the bench attaches it (all three
 * sub-probes, trace ratio 0.01, period 5 s), warmed up, then JFR records both JVMs while the
 * client makes `--calls` calls (concurrency 4). For each JVM it prints how many samples had an
 * agent frame (`io.demarc.agent.`) anywhere on their stack, and the top frames of those samples
 * (the method that was running, with the agent method nearest to it).
 *
 * A share within one profile, not an A/B: sample totals vary by tens of percent between runs on a
 * shared host. Point `DEMARC_BUILD_DIR` at another build to profile that one (same runner).
 * Advice is inlined into the library's methods, so only the agent's own core methods show as its
 * frames; the advice's bytecode counts as the library method's.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { startDemarc } from "../tests/helpers/demarc.ts";
import { BUILD, jarsBuilt, startApp, type TestApp } from "../tests/probes/jvm/apps.ts";
import { waitConnected, watch } from "../tests/probes/jvm/probe_client.ts";
import { BENCH_JVM_ARGS, SERVICES } from "./jvm_lib.ts";

const { values: opt } = parseArgs({
  args: Deno.args,
  options: {
    only: { type: "string", default: "dubbo" },
    calls: { type: "string", default: "200000" },
    "warmup-calls": { type: "string", default: "60000" },
    top: { type: "string", default: "25" },
    "period-ms": { type: "string", default: "1" },
    cpus: { type: "string", default: "1" },
    "demarc-probes": { type: "string", default: "l7_rpc_metrics,l7_bytes_metrics,l7_rpc_trace" },
  },
});
const AGENT_FRAME = "io.demarc.agent.";

interface Frame {
  method: { type: { name: string }; name: string };
  lineNumber: number;
}
interface Sample {
  values: { stackTrace?: { frames: Frame[] } };
}

async function run(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(
      `${cmd} ${args.join(" ")} failed (${out.code}): ${
        new TextDecoder().decode(out.stderr).slice(-1000)
      }` +
        " (is the JDK's jcmd/jfr on PATH?)",
    );
  }
  return new TextDecoder().decode(out.stdout);
}

/** The JDK's profile settings with the Java sampling period set to `ms`. */
async function jfrSettings(ms: number): Promise<string> {
  const javaHome = (await Deno.realPath("/usr/bin/java")).replace(/\/bin\/java$/, "");
  const profile = await Deno.readTextFile(`${javaHome}/lib/jfr/profile.jfc`);
  const set = profile.replace(
    /(<event name="jdk.ExecutionSample">[\s\S]*?<setting name="period"[^>]*>)[^<]*/,
    `$1${ms} ms`,
  );
  const path = await Deno.makeTempFile({ suffix: ".jfc" });
  await Deno.writeTextFile(path, set);
  return path;
}

/** JFR names some classes with slashes ("io/demarc/..."), lambdas' with dots. */
const typeName = (f: Frame) => f.method.type.name.replaceAll("/", ".");
const frameName = (f: Frame) => `${typeName(f)}.${f.method.name}`;

/** Agent share and top frames of one recording. */
async function report(label: string, jfrFile: string, top: number): Promise<void> {
  const json = JSON.parse(
    await run("jfr", ["print", "--json", "--events", "jdk.ExecutionSample", jfrFile]),
  );
  const samples: Sample[] = json.recording.events;
  let agent = 0;
  const tops = new Map<string, number>();
  for (const s of samples) {
    const frames = s.values.stackTrace?.frames ?? [];
    const i = frames.findIndex((f) => typeName(f).startsWith(AGENT_FRAME));
    if (i < 0) continue;
    agent++;
    const name = i === 0
      ? `${frameName(frames[0])}:${frames[0].lineNumber}`
      : `${frameName(frames[0])} <- ${frameName(frames[i])}`;
    tops.set(name, (tops.get(name) ?? 0) + 1);
  }
  console.log(
    `\n${label}: ${samples.length} samples, ${agent} with an agent frame (${
      (100 * agent / Math.max(1, samples.length)).toFixed(1)
    }%)`,
  );
  for (const [name, n] of [...tops].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${String(n).padStart(6)}  ${name}`);
  }
}

if (!jarsBuilt()) {
  console.error(`${BUILD}/java/*.jar missing: run \`deno task build --java-only\` first`);
  Deno.exit(2);
}
const settings = await jfrSettings(Number(opt["period-ms"]));
const demarc = await startDemarc({ logLevel: "warn", buildDir: BUILD });
try {
  for (const svc of SERVICES.filter((s) => opt.only!.split(",").includes(s.name))) {
    const apps: TestApp[] = [];
    try {
      const server = await startApp(svc.server[0], svc.server[1], {
        jvmArgs: BENCH_JVM_ARGS,
        cpus: opt.cpus,
      });
      apps.push(server);
      const [clientApp, clientFlags] = svc.client(server.ports);
      const client = await startApp(clientApp, clientFlags, {
        jvmArgs: BENCH_JVM_ARGS,
        cpus: opt.cpus,
      });
      apps.push(client);
      const pids = [server.pid, client.pid];
      await watch(demarc, pids, {
        probes: opt["demarc-probes"].split(","),
        params: { report_period: 5, trace_sample_ratio: 0.01 },
      });
      await waitConnected(demarc, pids);
      await client.run(Number(opt["warmup-calls"]), "concurrency=4");
      const files = pids.map((pid) => `${BUILD}/bench/profile-${svc.name}-${pid}.jfr`);
      await Deno.mkdir(`${BUILD}/bench`, { recursive: true });
      for (const [k, pid] of pids.entries()) {
        await run("jcmd", [
          String(pid),
          "JFR.start",
          "name=demarc",
          `settings=${settings}`,
          `filename=${files[k]}`,
        ]);
      }
      const r = await client.run(Number(opt.calls), "concurrency=4");
      for (const pid of pids) await run("jcmd", [String(pid), "JFR.stop", "name=demarc"]);
      console.log(
        `${svc.name}: ${r.calls} calls, ${r.ok} ok, mean ${
          (r.meanNs / 1e3).toFixed(1)
        } µs (${BUILD})`,
      );
      await report(`${svc.name} server`, files[0], Number(opt.top));
      await report(`${svc.name} client`, files[1], Number(opt.top));
    } finally {
      await watch(demarc, [], { state: "stopped" }).catch(() => {});
      for (const a of apps.reverse()) await a.stop();
    }
  }
} finally {
  await demarc.close();
  await Deno.remove(settings).catch(() => {});
}
