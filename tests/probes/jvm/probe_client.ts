/**
 * Steering the JVM probe of a real demarc process from tests: PUT /sermant, wait for agents to
 * connect, read L7 series from /metrics.
 *
 * @module
 */

import { type Demarc, parseMetrics, waitFor } from "../../helpers/demarc.ts";

/** One JVM's entry in `GET /sermant` → status.driver.details.jvms. */
export interface JvmStatus {
  comm: string;
  state: string;
  error?: string;
  reconnected?: boolean;
  agentVersion?: string;
  instrumentations?: Array<{ name: string; active: boolean; reason?: string }>;
  reports: number;
  internalErrors?: number;
  lastInternalError?: string;
}

/** The JVM probe's view of every watched pid. */
export async function jvmStatuses(d: Demarc): Promise<Record<string, JvmStatus>> {
  const doc = await d.get<
    { status?: { driver?: { details?: { jvms?: Record<string, JvmStatus> } } } }
  >("/sermant");
  return doc.status?.driver?.details?.jvms ?? {};
}

/**
 * Watch `pids` with the given sub-probes (all three by default) and a 5 s report period.
 *
 * @throws {Error} when the API refuses the config
 */
export async function watch(
  d: Demarc,
  pids: number[],
  o: {
    probes?: string[];
    params?: Record<string, unknown>;
    state?: "running" | "stopped";
    /** gala-gopher style snoopers instead of `proc_id: pids`. */
    snoopers?: Record<string, unknown>;
  } = {},
): Promise<void> {
  const r = await d.put("/sermant", {
    cmd: { probe: o.probes ?? ["l7_rpc_metrics", "l7_bytes_metrics", "l7_rpc_trace"] },
    snoopers: o.snoopers ?? { proc_id: pids },
    params: { report_period: 5, trace_sample_ratio: 1, ...o.params },
    state: o.state ?? "running",
  });
  if (r.status !== 200) {
    throw new Error(`PUT /sermant answered ${r.status}: ${JSON.stringify(r.body)}`);
  }
}

/**
 * Wait until every pid's agent is connected; returns their statuses. The agent starts measuring
 * once it has applied the CONFIG the runner sends right after HELLO, a few ms later: allow for it.
 */
export async function waitConnected(
  d: Demarc,
  pids: number[],
  timeoutMs = 60_000,
): Promise<Record<string, JvmStatus>> {
  const s = await waitForConnected(d, pids, timeoutMs);
  await new Promise((r) => setTimeout(r, 300));
  return s;
}

function waitForConnected(
  d: Demarc,
  pids: number[],
  timeoutMs = 60_000,
): Promise<Record<string, JvmStatus>> {
  return waitFor(
    async () => {
      const s = await jvmStatuses(d);
      for (const p of pids) {
        const st = s[String(p)];
        if (st?.state === "failed") {
          throw new Error(
            `attach to ${p} failed: ${st.error}\n${d.log().slice(-3000)}`,
          );
        }
        if (st?.state !== "connected") return undefined;
      }
      return s;
    },
    timeoutMs,
    `agents connected in ${pids.join(", ")}`,
  ).catch((e) => {
    throw new Error(`${e.message}\n--- demarc log ---\n${d.log().slice(-4000)}`);
  });
}

/** Sum of every sample of metric `name` whose labels include `match`. */
export async function metricSum(
  d: Demarc,
  name: string,
  match: Record<string, string | number>,
): Promise<number> {
  const samples = parseMetrics(await d.scrape());
  let sum = 0;
  for (const s of samples) {
    if (s.name !== name) continue;
    if (Object.entries(match).every(([k, v]) => s.labels[k] === String(v))) sum += s.value;
  }
  return sum;
}

/** Labels of every series of `name` matching `match`. */
export async function series(d: Demarc, name: string, match: Record<string, string | number>) {
  return parseMetrics(await d.scrape()).filter((s) =>
    s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === String(v))
  );
}

/**
 * What the runner knows of the agents in `pids`, for a failing test's message: each one's state,
 * reports received, active instrumentations and the `demarc_l7_agent_*` series (internal errors,
 * dropped frames), then the runner's log lines that name one of the pids.
 */
export async function agentState(d: Demarc, pids: number[]): Promise<string> {
  const lines: string[] = [];
  try {
    const statuses = await jvmStatuses(d);
    const samples = parseMetrics(await d.scrape());
    for (const pid of pids) {
      const st = statuses[String(pid)];
      const active = st?.instrumentations?.filter((i) => i.active).map((i) => i.name) ?? [];
      lines.push(
        `pid ${pid}: state ${st?.state ?? "unknown"}, reports ${st?.reports ?? 0}, ` +
          `reconnected ${st?.reconnected ?? false}, active [${active.join(",")}], ` +
          `internal errors ${st?.internalErrors ?? 0}` +
          (st?.lastInternalError ? ` (last: ${st.lastInternalError})` : "") +
          (st?.error ? `, error ${st.error}` : ""),
      );
      const agent = samples.filter((s) =>
        s.name.startsWith("demarc_l7_agent_") && s.labels.tgid === String(pid)
      );
      lines.push("  " + agent.map((s) => `${s.name.slice(16)}=${s.value}`).join(" "));
    }
  } catch (e) {
    lines.push(`(could not read the runner's state: ${(e as Error).message})`);
  }
  const named = d.log().split("\n").filter((l) => pids.some((p) => l.includes(String(p))));
  lines.push("runner log lines naming them:", ...named.slice(-30));
  return lines.join("\n");
}

/** Wait until `metricSum(...)` reaches at least `want`; returns the value seen. */
export function waitMetric(
  d: Demarc,
  name: string,
  match: Record<string, string | number>,
  want: number,
  timeoutMs = 20_000,
): Promise<number> {
  let last = 0;
  return waitFor(
    async () => {
      last = await metricSum(d, name, match);
      return last >= want ? last : undefined;
    },
    timeoutMs,
    `${name}${JSON.stringify(match)} >= ${want}`,
  ).catch((e) => {
    throw new Error(`${e.message} (last value ${last})`);
  });
}
