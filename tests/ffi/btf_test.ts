import { assertEquals, assertThrows } from "./assert.ts";
import { BpfError, kernelStructMembers } from "../../ffi/libbpf.ts";

/** The members of `struct name` as bpftool prints the kernel's BTF (the reference). */
async function bpftoolMembers(name: string): Promise<string[]> {
  const out = await new Deno.Command("bpftool", {
    args: ["btf", "dump", "file", "/sys/kernel/btf/vmlinux", "format", "raw"],
    stdout: "piped",
  }).output();
  const lines = new TextDecoder().decode(out.stdout).split("\n");
  const start = lines.findIndex((l) => new RegExp(`^\\[\\d+\\] STRUCT '${name}' `).test(l));
  const members: string[] = [];
  for (const l of lines.slice(start + 1)) {
    const m = /^\t'([^']*)' type_id=/.exec(l);
    if (!m) break;
    members.push(m[1] === "(anon)" ? "" : m[1]); // an anonymous union's member has no name
  }
  return members;
}

Deno.test("a kernel struct's members read through libbpf's BTF equal bpftool's dump", async () => {
  for (const name of ["tcp_sock", "sock_common"]) {
    const expected = await bpftoolMembers(name);
    assertEquals(expected.length > 10, true, `bpftool listed ${name}`);
    assertEquals(kernelStructMembers(name), expected);
  }
});

Deno.test("a struct the kernel does not have is a BpfError naming it", () => {
  const e = assertThrows(() => kernelStructMembers("demarc_no_such_struct"), BpfError);
  assertEquals(e.message.includes("struct demarc_no_such_struct"), true, e.message);
});
