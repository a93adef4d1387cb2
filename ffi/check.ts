/**
 * Pointer results: libbpf returns NULL and sets errno; {@link ptrOrThrow} turns that into a
 * {@link BpfError} through the same path as {@link unwrap}.
 *
 * @module
 */

import { unwrap } from "./errors.ts";
import { libbpf } from "./symbols.ts";

/**
 * Return `p`, or throw the errno libbpf left behind when it is NULL.
 *
 * @throws {BpfError}
 */
export function ptrOrThrow(
  op: string,
  p: Deno.PointerValue,
  detail?: () => string | undefined,
): Deno.PointerObject {
  if (p) return p;
  const err = Number(libbpf().libbpf_get_error(null));
  unwrap(op, err < 0 ? err : -22, detail);
  throw new Error("unreachable: unwrap throws on negative values");
}
