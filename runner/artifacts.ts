/**
 * Build artifacts (BPF objects, jars) at a path other processes can read.
 *
 * In the executable made by `deno compile`, `build/` lives in Deno's embedded file system: Deno
 * itself reads it, but `java -jar` and a target JVM cannot. So a compiled demarc copies the
 * artifacts under its state dir once at start-up and uses that copy.
 *
 * @module
 */

/** Is this process the executable made by `deno compile`? */
export function isCompiled(): boolean {
  return Deno.mainModule.includes("/deno-compile-");
}

/**
 * The build dir to hand to probes: `buildDir` itself, or when `compiled`, a real copy of it
 * at `<stateDir>/build` (files rewritten only when their size differs).
 */
export async function materializeBuild(
  buildDir: string,
  stateDir: string,
  compiled = isCompiled(),
): Promise<string> {
  if (!compiled) return buildDir;
  const out = `${stateDir}/build`;
  for (const sub of ["bpf", "java"]) {
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(`${buildDir}/${sub}`)];
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) continue;
      throw e;
    }
    await Deno.mkdir(`${out}/${sub}`, { recursive: true });
    for (const e of entries) {
      if (!e.isFile) continue;
      const src = `${buildDir}/${sub}/${e.name}`;
      const dst = `${out}/${sub}/${e.name}`;
      const size = (await Deno.stat(src)).size;
      const existing = await Deno.stat(dst).catch(() => undefined);
      if (existing?.size === size) continue;
      const part = `${dst}.${crypto.randomUUID()}`;
      await Deno.writeFile(part, await Deno.readFile(src), { mode: 0o644 });
      await Deno.rename(part, dst);
    }
  }
  return out;
}
