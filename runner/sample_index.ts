/**
 * The store's index of the sample chunks on disk, in the order they are to go (oldest first),
 * with the byte total the store's budget is checked against. Kept per chunk, never per row.
 *
 * A ring of typed arrays rather than an object per chunk: at a day's retention of small chunks
 * the index holds hundreds of thousands of entries, ~30 bytes each here against ~150 for an object
 * with its key array.
 *
 * @module
 */

/** A sample chunk's KV key: `["sample", table, tsMs, seq]`. */
export type SampleKey = [string, string, number, number];

/** A chunk's KV value. `n` (rows) lets the index be rebuilt without parsing the JSON. */
export interface StoredChunk {
  probe: string;
  ts: number;
  /** Absent in chunks written before it was added. */
  n?: number;
  /** `[row,row,...]` as JSON text. */
  rows: string;
}

/** Deno KV allows 1,000 mutations per atomic commit. */
export const MAX_MUTATIONS = 1000;

/**
 * About how many bytes one sample entry takes in the KV file, from what it holds. An upper bound of
 * SQLite's key and value lengths (measured against `length(k)`, `length(v)` of Deno KV's `kv`
 * table): the key as KV encodes it (`"sample"` and the table as strings, two doubles); the value's
 * V8 serialisation (property names, ts, row count: under 48 bytes) plus the probe name and the
 * JSON, one byte a character while it is ASCII, else two (V8 writes such strings as UTF-16).
 * Written and rebuilt with this one function, so the total after a reopen is the same.
 */
export function sampleEntryBytes(table: string, probe: string, json: string): number {
  const key = 8 + table.length + 2 + 9 + 9;
  const value = 48 + probe.length + (isAscii(json) ? json.length : 2 * json.length);
  return key + value;
}

/**
 * Whether `s` is all ASCII. Encoding it into a scratch buffer is ~8x cheaper than a regex scan
 * (10 us against 77 us for a 60 KB chunk here: the regex alone cost ~5% of the store's CPU time per
 * row); ASCII comes out one byte a character, anything else takes more bytes than characters.
 */
function isAscii(s: string): boolean {
  if (s.length > scratch.length) return !NON_ASCII.test(s);
  const r = encoder.encodeInto(s, scratch);
  return r.read === s.length && r.written === s.length;
}

const NON_ASCII = /[\u0080-\uffff]/;
const encoder = new TextEncoder();
/** Holds a whole chunk of ASCII (chunks stop below 60,000 characters). */
const scratch = new Uint8Array(64 * 1024);

export class SampleIndex {
  readonly #tableNames: string[] = [];
  readonly #tableIds = new Map<string, number>();
  #table = new Uint32Array(1024);
  #ts = new Float64Array(1024);
  #seq = new Float64Array(1024);
  #bytes = new Uint32Array(1024);
  #rows = new Uint32Array(1024);
  #head = 0;
  #size = 0;
  #totalBytes = 0;

  /** Chunks indexed. */
  get length(): number {
    return this.#size;
  }

  /** Sum of {@link sampleEntryBytes} of the indexed chunks. */
  get bytes(): number {
    return this.#totalBytes;
  }

  /** Add the newest chunk. */
  push(table: string, ts: number, seq: number, bytes: number, rows: number): void {
    if (this.#size === this.#table.length) this.#grow();
    let id = this.#tableIds.get(table);
    if (id === undefined) {
      id = this.#tableNames.push(table) - 1;
      this.#tableIds.set(table, id);
    }
    const at = (this.#head + this.#size) % this.#table.length;
    this.#table[at] = id;
    this.#ts[at] = ts;
    this.#seq[at] = seq;
    this.#bytes[at] = bytes;
    this.#rows[at] = rows;
    this.#size++;
    this.#totalBytes += bytes;
  }

  /** The KV key of the `i`-th oldest chunk. */
  key(i: number): SampleKey {
    const at = this.#at(i);
    return ["sample", this.#tableNames[this.#table[at]], this.#ts[at], this.#seq[at]];
  }

  ts(i: number): number {
    return this.#ts[this.#at(i)];
  }

  bytesOf(i: number): number {
    return this.#bytes[this.#at(i)];
  }

  rowsOf(i: number): number {
    return this.#rows[this.#at(i)];
  }

  /** Forget the `n` oldest chunks (once they are deleted from KV). */
  dropOldest(n: number): void {
    for (let i = 0; i < n; i++) this.#totalBytes -= this.#bytes[this.#at(i)];
    this.#head = (this.#head + n) % this.#table.length;
    this.#size -= n;
  }

  #at(i: number): number {
    if (i < 0 || i >= this.#size) throw new RangeError(`chunk ${i} of ${this.#size}`);
    return (this.#head + i) % this.#table.length;
  }

  #grow(): void {
    const cap = this.#table.length * 2;
    const order = Array.from({ length: this.#size }, (_, i) => this.#at(i));
    const copy = <A extends Uint32Array | Float64Array>(a: A, b: A): A => {
      order.forEach((from, to) => (b[to] = a[from]));
      return b;
    };
    this.#table = copy(this.#table, new Uint32Array(cap));
    this.#ts = copy(this.#ts, new Float64Array(cap));
    this.#seq = copy(this.#seq, new Float64Array(cap));
    this.#bytes = copy(this.#bytes, new Uint32Array(cap));
    this.#rows = copy(this.#rows, new Uint32Array(cap));
    this.#head = 0;
  }
}

/**
 * Index the sample chunks in `kv`, oldest first, with one scan of the `["sample"]` keys; chunks at
 * or before `cutoffMs` (written under a longer retention, or not collected by KV yet) and entries
 * that are not chunks are deleted instead.
 *
 * @returns the index, and the next free `seq` (so new keys never overwrite old ones)
 */
export async function indexSamplesOnDisk(
  kv: Deno.Kv,
  cutoffMs: number,
): Promise<{ index: SampleIndex; nextSeq: number }> {
  const found: Array<{ table: string; ts: number; seq: number; bytes: number; rows: number }> = [];
  const gone: Deno.KvKey[] = [];
  for await (const e of kv.list<StoredChunk>({ prefix: ["sample"] }, { batchSize: 500 })) {
    const [, table, ts, seq] = e.key;
    const v = e.value;
    if (
      typeof table !== "string" || typeof ts !== "number" || typeof seq !== "number" ||
      typeof v?.rows !== "string" || typeof v.probe !== "string" || ts <= cutoffMs
    ) {
      gone.push(e.key);
      continue;
    }
    const rows = typeof v.n === "number" ? v.n : (JSON.parse(v.rows) as unknown[]).length;
    found.push({ table, ts, seq, bytes: sampleEntryBytes(table, v.probe, v.rows), rows });
  }
  for (let i = 0; i < gone.length; i += MAX_MUTATIONS) {
    const op = kv.atomic();
    for (const k of gone.slice(i, i + MAX_MUTATIONS)) op.delete(k);
    await op.commit();
  }
  found.sort((a, b) => a.ts - b.ts || a.seq - b.seq);
  const index = new SampleIndex();
  let nextSeq = 0;
  for (const c of found) {
    index.push(c.table, c.ts, c.seq, c.bytes, c.rows);
    if (c.seq >= nextSeq) nextSeq = c.seq + 1;
  }
  return { index, nextSeq };
}
