/**
 * Running the attach helper (`java -jar demarc-attach.jar attach|check|detach --pid N`) with an
 * argument vector, never a shell. The agent arguments (with the secret) go on stdin, so no other
 * user can read them from a command line. The helper answers one JSON line `{"ok":..}`.
 *
 * @module
 */

/** The helper's answer. */
export interface HelperResult {
  ok: boolean;
  /** Why it failed, from the helper (or from running it). */
  error?: string;
  /** Everything the helper said in its JSON line. */
  answer: Record<string, unknown>;
}

/** The helper could not be run at all (java or the jar missing, or it timed out). */
export class AttachHelperError extends Error {
  override name = "AttachHelperError";
}

/** How to run the helper. */
export interface HelperOptions {
  /** The `java` executable (default: `$JAVA_HOME/bin/java`, else `java` on PATH). */
  java?: string;
  /** Path of demarc-attach.jar. */
  jar: string;
  timeoutMs: number;
}

/** Pick the java executable the helper runs on. */
export function defaultJava(): string {
  const home = Deno.env.get("JAVA_HOME");
  return home ? `${home}/bin/java` : "java";
}

/**
 * Run one helper command.
 *
 * @param o how to run it
 * @param args e.g. `["attach", "--pid", "123", "--agent", jar]`
 * @param stdin text written to the helper's stdin (agent arguments), or undefined
 * @returns the helper's JSON answer; `ok:false` with `error` when it refused or failed
 * @throws {AttachHelperError} when java or the jar cannot be run, or the helper overruns the timeout
 */
export async function runHelper(
  o: HelperOptions,
  args: string[],
  stdin?: string,
): Promise<HelperResult> {
  try {
    await Deno.stat(o.jar);
  } catch (e) {
    throw new AttachHelperError(
      `attach helper ${o.jar} not found (hint: run \`deno task build --java-only\`)`,
      {
        cause: e,
      },
    );
  }
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(o.java ?? defaultJava(), {
      args: ["-XX:TieredStopAtLevel=1", "-Xshare:auto", "-jar", o.jar, ...args],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (e) {
    throw new AttachHelperError(
      `cannot run ${o.java ?? defaultJava()}: ${
        (e as Error).message
      } (hint: install a JDK 17+ or set JAVA_HOME)`,
      { cause: e },
    );
  }
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(stdin ? `${stdin}\n` : "")).catch(() => {});
  await writer.close().catch(() => {});
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<"timeout">((resolve) =>
    timer = setTimeout(() => resolve("timeout"), o.timeoutMs)
  );
  const out = await Promise.race([child.output(), timedOut]);
  clearTimeout(timer);
  if (out === "timeout") {
    try {
      child.kill("SIGKILL");
    } catch { /* exited meanwhile */ }
    await child.status.catch(() => {});
    throw new AttachHelperError(
      `attach helper \`${args[0]}\` did not finish within ${o.timeoutMs} ms`,
    );
  }
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr).trim();
  const answer = lastJsonLine(stdout);
  if (!answer) {
    const said = (stderr || stdout).trim().split("\n").slice(-3).join(" | ");
    return {
      ok: false,
      error: `attach helper exited with code ${out.code} without a JSON answer${
        said ? `: ${said}` : ""
      }`,
      answer: {},
    };
  }
  const ok = answer.ok === true;
  const error = ok
    ? undefined
    : String(answer.error ?? answer.reason ?? answer.message ?? "refused without a reason");
  return { ok, error, answer };
}

function lastJsonLine(text: string): Record<string, unknown> | undefined {
  const lines = text.split("\n").map((l) => l.trim()).filter((l) => l.startsWith("{"));
  for (let i = lines.length - 1; i >= 0; i--) {
    try {
      const v = JSON.parse(lines[i]);
      if (v && typeof v === "object" && !Array.isArray(v)) return v as Record<string, unknown>;
    } catch { /* not JSON: keep looking */ }
  }
  return undefined;
}
