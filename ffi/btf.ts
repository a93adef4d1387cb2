/**
 * Questions about the running kernel's types, from its BTF (`/sys/kernel/btf/vmlinux`): a CO-RE
 * program guards a field newer kernels added with `bpf_core_field_exists`, and user space asks
 * here whether the value it reads is the kernel's or the guard's zero.
 *
 * @module
 */

import { ptrOrThrow } from "./check.ts";
import { unwrap } from "./errors.ts";
import { libbpf } from "./symbols.ts";

const BTF_KIND_STRUCT = 4;
/** `struct btf_type`: name_off, info (vlen in its low 16 bits), size; then vlen members. */
const TYPE_HEADER_BYTES = 12;
/** `struct btf_member`: name_off, type, offset. */
const MEMBER_BYTES = 12;

/**
 * The member names of a kernel struct, in order (only its own members: those of a nested
 * anonymous struct or union are not listed).
 *
 * @throws {BpfError} when the kernel has no BTF (the hint names the kernel option) or has no
 *   struct of that name
 */
export function kernelStructMembers(struct: string): string[] {
  const lib = libbpf();
  const btf = ptrOrThrow(
    "btf__load_vmlinux_btf (hint: the kernel needs CONFIG_DEBUG_INFO_BTF=y)",
    lib.btf__load_vmlinux_btf(),
  );
  try {
    const id = unwrap(
      `btf__find_by_name_kind(struct ${struct}) (no such struct in this kernel)`,
      lib.btf__find_by_name_kind(btf, new TextEncoder().encode(struct + "\0"), BTF_KIND_STRUCT),
    );
    const type = new Deno.UnsafePointerView(
      ptrOrThrow(`btf__type_by_id(${id})`, lib.btf__type_by_id(btf, id)),
    );
    const vlen = type.getUint32(4) & 0xffff;
    const names: string[] = [];
    for (let i = 0; i < vlen; i++) {
      const nameOff = type.getUint32(TYPE_HEADER_BYTES + i * MEMBER_BYTES);
      const name = lib.btf__name_by_offset(btf, nameOff);
      names.push(name ? Deno.UnsafePointerView.getCString(name) : "");
    }
    return names;
  } finally {
    lib.btf__free(btf);
  }
}
