/**
 * Driving helper B's test apps (`build/java/demarc-testapps.jar`) from Deno tests: start one app
 * (optionally as another user or in its own mount namespace), wait for `READY`, send line commands,
 * read one JSON answer per line.
 *
 * @module
 */

import { removedAtExit } from "../../helpers/demarc.ts";

export const ROOT = new URL("../../..", import.meta.url).pathname.replace(/\/$/, "");
/** Build output (jars); `DEMARC_BUILD_DIR` points tests at another build. */
export const BUILD = Deno.env.get("DEMARC_BUILD_DIR") ?? `${ROOT}/build`;
export const TESTAPPS_JAR = `${BUILD}/java/demarc-testapps.jar`;

/** Ground truth a client prints after `run <n>`. */
export interface RunResult {
  calls: number;
  ok: number;
  errors: number;
  clientErrors: number;
  serverErrors: number;
  exceptions: number;
  meanNs: number;
  /** Mean without the fastest and the slowest 5% of the calls. */
  trimmedMeanNs: number;
  /** Standard deviation of the latencies. */
  sdNs: number;
  p50Ns: number;
  p99Ns: number;
  sumNs: number;
  elapsedNs: number;
  bytesSent: number;
  bytesReceived: number;
  localPorts: number[];
  /** The first few distinct exceptions of failed calls ("Class: message <- cause"). */
  failures?: string[];
}

/** How to start an app. */
export interface AppOptions {
  /** Run as this user (through `setpriv`), e.g. `nobody`. */
  user?: string;
  /** Run in a new mount namespace with a private tmpfs on /tmp. */
  privateTmp?: boolean;
  /** Extra JVM options (before `-jar`). */
  jvmArgs?: string[];
  /** The java executable. */
  java?: string;
  /** Run on these CPUs only (`taskset -c`, e.g. "1"), so benchmarked JVMs share the same cores. */
  cpus?: string;
}

/** One running test app. */
export interface TestApp {
  pid: number;
  name: string;
  ports: Record<string, number>;
  /** Send one line, get its JSON answer. */
  command<T = Record<string, unknown>>(line: string): Promise<T>;
  /** `run <n> ...` on a client. */
  run(n: number, opts?: string): Promise<RunResult>;
  /** Everything the JVM wrote to stderr so far. */
  stderr(): string;
  /** `quit`, then SIGKILL if it lingers. Safe to call twice. */
  stop(): Promise<void>;
}

/** Has the Java build produced the test apps? (tests skip with this reason when not) */
export function jarsBuilt(): boolean {
  try {
    for (const j of ["demarc-testapps.jar", "demarc-agent.jar", "demarc-attach.jar"]) {
      Deno.statSync(`${BUILD}/java/${j}`);
    }
    return true;
  } catch {
    return false;
  }
}

/**
 * Start `app` with `flags` and wait for its READY line.
 *
 * @throws {Error} with the app's stderr when it exits or is not ready within 60 s
 */
export async function startApp(
  app: string,
  flags: string[] = [],
  o: AppOptions = {},
): Promise<TestApp> {
  const java = o.java ?? "java";
  const jar = o.user || o.privateTmp ? jarOutsideTmp() : TESTAPPS_JAR;
  let argv = [java, ...(o.jvmArgs ?? []), "-jar", jar, app, ...flags];
  // taskset execs the JVM in place: the pid stays the JVM's.
  if (o.cpus) argv = ["taskset", "-c", o.cpus, ...argv];
  if (o.user) {
    argv = [
      "setpriv",
      `--reuid=${o.user}`,
      `--regid=${o.user === "nobody" ? "nogroup" : o.user}`,
      "--clear-groups",
      ...argv,
    ];
  }
  if (o.privateTmp) {
    // The script is fixed; the command line is passed as positional arguments, never interpolated.
    argv = [
      "unshare",
      "-m",
      "--propagation",
      "private",
      "--",
      "sh",
      "-c",
      'mount -t tmpfs tmpfs /tmp && exec "$@"',
      "sh",
      ...argv,
    ];
  }
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    cwd: appsCwd(),
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  let err = "";
  void (async () => {
    const dec = new TextDecoder();
    for await (const c of child.stderr) err += dec.decode(c, { stream: true });
  })().catch(() => {});
  const lines = lineReader(child.stdout);
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  const readyLine = await withTimeout(
    lines.next(),
    60_000,
    () => `${app} not READY within 60 s:\n${err}`,
  );
  if (readyLine.done || !readyLine.value.startsWith("READY ")) {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
    throw new Error(`${app} did not start (${readyLine.value ?? "exited"}):\n${err}`);
  }
  const ready = JSON.parse(readyLine.value.slice(6)) as {
    pid: number;
    ports: Record<string, number>;
  };
  let queue: Promise<unknown> = Promise.resolve();
  let stopped: Promise<void> | undefined;
  const command = <T>(line: string): Promise<T> => {
    const p = queue.then(async () => {
      await writer.write(new TextEncoder().encode(line + "\n"));
      const r = await lines.next();
      if (r.done) throw new Error(`${app} exited while answering "${line}":\n${err.slice(-2000)}`);
      return JSON.parse(r.value) as T;
    });
    queue = p.catch(() => {});
    return p;
  };
  // Through sh/setpriv/unshare the exec chain keeps the pid; the JVM reports its own to be sure.
  const pid = o.privateTmp || o.user ? child.pid : ready.pid;
  return {
    pid,
    name: app,
    ports: ready.ports,
    command,
    run: (n, opts = "") => command<RunResult>(`run ${n} ${opts}`.trim()),
    stderr: () => err,
    stop() {
      stopped ??= (async () => {
        if (!exited) {
          await writer.write(new TextEncoder().encode("quit\n")).catch(() => {});
          const t = setTimeout(() => {
            try {
              child.kill("SIGKILL");
            } catch { /* gone */ }
          }, 5000);
          await status;
          clearTimeout(t);
        }
        await writer.close().catch(() => {});
        // HotSpot's attach socket: removed by the JVM at exit, but not by one killed (SIGKILL
        // above, or by a test on purpose). A private /tmp went with its namespace.
        if (!o.privateTmp) await Deno.remove(`/tmp/.java_pid${pid}`).catch(() => {});
      })();
      return stopped;
    },
  };
}

let cwd: string | undefined;

/**
 * The apps' working directory: a temp dir any user can enter, so HotSpot attach files
 * (`.attach_pid<N>`, created in the target's cwd) never land in the repository.
 */
/**
 * The test apps jar where a JVM of another user or with a private /tmp can read it: the checkout
 * may sit under /tmp (hidden by the private tmpfs) or under /root (closed to `nobody`).
 */
function jarOutsideTmp(): string {
  const st = Deno.statSync(TESTAPPS_JAR);
  const name = `demarc-testapps-${st.size}-${st.mtime?.getTime() ?? 0}.jar`;
  const copy = `${JAR_COPIES}/${name}`;
  try {
    Deno.statSync(copy);
  } catch {
    const part = `${copy}.${crypto.randomUUID()}`;
    Deno.copyFileSync(TESTAPPS_JAR, part);
    Deno.chmodSync(part, 0o644);
    Deno.renameSync(part, copy);
    removeOldJarCopies(name);
  }
  return copy;
}

const JAR_COPIES = "/var/tmp";
/** A copy this old is no longer in use by a test run that is still starting JVMs from it. */
const JAR_COPY_STALE_MS = 3600_000;

/**
 * Copies of earlier builds of the jar (~40 MB each; one per build, so they pile up in /var/tmp).
 * Only ones untouched for an hour: a JVM already running keeps its open jar anyway, but another
 * test run on this host could still be starting JVMs from its copy.
 */
function removeOldJarCopies(current: string): void {
  for (const e of Deno.readDirSync(JAR_COPIES)) {
    if (!/^demarc-testapps-\d+-\d+\.jar$/.test(e.name) || e.name === current) continue;
    const path = `${JAR_COPIES}/${e.name}`;
    try {
      const mtime = Deno.statSync(path).mtime?.getTime() ?? 0;
      if (Date.now() - mtime > JAR_COPY_STALE_MS) Deno.removeSync(path);
    } catch {
      // removed by another run meanwhile
    }
  }
}

function appsCwd(): string {
  if (!cwd) {
    cwd = removedAtExit(Deno.makeTempDirSync({ prefix: "demarc-apps-" }));
    Deno.chmodSync(cwd, 0o777);
  }
  return cwd;
}

async function* lineReader(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const dec = new TextDecoder();
  let buf = "";
  for await (const chunk of stream) {
    buf += dec.decode(chunk, { stream: true });
    let i;
    while ((i = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, i).trim();
      buf = buf.slice(i + 1);
      if (line) yield line;
    }
  }
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, reject) =>
    timer = setTimeout(() => reject(new Error(what())), ms)
  );
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

/** Threads of a process (`/proc/<pid>/status`). */
export function threadCount(pid: number): number {
  // Pools that grow and shrink with load whatever the agent does are left out: HotSpot's JIT
  // compiler and G1 worker threads (dynamic by default) and the JDK HttpClient's executor. The
  // agent's own threads (demarc-agent-*) are counted.
  const pooled = /^(C[12] CompilerThre|GC Thread#|G1 Refine#|G1 Conc#|HttpClient-)/;
  return threadNames(pid).filter((n) => !pooled.test(n)).length;
}

/** The names (comm, 15 characters at most) of a process's threads. */
export function threadNames(pid: number): string[] {
  const out: string[] = [];
  for (const t of Deno.readDirSync(`/proc/${pid}/task`)) {
    try {
      out.push(Deno.readTextFileSync(`/proc/${pid}/task/${t.name}/comm`).trim());
    } catch {
      // the thread ended while we listed
    }
  }
  return out;
}

/** Loaded classes of a JVM (`jcmd <pid> VM.classloader_stats` total). */
export async function loadedClasses(pid: number): Promise<number> {
  const out = await new Deno.Command("jcmd", {
    args: [String(pid), "VM.classloader_stats"],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const text = new TextDecoder().decode(out.stdout);
  const total = /^Total = \d+\s+(\d+)/m.exec(text);
  if (!total) throw new Error(`jcmd VM.classloader_stats gave no total:\n${text}`);
  return Number(total[1]);
}
