/**
 * Shared parts of the JVM benchmarks: fetching the OpenTelemetry Java agent from Maven Central,
 * the services under test, allocation measured from eden growth inside the real JVMs, and CPU
 * time from /proc.
 *
 * @module
 */

import { BUILD } from "../tests/probes/jvm/apps.ts";

export const OTEL_VERSION = "2.21.0";
const BENCH_DIR = `${BUILD}/bench`;

/** One service pair driven by a benchmark. */
export interface Service {
  name: string;
  protocol: string;
  server: [string, string[]];
  client: (ports: Record<string, number>) => [string, string[]];
  /** Run only when named (`--only`), not by default. */
  optional?: boolean;
}

/** Echo services of each protocol (the test apps, plaintext). */
export const SERVICES: Service[] = [
  {
    name: "dubbo",
    protocol: "dubbo",
    server: ["dubbo-provider", []],
    client: (p) => ["dubbo-consumer", ["--url", `dubbo://127.0.0.1:${p.plain}`]],
  },
  {
    name: "grpc",
    protocol: "grpc",
    server: ["grpc-server", ["--tls-port", "-1"]],
    client: (p) => ["grpc-client", ["--target", `127.0.0.1:${p.plain}`]],
  },
  {
    name: "http",
    protocol: "http",
    server: ["http-server", ["--tls-port", "-1"]],
    client: (p) => ["http-client", ["--lib", "jdk", "--url", `http://127.0.0.1:${p.plain}/echo`]],
  },
  {
    // The same server with a synchronous client: a call costs a fraction of the JDK client's
    // (its executor hands each exchange between threads), so a few microseconds added are
    // resolved where the JDK client's spread hides them. Run with --only.
    name: "http-okhttp",
    protocol: "http",
    server: ["http-server", ["--tls-port", "-1"]],
    client: (
      p,
    ) => ["http-client", ["--lib", "okhttp", "--url", `http://127.0.0.1:${p.plain}/echo`]],
    optional: true,
  },
];

async function run(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(
      `${cmd} ${args.join(" ")} failed (${out.code}): ${text.slice(-1500)}${
        new TextDecoder().decode(out.stderr).slice(-1500)
      }`,
    );
  }
  return text;
}

/**
 * The OpenTelemetry Java agent jar, fetched from Maven Central with `mvn dependency:copy` once.
 *
 * @returns its path under build/bench/
 */
export async function otelAgent(): Promise<string> {
  const jar = `${BENCH_DIR}/opentelemetry-javaagent-${OTEL_VERSION}.jar`;
  try {
    await Deno.stat(jar);
    return jar;
  } catch { /* fetch it */ }
  await Deno.mkdir(BENCH_DIR, { recursive: true });
  await run("mvn", [
    "-q",
    "-B",
    "org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy",
    `-Dartifact=io.opentelemetry.javaagent:opentelemetry-javaagent:${OTEL_VERSION}`,
    `-DoutputDirectory=${BENCH_DIR}`,
  ]);
  return jar;
}

/** JVM options that start the OpenTelemetry agent with exporters off (instrumentation cost only). */
export function otelJvmArgs(jar: string, service: string): string[] {
  return [
    `-javaagent:${jar}`,
    `-Dotel.service.name=${service}`,
    "-Dotel.traces.exporter=none",
    "-Dotel.metrics.exporter=none",
    "-Dotel.logs.exporter=none",
  ];
}

/** JVM options of every benchmarked JVM: a young generation large enough for one allocation window. */
export const BENCH_JVM_ARGS = ["-XX:+UseSerialGC", "-Xms1g", "-Xmx1g", "-Xmn700m"];

interface Eden {
  usedBytes: number;
  youngGcs: number;
}

async function eden(pid: number): Promise<Eden> {
  const out = await run("jstat", ["-gc", String(pid)]);
  const [head, values] = out.trim().split("\n").map((l) => l.trim().split(/\s+/));
  const col = (name: string) => Number(values[head.indexOf(name)]);
  return { usedBytes: col("EU") * 1024, youngGcs: col("YGC") };
}

/**
 * Bytes allocated by some JVMs while `work` runs: each JVM's heap is collected first (`jcmd
 * GC.run`), then its eden occupancy (`jstat -gc`) is read before and after. Exact as long as no
 * young collection happens in between; a JVM where one did gets NaN (make the window smaller).
 *
 * @returns `perPid` in the order of `pids`, `bytes` their sum (NaN when any is)
 */
export async function allocatedDuring<T>(
  pids: number[],
  work: () => Promise<T>,
): Promise<{ bytes: number; perPid: number[]; result: T }> {
  for (const pid of pids) await run("jcmd", [String(pid), "GC.run"]);
  const before = await Promise.all(pids.map(eden));
  const result = await work();
  const after = await Promise.all(pids.map(eden));
  const perPid = pids.map((_, i) =>
    after[i].youngGcs !== before[i].youngGcs ? NaN : after[i].usedBytes - before[i].usedBytes
  );
  return { bytes: perPid.reduce((a, b) => a + b, 0), perPid, result };
}

let clockTicks: number | undefined;
let libc:
  | Deno.DynamicLibrary<{ clock_gettime: { parameters: ["i32", "buffer"]; result: "i32" } }>
  | null
  | undefined;

/**
 * CPU time (user + system, all threads, exited ones included) a process used so far, in µs. Read
 * from the process's CPU clock (`clock_gettime` on the clock id of its pid: nanoseconds), not from
 * /proc/<pid>/stat, whose utime and stime come in clock ticks (10 ms here): over a window of a few
 * thousand calls that is ~1 µs per call of rounding in every reading. /proc is the fallback.
 */
export async function cpuMicros(pid: number): Promise<number> {
  if (libc === undefined) {
    try {
      libc = Deno.dlopen("libc.so.6", {
        clock_gettime: { parameters: ["i32", "buffer"], result: "i32" },
      });
    } catch {
      libc = null;
    }
  }
  if (libc) {
    const ts = new BigInt64Array(2);
    // The kernel's process CPU clock id for a pid: ~pid << 3 | CPUCLOCK_SCHED (2), as clock_getcpuclockid makes it.
    if (libc.symbols.clock_gettime((~pid << 3) | 2, new Uint8Array(ts.buffer)) === 0) {
      return Number(ts[0]) * 1e6 + Number(ts[1]) / 1e3;
    }
  }
  clockTicks ??= Number((await run("getconf", ["CLK_TCK"])).trim());
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  // Fields after the command name (which may hold spaces) start at field 3; utime is 14, stime 15.
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) * 1e6 / clockTicks;
}
