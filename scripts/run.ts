/**
 * Running a build tool with an argument vector, failing with the tool's output and a hint.
 *
 * @module
 */

/** A build step failed. */
export class CommandError extends Error {
  override name = "CommandError";
}

/**
 * Run `cmd args...` and return its stdout.
 *
 * @throws {CommandError} when it cannot start or exits non-zero; the message has stderr and `hint`.
 */
export async function run(
  cmd: string,
  args: string[],
  opts: { hint?: string; inherit?: boolean; cwd?: string; env?: Record<string, string> } = {},
): Promise<string> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(cmd, {
      args,
      cwd: opts.cwd,
      env: opts.env,
      stdout: opts.inherit ? "inherit" : "piped",
      stderr: opts.inherit ? "inherit" : "piped",
    }).output();
  } catch (e) {
    throw new CommandError(
      `cannot start ${cmd}: ${(e as Error).message}${opts.hint ? ` (hint: ${opts.hint})` : ""}`,
      {
        cause: e,
      },
    );
  }
  if (!out.success) {
    const err = opts.inherit ? "" : new TextDecoder().decode(out.stderr).trim();
    throw new CommandError(
      `${cmd} ${args.join(" ")} exited with ${out.code}${err ? `:\n${err}` : ""}${
        opts.hint ? `\nhint: ${opts.hint}` : ""
      }`,
    );
  }
  return opts.inherit ? "" : new TextDecoder().decode(out.stdout);
}
