/**
 * C struct layouts written once in TypeScript: offsets follow the C alignment rules for
 * fixed-width fields, and {@link StructLayout.decode} reads a record from bytes. Tests compare
 * `size` and `offsets` with the C compiler's `sizeof`/`offsetof`.
 *
 * @module
 */

/**
 * Field types: unsigned ints (`u64` decoded as a number: counters stay below 2^53; `x64` as a
 * bigint, for kernel addresses), byte arrays (views into the decoded bytes), NUL-terminated chars.
 */
export type FieldType = "u8" | "u16" | "u32" | "u64" | "x64" | "bytes" | "char";

/** `[name, type]` or `[name, type, count]` for arrays (`bytes`/`char` need a count). */
export type FieldSpec = readonly [string, FieldType] | readonly [string, FieldType, number];

const SIZE: Record<FieldType, number> = {
  u8: 1,
  u16: 2,
  u32: 4,
  u64: 8,
  x64: 8,
  bytes: 1,
  char: 1,
};

/** Value types a decoded field has. */
type ValueOf<T extends FieldType> = T extends "bytes" ? Uint8Array
  : T extends "char" ? string
  : T extends "x64" ? bigint
  : number;

/** The decoded record type of a spec list. */
export type Decoded<S extends readonly FieldSpec[]> = { [F in S[number] as F[0]]: ValueOf<F[1]> };

/** A struct layout: byte size, field offsets and a decoder. */
export interface StructLayout<S extends readonly FieldSpec[]> {
  readonly size: number;
  readonly offsets: Readonly<Record<string, number>>;
  /** Decode every field into an object. */
  decode(view: DataView, base?: number): Decoded<S>;
  /** Read one field without decoding the rest (hot paths). */
  readonly read: Readonly<Record<string, Reader>>;
}

/**
 * Lay out `fields` as a C compiler would (natural alignment, tail padding to the largest).
 *
 * @example
 * ```ts
 * const L = defineStruct([["sk", "u64"], ["port", "u16"]] as const);
 * L.size; // 16
 * ```
 */
export function defineStruct<const S extends readonly FieldSpec[]>(fields: S): StructLayout<S> {
  const offsets: Record<string, number> = {};
  let off = 0, maxAlign = 1;
  for (const [name, type, count = 1] of fields) {
    const align = SIZE[type];
    maxAlign = Math.max(maxAlign, align);
    off = Math.ceil(off / align) * align;
    offsets[name] = off;
    off += SIZE[type] * count;
  }
  const size = Math.ceil(off / maxAlign) * maxAlign;
  // One reader per field, chosen once: decoding runs per ring-buffer record and per socket.
  const readers = fields.map(([name, type, count = 1]) => {
    const o = offsets[name];
    return [name, reader(type, o, count)] as const;
  });
  function decode(view: DataView, base = 0): Decoded<S> {
    const out: Record<string, unknown> = {};
    for (const [name, read] of readers) out[name] = read(view, base);
    return out as Decoded<S>;
  }
  return { size, offsets, decode, read: Object.fromEntries(readers) };
}

/** Reads one field of a record at `base`. */
export type Reader = (v: DataView, base: number) => number | bigint | string | Uint8Array;

function reader(type: FieldType, o: number, count: number): Reader {
  switch (type) {
    case "u8":
      return (v, b) => v.getUint8(b + o);
    case "u16":
      return (v, b) => v.getUint16(b + o, true);
    case "u32":
      return (v, b) => v.getUint32(b + o, true);
    case "u64": // two halves: no BigInt allocation
      return (v, b) => v.getUint32(b + o, true) + v.getUint32(b + o + 4, true) * 4294967296;
    case "x64":
      return (v, b) => v.getBigUint64(b + o, true);
    case "bytes":
      return (v, b) => new Uint8Array(v.buffer, v.byteOffset + b + o, count); // a view, no copy
    case "char":
      return (v, b) => {
        // Kernel names (comm) are short ASCII: building the string directly beats TextDecoder.
        let s = "";
        for (let i = 0; i < count; i++) {
          const c = v.getUint8(b + o + i);
          if (c === 0) break;
          s += String.fromCharCode(c);
        }
        return s;
      };
  }
}

/** A map key or value of one little-endian u32 (as BPF maps keyed by index or tgid take it). */
export function u32(n: number): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
}

/** A map key or value of one little-endian u64. */
export function u64(n: bigint): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, n, true);
  return b;
}
