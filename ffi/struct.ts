/**
 * C struct layouts written once in TypeScript: offsets follow the C alignment rules for
 * fixed-width fields, and {@link StructLayout.decode} reads a record from bytes. Tests compare
 * `size` and `offsets` with the C compiler's `sizeof`/`offsetof`.
 *
 * @module
 */

/**
 * Field types: unsigned ints (`u64` decoded as a number: counters stay below 2^53; `x64` as a
 * bigint, for kernel addresses), byte arrays, NUL-terminated chars.
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
  decode(view: DataView, base?: number): Decoded<S>;
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
  const td = new TextDecoder();
  function decode(view: DataView, base = 0): Decoded<S> {
    const out: Record<string, unknown> = {};
    for (const [name, type, count = 1] of fields) {
      const o = base + offsets[name];
      switch (type) {
        case "u8":
          out[name] = view.getUint8(o);
          break;
        case "u16":
          out[name] = view.getUint16(o, true);
          break;
        case "u32":
          out[name] = view.getUint32(o, true);
          break;
        case "u64":
          out[name] = Number(view.getBigUint64(o, true));
          break;
        case "x64":
          out[name] = view.getBigUint64(o, true);
          break;
        case "bytes":
          out[name] = new Uint8Array(view.buffer, view.byteOffset + o, count).slice();
          break;
        case "char": {
          const b = new Uint8Array(view.buffer, view.byteOffset + o, count);
          const end = b.indexOf(0);
          out[name] = td.decode(end < 0 ? b : b.subarray(0, end));
          break;
        }
      }
    }
    return out as Decoded<S>;
  }
  return { size, offsets, decode };
}
