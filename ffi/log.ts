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
// Verifier logs arrive in one call and can be megabytes long, and a va_list cannot be replayed:
// vasprintf formats into a buffer of the right size (malloc'd, freed at once), where a fixed buffer
// would either cut a log's tail (where the verifier says what failed) or hold megabytes for good.
const resultPtr = new BigUint64Array(1);

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
      if (libc().vasprintf(resultPtr, fmt, ap) < 0) return 0; // out of memory: line lost
      const p = Deno.UnsafePointer.create(resultPtr[0]);
      let text: string;
      try {
        text = Deno.UnsafePointerView.getCString(p!);
      } finally {
        libc().free(p);
      }
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
