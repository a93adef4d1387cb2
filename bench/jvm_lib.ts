/**
 * Shared parts of the JVM benchmarks: fetching the OpenTelemetry Java agent from Maven Central,
 * the services under test, and allocation measured with JFR inside the real JVMs.
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

const JFC = `<?xml version="1.0" encoding="UTF-8"?>
<configuration version="2.0" label="demarc-alloc">
  <event name="jdk.ObjectAllocationSample">
    <setting name="enabled">true</setting>
    <setting name="throttle">2000/s</setting>
    <setting name="stackTrace">false</setting>
  </event>
</configuration>
`;

/**
 * Bytes allocated by a JVM while `work` runs, from JFR's allocation samples (each sample's weight
 * is the bytes its thread allocated since the previous sample, so the sum covers every thread,
 * including threads that ended meanwhile).
 */
export async function allocatedDuring<T>(
  pids: number[],
  work: () => Promise<T>,
): Promise<{ bytes: number; result: T }> {
  await Deno.mkdir(BENCH_DIR, { recursive: true });
  const jfc = `${BENCH_DIR}/alloc.jfc`;
  await Deno.writeTextFile(jfc, JFC);
  const name = `demarc-alloc-${Date.now()}`;
  for (const pid of pids) {
    await run("jcmd", [String(pid), "JFR.start", `name=${name}`, `settings=${jfc}`]);
  }
  const result = await work();
  let bytes = 0;
  for (const pid of pids) {
    const file = `${BENCH_DIR}/alloc-${pid}.jfr`;
    await run("jcmd", [String(pid), "JFR.stop", `name=${name}`, `filename=${file}`]);
    const json = JSON.parse(
      await run("jfr", ["print", "--json", "--events", "jdk.ObjectAllocationSample", file]),
    );
    for (const e of json.recording.events) bytes += Number(e.values.weight ?? 0);
    await Deno.remove(file).catch(() => {});
  }
  return { bytes, result };
}
