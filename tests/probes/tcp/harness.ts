/**
 * Test harness for the TCP and socket probes: a ProbeContext built from the real manifest and
 * meta loaders, a pair of network namespaces joined by a veth, and traffic processes.
 *
 * @module
 */

import { manifestSchema } from "../../../runner/manifest.ts";
import { loadMetaTables } from "../../../runner/meta.ts";
import type { ProbeConfig, ProbeContext, ProbeDriver, Row } from "../../../runner/probe_api.ts";
import { parseYamlFile } from "../../../runner/yaml_file.ts";
import { compileBpf } from "../../ffi/build_fixture.ts";
import { FORK_GRACE_MS } from "../../../probes/tcp/kernel.ts";
import { removedAtExit } from "../../helpers/demarc.ts";

export const ROOT = new URL("../../..", import.meta.url).pathname.replace(/\/$/, "");
const TRAFFIC = `${ROOT}/tests/probes/tcp/tools/traffic.py`;

const builds = new Map<string, Promise<string>>();

/** A build dir holding `bpf/<probe>.bpf.o` compiled from the working tree. */
export function buildDirFor(probe: string): Promise<string> {
  let p = builds.get(probe);
  if (!p) {
    p = (async () => {
      const obj = await compileBpf(`${ROOT}/probes/${probe}/${probe}.bpf.c`, [
        `${ROOT}/probes/${probe}`,
        `${ROOT}/probes`,
      ]);
      const dir = removedAtExit(await Deno.makeTempDir({ prefix: `demarc-build-${probe}-` }));
      await Deno.mkdir(`${dir}/bpf`);
      await Deno.copyFile(obj, `${dir}/bpf/${probe}.bpf.o`);
      return dir;
    })();
    builds.set(probe, p);
  }
  return p;
}

/** A driver under test and what it emitted. */
export interface Harness {
  ctx: ProbeContext;
  driver: ProbeDriver;
  /** Latest rows per table. */
  latest: Map<string, Row[]>;
  logs: string[];
  /** Resolve with the first emitted rows of `table` satisfying `pred` (rejects after `ms`). */
  waitFor(table: string, pred: (rows: Row[]) => boolean, ms?: number): Promise<Row[]>;
  close(): Promise<void>;
}

/** Start the probe's real driver with a context from the real manifest and meta files. */
export async function startProbe(
  probe: string,
  config: ProbeConfig,
  pids: Set<number>,
  buildDir?: string,
): Promise<Harness> {
  const manifest = await parseYamlFile(`${ROOT}/probes/${probe}/probe.yaml`, manifestSchema);
  const all = await loadMetaTables(`${ROOT}/meta`);
  const tables = new Map(
    [...new Set(manifest.subprobes.flatMap((s) => s.tables))].map((t) => [t, all.get(t)!]),
  );
  const latest = new Map<string, Row[]>();
  const waiters = new Set<() => void>();
  const logs: string[] = [];
  const abort = new AbortController();
  const log = (lvl: string) => (msg: string, f?: Record<string, unknown>) =>
    logs.push(`${lvl} ${msg} ${JSON.stringify(f ?? {})}`);
  const ctx: ProbeContext = {
    manifest,
    tables,
    probeDir: `${ROOT}/probes/${probe}`,
    buildDir: buildDir ?? await buildDirFor(probe),
    // Benches start hundreds of drivers in one process: each one's dir goes at its close().
    stateDir: removedAtExit(await Deno.makeTempDir({ prefix: "demarc-state-" })),
    log: { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") },
    state: {
      get: () => Promise.resolve(undefined),
      set: () => Promise.resolve(),
      delete: () => Promise.resolve(),
      list: () => Promise.resolve([]),
    },
    emit(table, rows) {
      if (!tables.has(table)) throw new Error(`emitted undeclared table ${table}`);
      latest.set(table, rows);
      for (const w of [...waiters]) w();
    },
    signal: abort.signal,
  };
  const mod = await import(`${ROOT}/probes/${probe}/${manifest.driver}`);
  const driver: ProbeDriver = mod.default(ctx);
  await driver.start(config, pids);
  return {
    ctx,
    driver,
    latest,
    logs,
    waitFor(table, pred, ms = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const rows = latest.get(table);
          if (rows && pred(rows)) {
            clearTimeout(timer);
            waiters.delete(check);
            resolve(rows);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(
              `timed out waiting for ${table}; last rows: ${
                JSON.stringify(latest.get(table)?.slice(0, 5))
              }\n${logs.slice(-5).join("\n")}`,
            ),
          );
        }, ms);
        waiters.add(check);
        check();
      });
    },
    async close() {
      await driver.stop();
      abort.abort();
      await Deno.remove(ctx.stateDir, { recursive: true }).catch(() => {});
    },
  };
}

/** A probe config with the manifest's defaults, `probes` on and `params` overriding. */
/** Every supported sub-probe of a probe, in manifest order (so no test or bench repeats the list). */
export async function allSubprobes(probe: string): Promise<string[]> {
  const manifest = await parseYamlFile(`${ROOT}/probes/${probe}/probe.yaml`, manifestSchema);
  return manifest.subprobes.filter((s) => s.supported).map((s) => s.name);
}

export async function configFor(
  probe: string,
  probes: string[],
  params: Record<string, unknown> = {},
): Promise<ProbeConfig> {
  const manifest = await parseYamlFile(`${ROOT}/probes/${probe}/probe.yaml`, manifestSchema);
  const defaults = Object.fromEntries(
    Object.entries(manifest.params).map(([k, v]) => [k, v.default]),
  );
  const empty = { proc_id: [], proc_name: [], container_id: [], pod_id: [] };
  return {
    probes,
    snoopers: { ...empty },
    blacklist: { ...empty },
    params: { ...defaults, ...params } as ProbeConfig["params"],
    state: "running",
  };
}

/** Run a command; throw with its stderr when it fails. */
export async function sh(cmd: string, ...args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const td = new TextDecoder();
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")}: ${td.decode(out.stderr)}`);
  return td.decode(out.stdout);
}

let seq = 0;

/** Two network namespaces `a` (client side) and `b` (server side) joined by a veth. */
export class NetPair {
  private constructor(
    readonly a: string,
    readonly b: string,
    readonly ipA: string,
    readonly ipB: string,
    readonly vethA: string,
    readonly vethB: string,
  ) {}

  /** Create with names unique to this process, addresses in a /30 of 10.x.y.z. */
  static async create(): Promise<NetPair> {
    const n = seq++;
    const tag = `${(Deno.pid % 100000).toString(36)}${n}`;
    const a = `dmca${tag}`, b = `dmcb${tag}`, va = `dva${tag}`, vb = `dvb${tag}`;
    const x = (Deno.pid >> 8) & 0xff, y = ((Deno.pid & 0xff) + n * 7) & 0xff;
    const ipA = `10.${x}.${y}.1`, ipB = `10.${x}.${y}.2`;
    await sh("ip", "netns", "add", a);
    await sh("ip", "netns", "add", b);
    const p = new NetPair(a, b, ipA, ipB, va, vb);
    try {
      await sh("ip", "link", "add", va, "type", "veth", "peer", "name", vb);
      await sh("ip", "link", "set", va, "netns", a);
      await sh("ip", "link", "set", vb, "netns", b);
      await sh("ip", "-n", a, "addr", "add", `${ipA}/30`, "dev", va);
      await sh("ip", "-n", b, "addr", "add", `${ipB}/30`, "dev", vb);
      for (const [ns, dev] of [[a, va], [b, vb]]) {
        await sh("ip", "-n", ns, "link", "set", dev, "up");
        await sh("ip", "-n", ns, "link", "set", "lo", "up");
      }
    } catch (e) {
      await p.close();
      throw e;
    }
    return p;
  }

  /** Run a command inside `ns`. */
  exec(ns: string, ...args: string[]): Promise<string> {
    return sh("ip", "netns", "exec", ns, ...args);
  }

  /**
   * Drop on `ns`'s input the TCP segments to `port`: all of them, or `percent` of them at random.
   * In an nft table of its own (`table`, added once per namespace), gone with the namespace.
   */
  async dropInput(ns: string, table: string, port: number, percent?: number): Promise<void> {
    await this.exec(ns, "nft", `add table inet ${table}`);
    await this.exec(ns, "nft", `add chain inet ${table} in { type filter hook input priority 0; }`);
    const random = percent === undefined ? "" : ` numgen random mod 100 < ${percent}`;
    await this.exec(ns, "nft", `add rule inet ${table} in tcp dport ${port}${random} drop`);
  }

  /** Delete both namespaces (the veth goes with them). Safe to call twice. */
  async close(): Promise<void> {
    for (const ns of [this.a, this.b]) await sh("ip", "netns", "del", ns).catch(() => {});
  }

  /** `await using net = await NetPair.create()`: deleted also when the test's setup throws. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** A traffic process (tools/traffic.py) speaking JSON lines. */
export class Traffic {
  readonly #child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #lines: AsyncIterator<string>;
  pid = 0;
  /** The first line it printed (`ready`, and `port` for servers). */
  info: Record<string, unknown> = {};

  private constructor(child: Deno.ChildProcess) {
    this.#child = child;
    this.#writer = child.stdin.getWriter();
    this.#lines = child.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(lineSplitter())
      [Symbol.asyncIterator]();
  }

  /**
   * Spawn `traffic.py args...` in `ns` (or the host namespace). With `name`, the interpreter runs
   * through a symlink of that name, so the process's comm is `name`.
   */
  static async spawn(ns: string | undefined, args: string[], name?: string): Promise<Traffic> {
    const argv = [name ? await namedPython(name) : "python3", TRAFFIC, ...args];
    const cmd = ns
      ? new Deno.Command("ip", {
        args: ["netns", "exec", ns, ...argv],
        stdin: "piped",
        stdout: "piped",
        stderr: "null",
      })
      : new Deno.Command(argv[0], {
        args: argv.slice(1),
        stdin: "piped",
        stdout: "piped",
        stderr: "null",
      });
    const t = new Traffic(cmd.spawn());
    const first = await t.next();
    t.info = first;
    t.pid = Number(first.ready);
    return t;
  }

  /** Next JSON line. */
  async next(): Promise<Record<string, unknown>> {
    const r = await this.#lines.next();
    if (r.done) throw new Error("traffic process ended");
    return JSON.parse(r.value);
  }

  /** Send one line (a client starts on the first, closes its held sockets on the second). */
  async send(line = "go"): Promise<void> {
    await this.#writer.write(new TextEncoder().encode(line + "\n"));
  }

  /** Kill and reap. Safe to call twice. */
  async kill(): Promise<void> {
    try {
      this.#child.kill("SIGKILL");
    } catch { /* already gone */ }
    await this.#child.status;
    await this.#writer.close().catch(() => {});
  }

  /** `await using p = await Traffic.spawn(...)`: killed also when the test's setup throws. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.kill();
  }
}

let realPython: Promise<string> | undefined;
let linkDir: Promise<string> | undefined;

/** A symlink called `name` to the real python interpreter. */
async function namedPython(name: string): Promise<string> {
  realPython ??= sh("python3", "-c", "import os,sys; print(os.path.realpath(sys.executable))").then(
    (s) => s.trim(),
  );
  linkDir ??= Deno.makeTempDir({ prefix: "demarc-py-" }).then(removedAtExit);
  const path = `${await linkDir}/${name}`;
  await Deno.symlink(await realPython, path).catch((e) => {
    if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
  });
  return path;
}

function lineSplitter(): TransformStream<string, string> {
  let buf = "";
  return new TransformStream({
    transform(chunk, ctl) {
      buf += chunk;
      let i;
      while ((i = buf.indexOf("\n")) >= 0) {
        ctl.enqueue(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
    },
  });
}

/** Rows whose labels include all of `want`. */
export function rowsWith(rows: Row[] | undefined, want: Record<string, string | number>): Row[] {
  return (rows ?? []).filter((r) => Object.entries(want).every(([k, v]) => r.labels[k] === v));
}

/** Sleep. */
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A server and a client that, when told, forks a child which connects at once and sends 5,000
 * bytes (`--fork`), in a new namespace pair; comms `<tag>-srv` and `<tag>-cli`.
 */
export async function forkingClient(port: number, tag: string) {
  const net = await NetPair.create();
  const srv = await Traffic.spawn(net.b, ["server", String(port)], `${tag}-srv`);
  const parent = await Traffic.spawn(
    net.a,
    ["client", net.ipB, String(port), "--bytes", "5000", "--hold", "--fork"],
    `${tag}-cli`,
  );
  let child = 0;
  return {
    net,
    srv,
    parent,
    /** Forks the child; its pid, once it has connected. */
    async fork(): Promise<number> {
      await parent.send();
      // Parent and child share the output pipe: the child's line may come first.
      const lines = [await parent.next(), await parent.next()];
      child = Number(lines.find((l) => "forked" in l)?.forked);
      if (!lines.some((l) => l.connected === 1)) {
        throw new Error(`child ${child} did not connect: ${JSON.stringify(lines)}`);
      }
      return child;
    },
    async close(): Promise<void> {
      if (child) {
        try {
          Deno.kill(child, "SIGKILL");
        } catch { /* gone */ }
      }
      await parent.kill();
      await srv.kill();
      await net.close();
    },
  };
}

/**
 * A child added at fork is watched by the kernel alone (the runner's snoopers never matched it)
 * until the grace has passed, then dropped.
 */
export async function assertForkedDroppedAfterGrace(h: Harness): Promise<void> {
  const forked = () => (h.driver.status!().details as Record<string, number>).forkedPids;
  if (forked() !== 1) {
    throw new Error(`forkedPids ${forked()}: the child should be watched since its fork`);
  }
  // The same, exported: a report after this point shows the child (reports come every period).
  const exported = (rows: Row[] | undefined) => rows?.[0]?.values as Record<string, number>;
  const before = exported(
    await h.waitFor("tcp_probe_health", (r) => exported(r)?.forked_pids === 1),
  );
  if (!(before.forks_followed >= 1)) {
    throw new Error(
      `tcp_probe_health ${JSON.stringify(before)}: forks_followed should count the fork`,
    );
  }
  await sleep(FORK_GRACE_MS + 1500);
  if (forked() !== 0) {
    throw new Error(`forkedPids ${forked()} after the grace: the child should be dropped`);
  }
  const last = h.latest.get("tcp_probe_health");
  const after = exported(
    await h.waitFor("tcp_probe_health", (r) => r !== last),
  );
  if (after.forked_pids !== 0 || after.forks_followed !== before.forks_followed) {
    throw new Error(
      `tcp_probe_health ${
        JSON.stringify(after)
      } after the grace: forked_pids 0, forks_followed unchanged`,
    );
  }
}
