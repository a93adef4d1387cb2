/**
 * The libbpf symbol table (one place) and the lazily opened library.
 *
 * Each parameter carries its C type in a comment. Symbols newer than libbpf 1.1 are
 * `optional: true`: they are `null` when the installed library lacks them.
 *
 * @module
 */

import { LibbpfLoadError } from "./errors.ts";

/** libbpf entry points demarc uses, with their C signatures. */
export const LIBBPF_SYMBOLS = {
  // struct bpf_object *bpf_object__open_mem(const void *obj_buf, size_t obj_buf_sz,
  //                                         const struct bpf_object_open_opts *opts)
  bpf_object__open_mem: { parameters: ["buffer", "usize", "buffer"], result: "pointer" },
  // int bpf_object__load(struct bpf_object *obj)
  bpf_object__load: { parameters: ["pointer"], result: "i32" },
  // void bpf_object__close(struct bpf_object *obj)
  bpf_object__close: { parameters: ["pointer"], result: "void" },
  // struct bpf_program *bpf_object__find_program_by_name(const struct bpf_object *, const char *name)
  bpf_object__find_program_by_name: { parameters: ["pointer", "buffer"], result: "pointer" },
  // struct bpf_map *bpf_object__find_map_by_name(const struct bpf_object *, const char *name)
  bpf_object__find_map_by_name: { parameters: ["pointer", "buffer"], result: "pointer" },
  // struct bpf_program *bpf_object__next_program(const struct bpf_object *, struct bpf_program *prev)
  bpf_object__next_program: { parameters: ["pointer", "pointer"], result: "pointer" },
  // struct bpf_map *bpf_object__next_map(const struct bpf_object *, const struct bpf_map *prev)
  bpf_object__next_map: { parameters: ["pointer", "pointer"], result: "pointer" },

  // const char *bpf_program__name(const struct bpf_program *prog)
  bpf_program__name: { parameters: ["pointer"], result: "pointer" },
  // int bpf_program__set_autoload(struct bpf_program *prog, bool autoload)
  bpf_program__set_autoload: { parameters: ["pointer", "bool"], result: "i32" },
  // bool bpf_program__autoload(const struct bpf_program *prog)
  bpf_program__autoload: { parameters: ["pointer"], result: "bool" },
  // int bpf_program__fd(const struct bpf_program *prog)
  bpf_program__fd: { parameters: ["pointer"], result: "i32" },
  // struct bpf_link *bpf_program__attach(const struct bpf_program *prog)
  bpf_program__attach: { parameters: ["pointer"], result: "pointer" },
  // struct bpf_link *bpf_program__attach_tracepoint(const struct bpf_program *,
  //                                                 const char *tp_category, const char *tp_name)
  bpf_program__attach_tracepoint: {
    parameters: ["pointer", "buffer", "buffer"],
    result: "pointer",
  },
  // struct bpf_link *bpf_program__attach_raw_tracepoint(const struct bpf_program *, const char *tp_name)
  bpf_program__attach_raw_tracepoint: { parameters: ["pointer", "buffer"], result: "pointer" },
  // struct bpf_link *bpf_program__attach_iter(const struct bpf_program *,
  //                                           const struct bpf_iter_attach_opts *opts)
  bpf_program__attach_iter: { parameters: ["pointer", "buffer"], result: "pointer" },
  // struct bpf_link *bpf_program__attach_cgroup(const struct bpf_program *prog, int cgroup_fd)
  bpf_program__attach_cgroup: { parameters: ["pointer", "i32"], result: "pointer" },

  // int bpf_link__fd(const struct bpf_link *link)
  bpf_link__fd: { parameters: ["pointer"], result: "i32" },
  // int bpf_link__pin(struct bpf_link *link, const char *path)
  bpf_link__pin: { parameters: ["pointer", "buffer"], result: "i32" },
  // int bpf_link__destroy(struct bpf_link *link)
  bpf_link__destroy: { parameters: ["pointer"], result: "i32" },
  // int bpf_iter_create(int link_fd)
  bpf_iter_create: { parameters: ["i32"], result: "i32" },

  // int bpf_map__fd(const struct bpf_map *map)
  bpf_map__fd: { parameters: ["pointer"], result: "i32" },
  // const char *bpf_map__name(const struct bpf_map *map)
  bpf_map__name: { parameters: ["pointer"], result: "pointer" },
  // __u32 bpf_map__key_size(const struct bpf_map *map)
  bpf_map__key_size: { parameters: ["pointer"], result: "u32" },
  // __u32 bpf_map__value_size(const struct bpf_map *map)
  bpf_map__value_size: { parameters: ["pointer"], result: "u32" },
  // enum bpf_map_type bpf_map__type(const struct bpf_map *map)
  bpf_map__type: { parameters: ["pointer"], result: "u32" },
  // __u32 bpf_map__max_entries(const struct bpf_map *map)
  bpf_map__max_entries: { parameters: ["pointer"], result: "u32" },
  // int bpf_map__set_max_entries(struct bpf_map *map, __u32 max_entries)
  bpf_map__set_max_entries: { parameters: ["pointer", "u32"], result: "i32" },
  // void *bpf_map__initial_value(struct bpf_map *map, size_t *psize)
  bpf_map__initial_value: { parameters: ["pointer", "buffer"], result: "pointer" },

  // int bpf_map_lookup_elem(int fd, const void *key, void *value)
  bpf_map_lookup_elem: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  // int bpf_map_update_elem(int fd, const void *key, const void *value, __u64 flags)
  bpf_map_update_elem: { parameters: ["i32", "buffer", "buffer", "u64"], result: "i32" },
  // The same, on a thread of Deno's pool (a Promise): an update of a map of maps returns only
  // after an RCU grace period (milliseconds), which must not block the event loop.
  bpf_map_update_elem_nonblocking: {
    name: "bpf_map_update_elem",
    parameters: ["i32", "buffer", "buffer", "u64"],
    result: "i32",
    nonblocking: true,
  },
  // int bpf_map_delete_elem(int fd, const void *key)
  bpf_map_delete_elem: { parameters: ["i32", "buffer"], result: "i32" },
  // int bpf_map_get_next_key(int fd, const void *key, void *next_key)
  bpf_map_get_next_key: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  // int bpf_map_lookup_batch(int fd, void *in_batch, void *out_batch, void *keys, void *values,
  //                          __u32 *count, const struct bpf_map_batch_opts *opts)
  bpf_map_lookup_batch: {
    parameters: ["i32", "buffer", "buffer", "buffer", "buffer", "buffer", "buffer"],
    result: "i32",
  },
  // int bpf_map_lookup_and_delete_batch(int fd, void *in_batch, void *out_batch, void *keys,
  //                                     void *values, __u32 *count,
  //                                     const struct bpf_map_batch_opts *opts)
  bpf_map_lookup_and_delete_batch: {
    parameters: ["i32", "buffer", "buffer", "buffer", "buffer", "buffer", "buffer"],
    result: "i32",
  },

  // struct btf *btf__load_vmlinux_btf(void)   (NULL and errno when the kernel has no BTF)
  btf__load_vmlinux_btf: { parameters: [], result: "pointer" },
  // void btf__free(struct btf *btf)
  btf__free: { parameters: ["pointer"], result: "void" },
  // __s32 btf__find_by_name_kind(const struct btf *btf, const char *type_name, __u32 kind)
  btf__find_by_name_kind: { parameters: ["pointer", "buffer", "u32"], result: "i32" },
  // const struct btf_type *btf__type_by_id(const struct btf *btf, __u32 id)
  btf__type_by_id: { parameters: ["pointer", "u32"], result: "pointer" },
  // const char *btf__name_by_offset(const struct btf *btf, __u32 offset)
  btf__name_by_offset: { parameters: ["pointer", "u32"], result: "pointer" },

  // long libbpf_get_error(const void *ptr)   (-errno for NULL/ERR_PTR, 0 otherwise)
  libbpf_get_error: { parameters: ["pointer"], result: "i64" },
  // libbpf_print_fn_t libbpf_set_print(libbpf_print_fn_t fn)
  libbpf_set_print: { parameters: ["function"], result: "pointer" },
  // int libbpf_num_possible_cpus(void)
  libbpf_num_possible_cpus: { parameters: [], result: "i32" },
  // __u32 libbpf_major_version(void) / libbpf_minor_version(void)
  libbpf_major_version: { parameters: [], result: "u32" },
  libbpf_minor_version: { parameters: [], result: "u32" },
  // int bpf_enable_stats(enum bpf_stats_type type)   (returns an fd; stats stay on while open)
  bpf_enable_stats: { parameters: ["i32"], result: "i32" },
  // int bpf_obj_get_info_by_fd(int bpf_fd, void *info, __u32 *info_len)
  bpf_obj_get_info_by_fd: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  // int bpf_prog_get_info_by_fd(int prog_fd, struct bpf_prog_info *info, __u32 *info_len)  (1.2+)
  bpf_prog_get_info_by_fd: {
    parameters: ["i32", "buffer", "buffer"],
    result: "i32",
    optional: true,
  },
} as const satisfies Deno.ForeignLibraryInterface;

/** The opened libbpf. */
export type Libbpf = Deno.DynamicLibrary<typeof LIBBPF_SYMBOLS>["symbols"];

let lib: Deno.DynamicLibrary<typeof LIBBPF_SYMBOLS> | undefined;

/** Path libbpf is loaded from: `$DEMARC_LIBBPF` or `libbpf.so.1` (found by the dynamic loader). */
export function libbpfPath(): string {
  return Deno.env.get("DEMARC_LIBBPF") || "libbpf.so.1";
}

/**
 * The process-wide libbpf, opened on first use.
 *
 * @throws {LibbpfLoadError} when the library is missing or too old.
 */
export function libbpf(): Libbpf {
  if (lib) return lib.symbols;
  const path = libbpfPath();
  try {
    lib = Deno.dlopen(path, LIBBPF_SYMBOLS);
  } catch (e) {
    throw new LibbpfLoadError(
      `cannot load ${path}: ${(e as Error).message}; hint: install libbpf 1.x ` +
        "(apt-get install libbpf1) or point DEMARC_LIBBPF at libbpf.so.1",
      { cause: e },
    );
  }
  return lib.symbols;
}
