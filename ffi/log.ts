/**
 * libbpf's log (including verifier logs) captured through `libbpf_set_print`.
 *
 * Lines are kept in a small ring so a failed load can quote the verifier's reasons, and passed to
 * a sink the caller chooses (default: warnings to stderr, debug dropped).
 *
 * @module
 */

import { libbpf } from "./symbols.ts";
import { libc } from "./libc.ts";

/** libbpf log levels (`enum libbpf_print_level`). */
export type LibbpfLevel = "warn" | "info" | "debug";
const LEVELS: LibbpfLevel[] = ["warn", "info", "debug"];

/** Receives each libbpf log line. */
export type LibbpfSink = (level: LibbpfLevel, line: string) => void;

const RING = 200;
const recent: string[] = [];
let sink: LibbpfSink = (level, line) => {
  if (level === "warn") console.error(line.startsWith("libbpf:") ? line : `libbpf: ${line}`);
};
// int (*libbpf_print_fn_t)(enum libbpf_print_level level, const char *fmt, va_list ap)
const PRINT_FN = { parameters: ["i32", "pointer", "pointer"], result: "i32" } as const;
let callback: Deno.UnsafeCallback<typeof PRINT_FN> | undefined;
// Verifier logs arrive in one call and can be megabytes long; va_list cannot be replayed.
let buf: Uint8Array<ArrayBuffer> | undefined;

/** Route libbpf's log lines to `fn` (installs the print hook on first call). */
export function setLibbpfSink(fn: LibbpfSink): void {
  sink = fn;
  installLibbpfLog();
}

/** Install the print hook (idempotent). Only x86_64 passes `va_list` as a plain pointer. */
export function installLibbpfLog(): void {
  if (callback || Deno.build.arch !== "x86_64") return;
  const cb = new Deno.UnsafeCallback(
    PRINT_FN,
    (level, fmt, ap) => {
      buf ??= new Uint8Array(1 << 22);
      const n = libc().vsnprintf(buf, BigInt(buf.length), fmt, ap);
      const text = new TextDecoder().decode(
        buf.subarray(0, Math.min(Math.max(n, 0), buf.length - 1)),
      );
      for (const line of text.split("\n")) {
        if (!line) continue;
        recent.push(line);
        if (recent.length > RING) recent.shift();
        sink(LEVELS[level] ?? "debug", line);
      }
      return 0;
    },
  );
  callback = cb;
  libbpf().libbpf_set_print(cb.pointer);
}

/** Marks the log position; {@link logSince} returns the lines after it. */
export function logMark(): number {
  return recent.length === RING ? -1 : recent.length;
}

/** The log lines since `mark` (or the last 40 when the ring wrapped), joined. */
export function logSince(mark: number, maxLines = 40): string {
  const lines = mark < 0 ? recent : recent.slice(mark);
  return lines.slice(-maxLines).join("\n");
}
