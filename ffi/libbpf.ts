/**
 * libbpf through `Deno.dlopen`: the public surface of `ffi/`.
 *
 * Lifecycle: {@link BpfObject.openMem} → configure maps/rodata → {@link BpfObject.load} →
 * attach programs → read maps / consume ring buffers → {@link BpfObject.close} (once; links and
 * ring buffers are released first).
 *
 * @module
 */

export { BpfError, errnoName, LibbpfLoadError, unwrap } from "./errors.ts";
export { libbpf, LIBBPF_SYMBOLS, libbpfPath } from "./symbols.ts";
export type { Libbpf } from "./symbols.ts";
export { BpfObject } from "./object.ts";
export { BpfLink, BpfProgram, enableRunStats, readAllFd } from "./program.ts";
export type { ProgramInfo } from "./program.ts";
export { BPF_ANY, BPF_EXIST, BPF_NOEXIST, BpfMap, possibleCpus } from "./map.ts";
export { RingBuffer } from "./ringbuf.ts";
export type { RecordAtHandler, RecordHandler } from "./ringbuf.ts";
export { inNetns, NetnsHandle, netnsInode, NetnsSet } from "./netns.ts";
export { installLibbpfLog, setLibbpfSink } from "./log.ts";
export type { LibbpfLevel, LibbpfSink } from "./log.ts";
export { ensureBpffs, ensureTracefs } from "./mounts.ts";
export { releaseFreeMemory } from "./libc.ts";
export { kernelStructMembers } from "./btf.ts";
