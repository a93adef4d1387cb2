/**
 * Another revision's source next to this tree's, for benchmarks that run both in one process
 * (old and new side by side on one JIT and one load).
 *
 * @module
 */

import { ROOT } from "../tests/probes/tcp/harness.ts";

/**
 * Extract `paths` of revision `rev` of this repository into a new temporary directory (with
 * `git archive`); modules imported from there use only relative and built-in imports.
 *
 * @returns the directory, laid out as the repository
 * @throws Error when git or tar fails (with the reason)
 */
export async function extractRevision(rev: string, paths: string[]): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "demarc-base-" });
  const tar = `${dir}.tar`;
  const r = await new Deno.Command("git", {
    args: ["-C", ROOT, "archive", "-o", tar, rev, ...paths],
    stderr: "piped",
  }).output();
  if (!r.success) {
    throw new Error(
      `git archive ${rev} failed: ${new TextDecoder().decode(r.stderr)}; hint: --base names a ` +
        "commit of this repository",
    );
  }
  try {
    const x = await new Deno.Command("tar", { args: ["-xf", tar, "-C", dir], stderr: "piped" })
      .output();
    if (!x.success) {
      throw new Error(`tar -xf ${tar} failed: ${new TextDecoder().decode(x.stderr)}`);
    }
  } finally {
    await Deno.remove(tar);
  }
  return dir;
}
