/**
 * Starting the real demarc process for end-to-end tests, on free ports, with its own state dir.
 *
 * @module
 */

const ROOT = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");

export interface DemarcOptions {
  /** Reuse a state dir (to test persistence); a new temp dir otherwise. */
  stateDir?: string;
  probesDir?: string;
  metaDir?: string;
  buildDir?: string;
  extraArgs?: string[];
  /** Flags for `deno run` itself (e.g. V8 flags), placed before main.ts; the start task's by default. */
  denoFlags?: string[];
  /** Another tree's main.ts (benches compare against the previous version); this tree's by default. */
  mainPath?: string;
  /** Environment variables for the process (e.g. MALLOC_ARENA_MAX); the start task's by default. */
  env?: Record<string, string>;
  logLevel?: "debug" | "info" | "warn" | "error";
}

export interface Demarc {
  /** e.g. http://127.0.0.1:40123 */
  api: string;
  /** e.g. http://127.0.0.1:40124 (GET /metrics) */
  metrics: string;
  stateDir: string;
  pid: number;
  /** Everything the process wrote to stderr so far (its log). */
  log(): string;
  /** SIGTERM and wait; returns the exit code. Safe to call twice. The state dir stays. */
  stop(): Promise<number>;
  /**
   * Stop, then remove the state dir if this helper made it (a bench's is tens of MB of KV; a test
   * run's scratch dir goes as a whole).
   */
  close(): Promise<void>;
  /** Stop, then start again with the same state dir and ports. */
  restart(): Promise<Demarc>;
  /** PUT a config document (JSON body); returns status and parsed answer. */
  put(
    path: string,
    doc: unknown,
  ): Promise<{ status: number; body: { result: string; message: string } }>;
  get<T = Record<string, unknown>>(path: string): Promise<T>;
  scrape(): Promise<string>;
}

/** How deno.json's `start` task runs demarc: its `deno run` flags and environment variables. */
export interface StartTask {
  /** Flags between `run` and `main.ts`, without the permission and unstable flags. */
  flags: string[];
  /** `NAME=value` words before `deno`. */
  env: Record<string, string>;
}

/** Read the shipped way of running demarc from deno.json, so tests and benches run it that way. */
export function startTask(): StartTask {
  const cfg = JSON.parse(Deno.readTextFileSync(`${ROOT}/deno.json`));
  const words = (cfg.tasks.start as string).split(/\s+/);
  const deno = words.indexOf("deno");
  const env = Object.fromEntries(words.slice(0, deno).map((w) => w.split(/=(.*)/s).slice(0, 2)));
  const flags = words.slice(words.indexOf("run") + 1, words.indexOf("main.ts"))
    .filter((w) => !["--allow-all", "-A", "--unstable-kv"].includes(w));
  return { flags, env };
}

/** A free TCP port on 127.0.0.1 (bound then released). */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const p = (l.addr as Deno.NetAddr).port;
  l.close();
  return p;
}

/**
 * `dir`, removed when this test module's process ends: a test that stops demarc without `close()`
 * (or a failing one) leaves no state dir behind, also when it runs outside `deno task test` (which
 * removes its whole scratch dir).
 */
export function removedAtExit(dir: string): string {
  globalThis.addEventListener("unload", () => {
    try {
      Deno.removeSync(dir, { recursive: true });
    } catch {
      // removed already (close()), or still busy: the scratch dir's removal covers it
    }
  });
  return dir;
}

/**
 * Spawn `deno run main.ts run` and wait until its API answers.
 *
 * @throws {Error} with the process's log when it exits or does not answer within 30 s.
 */
export async function startDemarc(
  o: DemarcOptions = {},
  ports?: { api: number; metrics: number },
): Promise<Demarc> {
  const stateDir = o.stateDir ?? removedAtExit(await Deno.makeTempDir({ prefix: "demarc-test-" }));
  const apiPort = ports?.api ?? freePort();
  const metricsPort = ports?.metrics ?? freePort();
  const shipped = startTask();
  const args = [
    "run",
    "--allow-all",
    "--unstable-kv",
    ...(o.denoFlags ?? shipped.flags),
    o.mainPath ?? `${ROOT}/main.ts`,
    "run",
    "--api-port",
    String(apiPort),
    "--metrics-port",
    String(metricsPort),
    "--metrics-host",
    "127.0.0.1",
    "--state-dir",
    stateDir,
    "--log-level",
    o.logLevel ?? "debug",
    ...(o.probesDir ? ["--probes-dir", o.probesDir] : []),
    ...(o.metaDir ? ["--meta-dir", o.metaDir] : []),
    ...(o.buildDir ? ["--build-dir", o.buildDir] : []),
    ...(o.extraArgs ?? []),
  ];
  const child = new Deno.Command(Deno.execPath(), {
    args,
    env: o.env ?? shipped.env,
    stdout: "null",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  let log = "";
  const logDone = (async () => {
    const dec = new TextDecoder();
    for await (const chunk of child.stderr) log += dec.decode(chunk, { stream: true });
  })();
  const api = `http://127.0.0.1:${apiPort}`;
  const metrics = `http://127.0.0.1:${metricsPort}`;
  let exited: Deno.CommandStatus | undefined;
  const statusP = child.status.then((s) => (exited = s));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited) {
      await logDone;
      throw new Error(`demarc exited with ${exited.code} before answering:\n${log}`);
    }
    try {
      const r = await fetch(`${api}/probes`);
      await r.body?.cancel();
      if (r.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`demarc did not answer within 30 s:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  let stopped: Promise<number> | undefined;
  const d: Demarc = {
    api,
    metrics,
    stateDir,
    pid: child.pid,
    log: () => log,
    stop() {
      stopped ??= (async () => {
        if (!exited) {
          try {
            child.kill("SIGTERM");
          } catch {
            // already gone
          }
        }
        const s = await statusP;
        await logDone;
        return s.code;
      })();
      return stopped;
    },
    async close() {
      await d.stop();
      if (!o.stateDir) await Deno.remove(stateDir, { recursive: true }).catch(() => {});
    },
    async restart() {
      await d.stop();
      return startDemarc({ ...o, stateDir }, { api: apiPort, metrics: metricsPort });
    },
    async put(path, doc) {
      const r = await fetch(`${api}${path}`, {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(doc),
      });
      return { status: r.status, body: await r.json() };
    },
    async get(path) {
      const r = await fetch(`${api}${path}`);
      return await r.json();
    },
    async scrape() {
      const r = await fetch(`${metrics}/metrics`);
      return await r.text();
    },
  };
  return d;
}

/** Poll `fn` until it returns a truthy value or `timeoutMs` passes. */
export async function waitFor<T>(
  fn: () => T | Promise<T>,
  timeoutMs = 15_000,
  what = "condition",
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last}` : ""}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Parse Prometheus text into `name{labels} value` lookups (no HELP/TYPE lines). */
export function parseMetrics(
  text: string,
): Array<{ name: string; labels: Record<string, string>; value: number }> {
  const out: Array<{ name: string; labels: Record<string, string>; value: number }> = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const lm of (m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[lm[1]] = lm[2];
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}
