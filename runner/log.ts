/**
 * A small structured logger: one line per event, `level msg key=value...`, to stderr.
 *
 * @module
 */

import type { Logger } from "./probe_api.ts";

export const LEVELS = ["debug", "info", "warn", "error"] as const;
export type Level = typeof LEVELS[number];

function formatValue(v: unknown): string {
  if (v instanceof Error) return JSON.stringify(v.message);
  if (typeof v === "string") return /^[\w./:@-]+$/.test(v) ? v : JSON.stringify(v);
  return JSON.stringify(v) ?? String(v);
}

/**
 * Create a logger writing lines at or above `level`.
 *
 * @param level minimum level printed
 * @param scope prefix naming the component (e.g. `probe=tcp`)
 */
export function createLogger(level: Level, scope: Record<string, string> = {}): Logger & {
  child(scope: Record<string, string>): ReturnType<typeof createLogger>;
} {
  const min = LEVELS.indexOf(level);
  const enc = new TextEncoder();
  const write = (lvl: Level, msg: string, fields?: Record<string, unknown>) => {
    if (LEVELS.indexOf(lvl) < min) return;
    const all = { ...scope, ...fields };
    const kv = Object.entries(all).map(([k, v]) => `${k}=${formatValue(v)}`).join(" ");
    const line = `${new Date().toISOString()} ${lvl.toUpperCase().padEnd(5)} ${msg}${
      kv ? " " + kv : ""
    }\n`;
    Deno.stderr.writeSync(enc.encode(line));
  };
  return {
    debug: (m, f) => write("debug", m, f),
    info: (m, f) => write("info", m, f),
    warn: (m, f) => write("warn", m, f),
    error: (m, f) => write("error", m, f),
    child: (s) => createLogger(level, { ...scope, ...s }),
  };
}
