/**
 * Compiles a test's BPF C fixture with the same flags as `scripts/build.ts`, into a temp dir.
 *
 * @module
 */
import { removedAtExit } from "../helpers/demarc.ts";

const root = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");

async function run(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const td = new TextDecoder();
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")}: ${td.decode(out.stderr)}`);
  return td.decode(out.stdout);
}

let vmlinuxDir: Promise<string> | undefined;

/** A directory holding `vmlinux.h`: `build/` when built, else generated once into a temp dir. */
export function vmlinuxInclude(): Promise<string> {
  vmlinuxDir ??= (async () => {
    try {
      await Deno.stat(`${root}/build/vmlinux.h`);
      return `${root}/build`;
    } catch {
      const dir = removedAtExit(await Deno.makeTempDir({ prefix: "demarc-vmlinux-" }));
      const h = await run("bpftool", [
        "btf",
        "dump",
        "file",
        "/sys/kernel/btf/vmlinux",
        "format",
        "c",
      ]);
      await Deno.writeTextFile(`${dir}/vmlinux.h`, h);
      return dir;
    }
  })();
  return vmlinuxDir;
}

/** Compile `src` (absolute) to a `.bpf.o` in a temp dir and return its path. */
export async function compileBpf(src: string, includes: string[] = []): Promise<string> {
  const dir = removedAtExit(await Deno.makeTempDir({ prefix: "demarc-bpf-" }));
  const out = `${dir}/${src.replace(/^.*\//, "").replace(/\.c$/, ".o")}`;
  await run("clang", [
    "-target",
    "bpf",
    "-g",
    "-O2",
    // v3: 32-bit atomics (tcp.bpf.c compare-and-swaps conn_info.listed); kernels >= 5.12
    "-mcpu=v3",
    "-D__TARGET_ARCH_x86",
    "-I",
    await vmlinuxInclude(),
    ...includes.flatMap((i) => ["-I", i]),
    "-Wall",
    "-Werror",
    "-c",
    src,
    "-o",
    out,
  ]);
  return out;
}

/** Absolute path of a fixture in tests/ffi/fixtures. */
export function fixture(name: string): string {
  return `${root}/tests/ffi/fixtures/${name}`;
}
