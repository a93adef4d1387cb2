/**
 * The few libc calls the BPF layer needs: raw fd read/close, open for namespace files, setns,
 * errno, mmap for ring buffers, vasprintf to format libbpf's log lines, and a signal mask around
 * BPF loads.
 *
 * @module
 */

const LIBC_SYMBOLS = {
  // ssize_t read(int fd, void *buf, size_t count)
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  // int close(int fd)
  close: { parameters: ["i32"], result: "i32" },
  // int open(const char *pathname, int flags)
  open: { parameters: ["buffer", "i32"], result: "i32" },
  // int setns(int fd, int nstype)
  setns: { parameters: ["i32", "i32"], result: "i32" },
  // int *__errno_location(void)
  __errno_location: { parameters: [], result: "pointer" },
  // int malloc_trim(size_t pad)
  malloc_trim: { parameters: ["usize"], result: "i32" },
  // void *mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset)
  mmap: { parameters: ["pointer", "usize", "i32", "i32", "i32", "i64"], result: "pointer" },
  // int munmap(void *addr, size_t length)
  munmap: { parameters: ["pointer", "usize"], result: "i32" },
  // int madvise(void *addr, size_t length, int advice)
  madvise: { parameters: ["pointer", "usize", "i32"], result: "i32" },
  // long sysconf(int name)
  sysconf: { parameters: ["i32"], result: "i64" },
  // int vasprintf(char **strp, const char *format, va_list ap)  (x86_64: ap is a pointer)
  vasprintf: { parameters: ["buffer", "pointer", "pointer"], result: "i32" },
  // void free(void *ptr)
  free: { parameters: ["pointer"], result: "void" },
  // int sigfillset(sigset_t *set)
  sigfillset: { parameters: ["buffer"], result: "i32" },
  // int pthread_sigmask(int how, const sigset_t *set, sigset_t *oldset)
  pthread_sigmask: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

let lib: Deno.DynamicLibrary<typeof LIBC_SYMBOLS> | undefined;

/** The process's libc (`libc.so.6`). */
export function libc(): Deno.DynamicLibrary<typeof LIBC_SYMBOLS>["symbols"] {
  lib ??= Deno.dlopen("libc.so.6", LIBC_SYMBOLS);
  return lib.symbols;
}

/** The calling thread's errno, read right after a failed libc call. */
export function lastErrno(): number {
  const p = libc().__errno_location();
  return p ? new Deno.UnsafePointerView(p).getInt32() : 0;
}

/**
 * Give free heap memory back to the kernel (glibc `malloc_trim(0)`). After a burst of short-lived
 * native allocations (a BPF object load, a large one-off read) the freed pages otherwise stay in
 * the process's RSS for good.
 */
export function releaseFreeMemory(): void {
  if (!canTrim) return;
  try {
    libc().malloc_trim(0n);
  } catch {
    canTrim = false; // not glibc (no libc.so.6 or no malloc_trim): nothing to give back this way
  }
}
let canTrim = true;

/** glibc's sigset_t: 1024 bits. */
const SIGSET_BYTES = 128;
const SIG_BLOCK = 0, SIG_SETMASK = 2;

/**
 * Run `fn` with every blockable signal blocked on this thread. The BPF verifier gives up with
 * EAGAIN when a signal is pending for the loading thread (libbpf retries 5 times, then fails):
 * a steady stream of them (a profiler's SIGPROF, a burst of SIGCHLD from helpers the runner
 * spawned) made a probe fail to start. Blocked here, process-wide signals go to the process's
 * other threads; ones sent to this thread wait until `fn` returns.
 */
export function withSignalsBlocked<T>(fn: () => T): T {
  const all = new Uint8Array(SIGSET_BYTES), old = new Uint8Array(SIGSET_BYTES);
  const c = libc();
  const blocked = c.sigfillset(all) === 0 && c.pthread_sigmask(SIG_BLOCK, all, old) === 0;
  try {
    return fn();
  } finally {
    if (blocked) c.pthread_sigmask(SIG_SETMASK, old, null);
  }
}

/** `O_RDONLY | O_CLOEXEC`. */
export const O_RDONLY_CLOEXEC = 0o2000000;
/** `CLONE_NEWNET` for setns. */
export const CLONE_NEWNET = 0x40000000;

/** A NUL-terminated copy of `s` for a `const char *` parameter. */
export function cstr(s: string): Uint8Array<ArrayBuffer> {
  const bytes = new TextEncoder().encode(s);
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}

/** Read a `const char *` result (empty for NULL). */
export function readCString(p: Deno.PointerValue): string {
  return p ? new Deno.UnsafePointerView(p).getCString() : "";
}
