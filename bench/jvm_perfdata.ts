/**
 * A HotSpot JVM's JIT counters read from its performance-data file (`/tmp/hsperfdata_<user>/<pid>`,
 * the memory-mapped counters `jstat` reads), without starting a JVM: `jstat` itself is a JVM, ~0.5
 * s of CPU per call on a 2-core host, too much to call between the chunks of calls the overhead
 * bench runs.
 *
 * The file's layout (HotSpot `perfMemory.hpp`): a 32-byte prologue (magic 0xcafec0c0, byte order,
 * versions, then the offset of the first entry and the number of entries), then entries, each
 * with its length, the offsets of its name and its data from its own start, its vector length (0
 * for a scalar) and its type ('J': a 64-bit counter).
 *
 * @module
 */

const MAGIC = 0xcafec0c0;

/** How much a JVM has compiled so far. */
export interface JitCounters {
  /** Methods compiled (standard and OSR, every tier). */
  compiles: number;
  /** Time the JIT's threads spent compiling, seconds. */
  compileSeconds: number;
}

/** Every 64-bit scalar counter in a JVM's performance-data file, by name. */
export function parsePerfData(buf: Uint8Array): Map<string, bigint> {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (buf.byteLength < 32 || dv.getUint32(0, false) !== MAGIC) {
    throw new Error("not a HotSpot performance-data file (no 0xcafec0c0 magic)");
  }
  const little = dv.getUint8(4) === 1;
  const entryOffset = dv.getInt32(24, little);
  const entries = dv.getInt32(28, little);
  const out = new Map<string, bigint>();
  const text = new TextDecoder();
  let at = entryOffset;
  for (let i = 0; i < entries && at + 20 <= buf.byteLength; i++) {
    const length = dv.getInt32(at, little);
    if (length <= 0) break;
    const nameOffset = dv.getInt32(at + 4, little);
    const vectorLength = dv.getInt32(at + 8, little);
    const type = String.fromCharCode(dv.getUint8(at + 12));
    const dataOffset = dv.getInt32(at + 16, little);
    if (vectorLength === 0 && type === "J") {
      const nameStart = at + nameOffset;
      const nameEnd = buf.indexOf(0, nameStart);
      out.set(
        text.decode(buf.subarray(nameStart, nameEnd < 0 ? at + length : nameEnd)),
        dv.getBigInt64(at + dataOffset, little),
      );
    }
    at += length;
  }
  return out;
}

/** The performance-data file of `pid`, whichever user's directory holds it. */
async function perfDataPath(pid: number): Promise<string> {
  for await (const d of Deno.readDir("/tmp")) {
    if (!d.isDirectory || !d.name.startsWith("hsperfdata_")) continue;
    const path = `/tmp/${d.name}/${pid}`;
    try {
      await Deno.stat(path);
      return path;
    } catch {
      // another user's directory
    }
  }
  throw new Error(
    `no /tmp/hsperfdata_*/${pid}: not a HotSpot JVM, or started with -XX:-UsePerfData`,
  );
}

const paths = new Map<number, string>();

/** The JIT counters of the JVM `pid` now. */
export async function jitCounters(pid: number): Promise<JitCounters> {
  let path = paths.get(pid);
  if (!path) paths.set(pid, path = await perfDataPath(pid));
  const c = parsePerfData(await Deno.readFile(path));
  const need = (name: string): bigint => {
    const v = c.get(name);
    if (v === undefined) throw new Error(`${path}: no counter ${name}`);
    return v;
  };
  return {
    compiles: Number(need("sun.ci.totalCompiles")),
    compileSeconds: Number(need("java.ci.totalTime")) / Number(need("sun.os.hrt.frequency")),
  };
}
