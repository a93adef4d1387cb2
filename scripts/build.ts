/**
 * `deno task build`: compiles every probe's BPF objects and the Java modules into `build/`.
 *
 * - `build/vmlinux.h` from the running kernel's BTF (bpftool), for CO-RE C.
 * - `build/bpf/<stem>.bpf.o` for every `probes/<name>/<stem>.bpf.c` and `runner/<stem>.bpf.c`
 *   (clang -target bpf).
 * - `build/java/*.jar` from `java/` (Maven), when `java/pom.xml` exists.
 *
 * Flags: `--bpf-only`, `--java-only`, `--with-java-tests` (run the JUnit tests while packaging;
 * failures are left in the surefire reports for `tests/run_all.ts` to count).
 *
 * @module
 */

import { run } from "./run.ts";

const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const build = `${root}/build`;
const args = new Set(Deno.args);

async function buildBpf(): Promise<void> {
  await Deno.mkdir(`${build}/bpf`, { recursive: true });
  const vmlinux = `${build}/vmlinux.h`;
  const btf = await run("bpftool", [
    "btf",
    "dump",
    "file",
    "/sys/kernel/btf/vmlinux",
    "format",
    "c",
  ], {
    hint:
      "install bpftool (apt-get install bpftool) and check /sys/kernel/btf/vmlinux exists (kernel built with BTF)",
  });
  await Deno.writeTextFile(vmlinux, btf);
  const arch = Deno.build.arch === "aarch64" ? "arm64" : "x86";
  const dirs = [`${root}/runner`];
  for await (const probe of Deno.readDir(`${root}/probes`)) {
    if (probe.isDirectory) dirs.push(`${root}/probes/${probe.name}`);
  }
  for (const dir of dirs) {
    for await (const f of Deno.readDir(dir)) {
      if (!f.name.endsWith(".bpf.c")) continue;
      const out = `${build}/bpf/${f.name.replace(/\.c$/, ".o")}`;
      await run("clang", [
        "-target",
        "bpf",
        "-g",
        "-O2",
        // v3: 32-bit atomics (tcp.bpf.c compare-and-swaps conn_info.listed); kernels >= 5.12
        "-mcpu=v3",
        `-D__TARGET_ARCH_${arch}`,
        "-I",
        build,
        "-I",
        dir,
        "-I",
        `${root}/probes`,
        "-Wall",
        "-Werror",
        "-c",
        `${dir}/${f.name}`,
        "-o",
        out,
      ], { hint: "install clang and libbpf-dev (apt-get install clang libbpf-dev)" });
      // DWARF is for humans; libbpf needs only .BTF/.BTF.ext, which -g keeps. The runner keeps each
      // object in memory while it is open, so this is resident memory (792 KB -> 139 KB for tcp).
      await run("llvm-strip", ["-g", out], { hint: "install llvm (apt-get install llvm)" });
      console.log(`built ${out}`);
    }
  }
}

async function buildJava(): Promise<void> {
  const pom = `${root}/java/pom.xml`;
  try {
    await Deno.stat(pom);
  } catch {
    return;
  }
  await Deno.mkdir(`${build}/java`, { recursive: true });
  const testFlags = args.has("--with-java-tests")
    ? ["-Dmaven.test.failure.ignore=true"]
    : ["-DskipTests"];
  await run("mvn", ["-q", "-B", "-f", pom, ...testFlags, "package"], {
    hint: "Maven must reach Maven Central; see the output above",
    inherit: true,
  });
  for await (const mod of Deno.readDir(`${root}/java`)) {
    if (!mod.isDirectory) continue;
    const target = `${root}/java/${mod.name}/target`;
    try {
      for await (const f of Deno.readDir(target)) {
        // Modules name their deliverable demarc-*.jar (finalName); others are intermediates.
        if (/^demarc-[\w-]+\.jar$/.test(f.name)) {
          await Deno.copyFile(`${target}/${f.name}`, `${build}/java/${f.name}`);
          console.log(`built ${build}/java/${f.name}`);
        }
      }
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
}

if (!args.has("--java-only")) await buildBpf();
if (!args.has("--bpf-only")) await buildJava();
