/**
 * demarc's command line: parses arguments and wires the runner. No logic of its own.
 *
 * @module
 */

import { Command, InvalidArgumentError } from "commander";
import { LEVELS } from "./runner/log.ts";
import type { Level } from "./runner/log.ts";
import { startRunner, VERSION } from "./runner/runner.ts";
import { apiRequest, printProbes } from "./runner/cli_client.ts";

const root = import.meta.dirname ?? ".";

function port(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new InvalidArgumentError("must be a port number 0-65535");
  }
  return n;
}

function positive(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("must be a positive integer");
  return n;
}

function level(v: string): Level {
  if (!(LEVELS as readonly string[]).includes(v)) {
    throw new InvalidArgumentError(`must be one of ${LEVELS.join(", ")}`);
  }
  return v as Level;
}

const program = new Command("demarc")
  .description(
    "Tells whether a slow or failing Java service is broken on the application or the network side.",
  )
  .version(VERSION, "-V, --version")
  .showHelpAfterError()
  .exitOverride();

program.command("run")
  .description("run the agent: config API, probes, metrics endpoint")
  .option("--api-host <host>", "config API address", "127.0.0.1")
  .option("--api-port <port>", "config API port", port, 9999)
  .option("--metrics-host <host>", "Prometheus endpoint address", "0.0.0.0")
  .option("--metrics-port <port>", "Prometheus endpoint port", port, 8888)
  .option("--state-dir <dir>", "where the KV store and sockets live", "/var/lib/demarc")
  .option("--retention <seconds>", "how long samples are kept in the store", positive, 3600)
  .option("--log-level <level>", `one of ${LEVELS.join(", ")}`, level, "info" as Level)
  .option("--probes-dir <dir>", "probe manifests", `${root}/probes`)
  .option("--meta-dir <dir>", "meta tables", `${root}/meta`)
  .option("--build-dir <dir>", "BPF objects and jars", `${root}/build`)
  .option(
    "--scan-interval <ms>",
    "how often /proc is rescanned for snooped processes (new ones are also matched as they exec)",
    positive,
    1000,
  )
  .action(async (o) => {
    const runner = await startRunner({
      apiHost: o.apiHost,
      apiPort: o.apiPort,
      metricsHost: o.metricsHost,
      metricsPort: o.metricsPort,
      stateDir: o.stateDir,
      logLevel: o.logLevel,
      retentionSeconds: o.retention,
      probesDir: o.probesDir,
      metaDir: o.metaDir,
      buildDir: o.buildDir,
      scanIntervalMs: o.scanInterval,
    });
    const stop = async () => {
      await runner.close();
      Deno.exit(0);
    };
    Deno.addSignalListener("SIGTERM", stop);
    Deno.addSignalListener("SIGINT", stop);
  });

const apiOption = ["--api <url>", "demarc's config API", "http://127.0.0.1:9999"] as const;

program.command("probes")
  .description("list probes, sub-probes and params (from a running agent)")
  .option(...apiOption)
  .option("--json", "print JSON")
  .action(async (o) => printProbes(await apiRequest(o.api, "GET", "/probes"), !!o.json));

program.command("get <probe>")
  .description("print a probe's current config and status, like gopher-ctl probe get")
  .option(...apiOption)
  .action(async (probe, o) =>
    console.log(JSON.stringify(await apiRequest(o.api, "GET", `/${probe}`), null, 2))
  );

program.command("set <probe> <json>")
  .description(
    `configure a probe, like gopher-ctl probe set; e.g. set tcp '{"cmd":{"probe":["tcp_rtt"]},"state":"running"}'`,
  )
  .option(...apiOption)
  .action(async (probe, json, o) => {
    const r = await apiRequest(o.api, "PUT", `/${probe}`, json) as { message: string };
    console.log(r.message);
  });

program.command("version")
  .description("print the version")
  .action(() => console.log(`demarc ${VERSION}`));

try {
  await program.parseAsync(Deno.args, { from: "user" });
} catch (e) {
  const code = (e as { code?: string }).code;
  if (
    code === "commander.helpDisplayed" || code === "commander.version" || code === "commander.help"
  ) Deno.exit(0);
  if (code?.startsWith("commander.")) Deno.exit(2);
  console.error(`demarc: ${(e as Error).message}`);
  Deno.exit(1);
}
