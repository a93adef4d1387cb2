/**
 * The agent's core classes compiled with one of its bench classes (`javac` only: the core needs
 * nothing but the JDK), for this tree and optionally another revision, so a bench can run both
 * builds side by side.
 *
 * @module
 */

import { extractRevision } from "./base_revision.ts";

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const CORE = "java/agent/src/main/java/io/demarc/agent/core";

/** A build of the core: its name ("this tree" or the revision) and its class dir. */
export interface CoreBuild {
  name: string;
  classes: string;
}

/**
 * Runs `cmd` and returns its stdout.
 *
 * @throws Error with the command and its stderr when it fails
 */
export async function run(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return new TextDecoder().decode(out.stdout);
}

/** Compiles the agent core under `root` with this tree's `benchClass` (a path from the repository's root). */
async function compile(root: string, benchClass: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "demarc-core-build-" });
  const sources = [...Deno.readDirSync(`${root}/${CORE}`)]
    .filter((e) => e.name.endsWith(".java"))
    .map((e) => `${root}/${CORE}/${e.name}`);
  await run("javac", ["-nowarn", "-d", dir, ...sources, `${ROOT}/${benchClass}`]);
  return dir;
}

/** This tree's core and, with `base`, that revision's, each compiled with `benchClass`. */
export async function coreBuilds(benchClass: string, base?: string): Promise<CoreBuild[]> {
  const builds = [{ name: "this tree", classes: await compile(ROOT, benchClass) }];
  if (base) {
    const src = await extractRevision(base, [CORE]);
    try {
      builds.push({ name: base, classes: await compile(src, benchClass) });
    } finally {
      await Deno.remove(src, { recursive: true });
    }
  }
  return builds;
}

/** Removes the builds' class dirs. */
export async function removeBuilds(builds: CoreBuild[]): Promise<void> {
  for (const b of builds) await Deno.remove(b.classes, { recursive: true });
}
