/**
 * Errors from libbpf and the kernel: one {@link unwrap} turns a negative errno into a
 * {@link BpfError} that names the operation, the errno and a hint for the operator.
 *
 * @module
 */

/** errno values libbpf and the bpf syscall return, by number. */
export const ERRNO_NAMES: Readonly<Record<number, string>> = {
  1: "EPERM",
  2: "ENOENT",
  3: "ESRCH",
  4: "EINTR",
  5: "EIO",
  7: "E2BIG",
  9: "EBADF",
  11: "EAGAIN",
  12: "ENOMEM",
  13: "EACCES",
  14: "EFAULT",
  16: "EBUSY",
  17: "EEXIST",
  19: "ENODEV",
  22: "EINVAL",
  24: "EMFILE",
  28: "ENOSPC",
  38: "ENOSYS",
  95: "EOPNOTSUPP",
  524: "ENOTSUPP",
  4003: "LIBBPF_ERRNO__LOAD",
  4007: "LIBBPF_ERRNO__PROG2BIG",
  4008: "LIBBPF_ERRNO__KVER",
  4009: "LIBBPF_ERRNO__VERIFY",
};

/** Name of an errno (positive or negative), e.g. `ENOENT`, or `errno <n>` when unknown. */
export function errnoName(errno: number): string {
  const n = Math.abs(errno);
  return ERRNO_NAMES[n] ?? `errno ${n}`;
}

/** What to do about an errno, given what was being done. */
function hintFor(op: string, errno: number): string {
  const name = errnoName(errno);
  if (name === "EPERM" || name === "EACCES") {
    if (/load/.test(op)) {
      return "the verifier or the kernel refused the program: run as root (CAP_BPF + CAP_PERFMON), " +
        "check the verifier log above; kernels in lockdown refuse kprobes/fentry";
    }
    return "run as root or with CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN";
  }
  if (name === "ENOENT" && /tracepoint/.test(op)) {
    return "tracefs not mounted or no such tracepoint: run `mount -t tracefs nodev /sys/kernel/tracing`";
  }
  if (name === "ENOENT" && /attach/.test(op)) {
    return "this kernel lacks the attach point (kprobe PMU missing or function not traceable)";
  }
  if (name === "ESRCH") return "no BTF for the attach target: check /sys/kernel/btf/vmlinux exists";
  if (name === "E2BIG" || name === "ENOMEM") {
    return "map or program too large: lower the map size params or raise `ulimit -l`";
  }
  if (name === "EINVAL" && /open/.test(op)) {
    return "the object file is not a valid BPF ELF (rebuild with `deno task build --bpf-only`)";
  }
  if (name === "LIBBPF_ERRNO__LOAD" || name === "LIBBPF_ERRNO__VERIFY") {
    return "the verifier rejected a program: see the verifier log in the error detail";
  }
  return "see the libbpf log lines above";
}

/** A libbpf call or bpf syscall failed. `errno` is positive. */
export class BpfError extends Error {
  override name = "BpfError";
  /** Positive errno. */
  readonly errno: number;
  /** errno name such as `ENOENT`. */
  readonly code: string;
  /** What the operator can do about it. */
  readonly hint: string;
  /** The operation that failed, e.g. `attach tp_btf/inet_sock_set_state`. */
  readonly op: string;

  constructor(op: string, errno: number, detail?: string, options?: ErrorOptions) {
    const n = Math.abs(errno);
    const hint = hintFor(op, n);
    super(`${op} failed: ${errnoName(n)}${detail ? ` (${detail})` : ""}; hint: ${hint}`, options);
    this.errno = n;
    this.code = errnoName(n);
    this.hint = hint;
    this.op = op;
  }
}

/** libbpf (libbpf.so.1) could not be loaded or lacks a symbol we need. */
export class LibbpfLoadError extends Error {
  override name = "LibbpfLoadError";
}

/**
 * Turn a libbpf/kernel return value into a result: negative values are `-errno` and throw.
 *
 * @param op what was being done, for the message (e.g. `load tcp.bpf.o`)
 * @param ret the return value (number or bigint)
 * @param detail extra context such as the verifier log tail
 * @returns `ret` as a number when it is not negative
 * @throws {BpfError} when `ret < 0`
 * @example
 * ```ts
 * const fd = unwrap("bpf_iter_create", lib.bpf_iter_create(linkFd));
 * ```
 */
export function unwrap(
  op: string,
  ret: number | bigint,
  detail?: () => string | undefined,
): number {
  const n = Number(ret);
  if (n < 0) throw new BpfError(op, -n, detail?.());
  return n;
}
