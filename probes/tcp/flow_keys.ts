/**
 * Flow keys read straight from a record's bytes, and an index from key to flow number.
 *
 * A flow is (tgid, role, family, server port, local address, remote address): ten 32-bit words
 * taken from a `struct tcp_snap` where it lies (the ring buffer, the iterator's output). The
 * index is open addressing over typed arrays: a record is matched to its flow by a hash of those
 * words and a compare of the words themselves, so handling one allocates nothing. Building a
 * string key per record (and looking it up in a Map) was most of the driver's cost per closed
 * connection.
 *
 * @module
 */

import { TcpSnap } from "./layout.ts";
import type { RecordBytes } from "./record_bytes.ts";

/** Words per key: tgid, role | family << 8 | server port << 16, local address (4), remote (4). */
export const KEY_WORDS = 10;
/** No flow. */
export const NO_FLOW = -1;

const O = TcpSnap.offsets;
const ROLE = O.role, FAMILY = O.family, SPORT = O.sport, DPORT = O.dport;
/** u32 indexes (offsets / 4): struct tcp_snap keeps these 4-byte aligned. */
const TGID = O.tgid >> 2, SADDR = O.saddr >> 2, DADDR = O.daddr >> 2;
const AF_INET = 2;

/** One step of the key hash (FNV-1a's multiply, then a shift to spread the high bits down). */
function mix(h: number, word: number): number {
  h = Math.imul(h ^ word, 0x01000193);
  return h ^ (h >>> 15);
}

/** Empty slot of the hash table. */
const EMPTY = -1;

/** Flow numbers by key; keys stored by number. Numbers are reused after {@link retain}. */
export class FlowKeys {
  /** The key last read by {@link read}. */
  readonly #key = new Uint32Array(KEY_WORDS);
  #hash = 0;
  /** Hash table: slot → flow number or EMPTY; linear probing; a power of two long. */
  #table = new Int32Array(16).fill(EMPTY);
  /** Key words of flow `n` at `n * KEY_WORDS`. */
  #keys = new Uint32Array(16 * KEY_WORDS);
  /** Hash of flow `n`'s key. */
  #hashes = new Uint32Array(16);
  /** 1 while flow number `n` is in use. */
  #used = new Uint8Array(16);
  #free: number[] = [];
  #next = 0;
  #count = 0;
  readonly #hashMask: number;

  /**
   * @param hashMask bits of the hash kept (tests narrow it so that different keys share a hash
   *   and only the compare of their words tells them apart)
   */
  constructor(hashMask = 0xffffffff) {
    this.#hashMask = hashMask;
  }

  /** Keys held. */
  get size(): number {
    return this.#count;
  }

  /**
   * Read the flow key of the record at byte offset `off` of `b` (kept for {@link find} and
   * {@link add}).
   *
   * @returns false when the socket's role is unknown (it belongs to no flow)
   */
  read(b: RecordBytes, off: number): boolean {
    const u8 = b.u8, u32 = b.u32;
    const role = u8[off + ROLE];
    if (role !== 1 && role !== 2) return false;
    const family = u8[off + FAMILY];
    const port = b.u16[(off + (role === 1 ? DPORT : SPORT)) >> 1];
    const k = this.#key, w = off >> 2;
    const tgid = u32[w + TGID], word1 = role | (family << 8) | (port << 16);
    k[0] = tgid;
    k[1] = word1;
    let h = mix(mix(0x811c9dc5, tgid), word1);
    if (family === AF_INET) {
      // Only the first word of an IPv4 address is the address; the rest of the key is zero and
      // left out of the hash (the family, in word 1, tells the two layouts apart).
      const local = u32[w + SADDR], remote = u32[w + DADDR];
      k[2] = local;
      k[3] = k[4] = k[5] = 0;
      k[6] = remote;
      k[7] = k[8] = k[9] = 0;
      h = mix(mix(h, local), remote);
    } else {
      for (let i = 0; i < 4; i++) {
        const local = u32[w + SADDR + i], remote = u32[w + DADDR + i];
        k[2 + i] = local;
        k[6 + i] = remote;
        h = mix(mix(h, local), remote);
      }
    }
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    this.#hash = ((h ^ (h >>> 13)) & this.#hashMask) >>> 0;
    return true;
  }

  /** The flow number of the key last read, or NO_FLOW. */
  find(): number {
    const table = this.#table, mask = table.length - 1, h = this.#hash;
    for (let i = h & mask;; i = (i + 1) & mask) {
      const n = table[i];
      if (n === EMPTY) return NO_FLOW;
      if (this.#hashes[n] === h && this.#sameKey(n)) return n;
    }
  }

  /** Add the key last read (not held yet); returns its new flow number. */
  add(): number {
    const n = this.#free.length ? this.#free.pop()! : this.#next++;
    if (n >= this.#hashes.length) this.#growKeys();
    this.#keys.set(this.#key, n * KEY_WORDS);
    this.#hashes[n] = this.#hash;
    this.#used[n] = 1;
    this.#count++;
    // At most half full: probes stay short.
    if (this.#count * 2 > this.#table.length) this.#reindex(this.#table.length * 2);
    else this.#place(n);
    return n;
  }

  /** Keep only the flows for which `keep(n)` is true (their numbers do not change). */
  retain(keep: (n: number) => boolean): void {
    let dropped = false;
    for (let n = 0; n < this.#next; n++) {
      if (!this.#used[n] || keep(n)) continue;
      this.#used[n] = 0;
      this.#free.push(n);
      this.#count--;
      dropped = true;
    }
    if (dropped) this.#reindex(this.#table.length);
  }

  #sameKey(n: number): boolean {
    const keys = this.#keys, k = this.#key, o = n * KEY_WORDS;
    for (let i = 0; i < KEY_WORDS; i++) if (keys[o + i] !== k[i]) return false;
    return true;
  }

  #place(n: number): void {
    const table = this.#table, mask = table.length - 1;
    let i = this.#hashes[n] & mask;
    while (table[i] !== EMPTY) i = (i + 1) & mask;
    table[i] = n;
  }

  #reindex(size: number): void {
    this.#table = new Int32Array(size).fill(EMPTY);
    for (let n = 0; n < this.#next; n++) if (this.#used[n]) this.#place(n);
  }

  #growKeys(): void {
    const cap = this.#hashes.length * 2;
    const keys = new Uint32Array(cap * KEY_WORDS), hashes = new Uint32Array(cap);
    const used = new Uint8Array(cap);
    keys.set(this.#keys);
    hashes.set(this.#hashes);
    used.set(this.#used);
    this.#keys = keys;
    this.#hashes = hashes;
    this.#used = used;
  }
}
