/**
 * demarc's command line: parses arguments and wires the runner. No logic of its own.
 *
 * @module
 */

import { LEVELS } from "./runner/log.ts";
import type { Level } from "./runner/log.ts";
import { startRunner, VERSION } from "./runner/runner.ts";
import { apiRequest, printProbes } from "./runner/cli_client.ts";
import {
  commandHelp,
  type OptionSpec,
  parseCommandLine,
  type ProgramSpec,
  UsageError,
} from "./runner/cli_parse.ts";

const root = import.meta.dirname ?? ".";

function port(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error("must be a port number 0-65535");
  return n;
}

function positive(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error("must be a positive integer");
  return n;
}

function megabytes(v: string): number {
  const n = Number(v);
  if (v.trim() === "" || !Number.isFinite(n) || n <= 0) {
    throw new Error("must be a number of megabytes (MiB) greater than 0, e.g. 256 or 0.5");
  }
  return n;
}

function level(v: string): Level {
  if (!(LEVELS as readonly string[]).includes(v)) {
    throw new Error(`must be one of ${LEVELS.join(", ")}`);
  }
  return v as Level;
}

const api: OptionSpec = {
  value: "url",
  help: "demarc's config API",
  default: "http://127.0.0.1:9999",
};

const program: ProgramSpec = {
  name: "demarc",
  help:
    "Tells whether a slow or failing Java service is broken on the application or the network side.",
  version: VERSION,
  commands: [
    {
      name: "run",
      help: "run the agent: config API, probes, metrics endpoint",
      options: {
        "api-host": { value: "host", help: "config API address", default: "127.0.0.1" },
        "api-port": { value: "port", help: "config API port", default: "9999", parse: port },
        "metrics-host": { value: "host", help: "Prometheus endpoint address", default: "0.0.0.0" },
        "metrics-port": {
          value: "port",
          help: "Prometheus endpoint port",
          default: "8888",
          parse: port,
        },
        "state-dir": {
          value: "dir",
          help: "where the KV store and sockets live",
          default: "/var/lib/demarc",
        },
        retention: {
          value: "seconds",
          help: "how long samples are kept in the store",
          default: "3600",
          parse: positive,
        },
        "store-max-mb": {
          value: "MiB",
          help: "disk the stored samples may take; beyond it the oldest are deleted first",
          default: "256",
          parse: megabytes,
        },
        "log-level": {
          value: "level",
          help: `one of ${LEVELS.join(", ")}`,
          default: "info",
          parse: level,
        },
        "probes-dir": { value: "dir", help: "probe manifests", default: `${root}/probes` },
        "meta-dir": { value: "dir", help: "meta tables", default: `${root}/meta` },
        "build-dir": { value: "dir", help: "BPF objects and jars", default: `${root}/build` },
        "scan-interval": {
          value: "ms",
          help:
            "how often /proc is rescanned for snooped processes (new ones are also matched as they exec)",
          default: "1000",
          parse: positive,
        },
      },
      action: async (_args, o) => {
        const runner = await startRunner({
          apiHost: o.apiHost as string,
          apiPort: o.apiPort as number,
          metricsHost: o.metricsHost as string,
          metricsPort: o.metricsPort as number,
          stateDir: o.stateDir as string,
          logLevel: o.logLevel as Level,
          retentionSeconds: o.retention as number,
          storeMaxMb: o.storeMaxMb as number,
          probesDir: o.probesDir as string,
          metaDir: o.metaDir as string,
          buildDir: o.buildDir as string,
          scanIntervalMs: o.scanInterval as number,
        });
        const stop = async () => {
          await runner.close();
          Deno.exit(0);
        };
        Deno.addSignalListener("SIGTERM", stop);
        Deno.addSignalListener("SIGINT", stop);
      },
    },
    {
      name: "probes",
      help: "list probes, sub-probes and params (from a running agent)",
      options: { api, json: { help: "print JSON" } },
      action: async (_args, o) =>
        printProbes(await apiRequest(o.api as string, "GET", "/probes"), o.json as boolean),
    },
    {
      name: "get",
      args: ["probe"],
      help: "print a probe's current config and status, like gopher-ctl probe get",
      options: { api },
      action: async ([probe], o) =>
        console.log(JSON.stringify(await apiRequest(o.api as string, "GET", `/${probe}`), null, 2)),
    },
    {
      name: "set",
      args: ["probe", "json"],
      help:
        `configure a probe, like gopher-ctl probe set; e.g. set tcp '{"cmd":{"probe":["tcp_rtt"]},"state":"running"}'`,
      options: { api },
      action: async ([probe, json], o) => {
        const r = await apiRequest(o.api as string, "PUT", `/${probe}`, json) as {
          message: string;
        };
        console.log(r.message);
      },
    },
    { name: "version", help: "print the version", action: () => console.log(`demarc ${VERSION}`) },
  ],
};

let parsed;
try {
  parsed = parseCommandLine(program, Deno.args);
} catch (e) {
  if (!(e instanceof UsageError)) throw e;
  const command = program.commands.find((c) => c.name === Deno.args[0]);
  console.error(`demarc: ${e.message}`);
  console.error(command ? commandHelp(program, command) : "'demarc --help' lists the commands.");
  Deno.exit(2);
}
if (parsed.kind === "print") {
  console.log(parsed.text);
  Deno.exit(0);
}
try {
  await parsed.command.action(parsed.args, parsed.options);
} catch (e) {
  console.error(`demarc: ${(e as Error).message}`);
  Deno.exit(1);
}
