/**
 * The store: Deno KV holding accepted probe configs, per-probe state, and recent samples with a
 * retention TTL and a byte budget. Samples are buffered and written in batches of atomic commits.
 *
 * Keys: `["config", probe]`, `["state", probe, ...key]`, `["sample", table, tsMs, seq]`.
 *
 * The TTL alone bounds nothing in bytes (KV expires lazily, and 10,000 connections at a 5 s period
 * write ~2 GB an hour), so the store also keeps an index of the sample chunks on disk with their
 * sizes ({@link SampleIndex}) and deletes the oldest ones, and expired ones, in the commit that
 * writes new ones. SQLite reuses the freed pages, so the file settles near the budget. Configs and
 * probe state are never deleted by it.
 *
 * @module
 */

import type { ProbeConfig, ProbeState, Row } from "./probe_api.ts";
import {
  indexSamplesOnDisk,
  MAX_MUTATIONS,
  sampleEntryBytes,
  SampleIndex,
  type StoredChunk,
} from "./sample_index.ts";

/** One stored sample row. */
export interface SampleRecord extends Row {
  table: string;
  probe: string;
  /** Milliseconds since the epoch, when the driver emitted it. */
  ts: number;
}

/**
 * Rows are stored in chunks: one KV entry holds the JSON text of many rows of one table emitted
 * at one moment. A KV write per row costs about 14x more than this (bench/store_bench.ts), and
 * KV values are limited to 64 KiB, so a chunk stops below {@link CHUNK_BYTES}.
 */
interface Chunk {
  probe: string;
  table: string;
  ts: number;
  rows: number;
  /** `[row,row,...]` as JSON text. */
  json: string;
  /** Its size in the KV file ({@link sampleEntryBytes}). */
  bytes: number;
}

const CHUNK_BYTES = 60_000;
/** Deno KV allows 800 KiB of mutations per atomic commit. */
const COMMIT_BYTES = 600_000;
/** Half of KV's mutations per commit for new chunks leaves room for deleting old ones. */
const MAX_CHUNKS_PER_COMMIT = MAX_MUTATIONS / 2;

/** The default budget for stored samples: 256 MiB. */
export const DEFAULT_MAX_BYTES = 256 * 1024 * 1024;

export interface StoreOptions {
  /** Sample retention in milliseconds (KV expiry). */
  retentionMs: number;
  /**
   * Bytes the stored samples may take ({@link DEFAULT_MAX_BYTES} by default): beyond it the oldest
   * chunks are deleted as new ones are written.
   */
  maxBytes?: number;
  /** Flush buffered samples at least this often. */
  flushIntervalMs?: number;
  /** Rows kept in memory waiting for a flush before new ones are dropped (and counted). */
  maxBufferedRows?: number;
}

/** Counters the store exports about itself. */
export interface StoreStats {
  rowsWritten: number;
  rowsDropped: number;
  commits: number;
  commitErrors: number;
  /** Rows and chunks deleted before their time to keep the samples within the budget. */
  rowsEvicted: number;
  chunksEvicted: number;
  /** Bytes the stored samples take now (by {@link sampleEntryBytes}), and the budget. */
  bytesStored: number;
  bytesLimit: number;
  /** How long the scan that rebuilt the index at open took, in milliseconds. */
  openScanMs: number;
}

export class Store {
  readonly #kv: Deno.Kv;
  readonly #opts: Required<StoreOptions>;
  #buffer: Chunk[] = [];
  #bufferedRows = 0;
  #seq = 0;
  #index = new SampleIndex();
  #timer: ReturnType<typeof setInterval> | undefined;
  #flushing: Promise<void> = Promise.resolve();
  #closed = false;
  readonly stats: StoreStats;

  private constructor(kv: Deno.Kv, opts: Required<StoreOptions>) {
    this.#kv = kv;
    this.#opts = opts;
    this.stats = {
      rowsWritten: 0,
      rowsDropped: 0,
      commits: 0,
      commitErrors: 0,
      rowsEvicted: 0,
      chunksEvicted: 0,
      bytesStored: 0,
      bytesLimit: opts.maxBytes,
      openScanMs: 0,
    };
  }

  /**
   * Open (or create) the KV file at `path` (`:memory:` for none), and index the samples already in
   * it: one scan of the `["sample"]` keys, which also deletes expired ones and, when the budget is
   * smaller than what is there, the oldest.
   *
   * @throws {Error} naming `maxBytes` when it is not a number > 0.
   * @throws {Error} with the path and a hint when the file cannot be opened or read.
   */
  static async open(path: string, opts: StoreOptions): Promise<Store> {
    const full: Required<StoreOptions> = {
      retentionMs: opts.retentionMs,
      flushIntervalMs: opts.flushIntervalMs ?? 1000,
      maxBufferedRows: opts.maxBufferedRows ?? 200_000,
      maxBytes: opts.maxBytes ?? DEFAULT_MAX_BYTES,
    };
    if (!(Number.isFinite(full.maxBytes) && full.maxBytes > 0)) {
      throw new Error(
        `store option maxBytes must be a number of bytes > 0, got ${full.maxBytes} ` +
          "(hint: --store-max-mb takes megabytes, e.g. 256)",
      );
    }
    let kv: Deno.Kv | undefined;
    let store: Store;
    try {
      kv = await Deno.openKv(path);
      store = new Store(kv, full);
      await store.#rebuildIndex();
    } catch (e) {
      kv?.close();
      throw new Error(
        `cannot open the state store ${path}: ${
          (e as Error).message
        } (hint: check --state-dir is writable)`,
        {
          cause: e,
        },
      );
    }
    store.#timer = setInterval(() => void store.flush(), full.flushIntervalMs);
    return store;
  }

  /**
   * Index the sample chunks on disk ({@link indexSamplesOnDisk}) and delete the oldest if they
   * are over the budget (it may have been lowered since they were written).
   */
  async #rebuildIndex(): Promise<void> {
    const t0 = performance.now();
    const found = await indexSamplesOnDisk(this.#kv, Date.now() - this.#opts.retentionMs);
    this.#index = found.index;
    this.#seq = found.nextSeq;
    if (!await this.#deleteOldest(this.#victims(0))) {
      throw new Error("could not delete the samples over the budget");
    }
    this.stats.bytesStored = this.#index.bytes;
    this.stats.openScanMs = performance.now() - t0;
  }

  async getConfig(probe: string): Promise<ProbeConfig | undefined> {
    return (await this.#kv.get<ProbeConfig>(["config", probe])).value ?? undefined;
  }

  async setConfig(probe: string, config: ProbeConfig): Promise<void> {
    await this.#kv.set(["config", probe], config);
  }

  /** A per-probe persistent key/value space. */
  probeState(probe: string): ProbeState {
    const kv = this.#kv;
    const k = (key: string[]) => ["state", probe, ...key];
    return {
      get: async <T>(key: string[]) => (await kv.get<T>(k(key))).value ?? undefined,
      set: async (key, value) => void await kv.set(k(key), value),
      delete: (key) => kv.delete(k(key)),
      list: async <T>(prefix: string[]) => {
        const out: Array<{ key: string[]; value: T }> = [];
        for await (const e of kv.list<T>({ prefix: k(prefix) })) {
          out.push({ key: (e.key as string[]).slice(2), value: e.value });
        }
        return out;
      },
    };
  }

  /** Queue rows for writing; never blocks the caller. */
  addSamples(probe: string, table: string, rows: Row[], ts = Date.now()): void {
    if (this.#closed || !rows.length) return;
    const room = Math.max(this.#opts.maxBufferedRows - this.#bufferedRows, 0);
    if (room < rows.length) this.stats.rowsDropped += rows.length - room;
    let parts: string[] = [];
    let bytes = 2;
    const close = () => {
      if (!parts.length) return;
      const json = `[${parts.join(",")}]`;
      const size = sampleEntryBytes(table, probe, json);
      if (size > this.#opts.maxBytes) {
        this.stats.rowsDropped += parts.length; // a budget smaller than one chunk
      } else {
        this.#buffer.push({ probe, table, ts, rows: parts.length, json, bytes: size });
        this.#bufferedRows += parts.length;
      }
      parts = [];
      bytes = 2;
    };
    for (let i = 0; i < Math.min(room, rows.length); i++) {
      const text = JSON.stringify(rows[i]);
      if (text.length + 1 > CHUNK_BYTES - 2) {
        this.stats.rowsDropped++; // a single row over 60 KB: not a sample
        continue;
      }
      if (bytes + text.length + 1 > CHUNK_BYTES) close();
      parts.push(text);
      bytes += text.length + 1;
    }
    close();
  }

  /** Write everything buffered, in atomic batches. Concurrent calls are serialised. */
  flush(): Promise<void> {
    this.#flushing = this.#flushing.then(() => this.#flushNow());
    return this.#flushing;
  }

  async #flushNow(): Promise<void> {
    const commitBytes = Math.min(COMMIT_BYTES, this.#opts.maxBytes);
    while (this.#buffer.length) {
      let n = 0;
      let bytes = 0;
      while (
        n < this.#buffer.length && n < MAX_CHUNKS_PER_COMMIT &&
        (n === 0 || bytes + this.#buffer[n].bytes < commitBytes)
      ) {
        bytes += this.#buffer[n++].bytes;
      }
      const batch = this.#buffer.splice(0, n);
      const rows = batch.reduce((a, c) => a + c.rows, 0);
      this.#bufferedRows -= rows;
      // Room for the batch: the deletes that do not fit beside its sets go in commits first.
      let victims = this.#victims(bytes);
      const alongside = MAX_MUTATIONS - batch.length;
      if (victims > alongside) {
        if (!await this.#deleteOldest(victims - alongside)) {
          this.stats.rowsDropped += rows; // not written: it would overrun the budget
          continue;
        }
        victims = alongside;
      }
      const op = this.#kv.atomic();
      for (let i = 0; i < victims; i++) op.delete(this.#index.key(i));
      const seq0 = this.#seq;
      for (const c of batch) {
        const value: StoredChunk = { probe: c.probe, ts: c.ts, n: c.rows, rows: c.json };
        op.set(["sample", c.table, c.ts, this.#seq++], value, {
          expireIn: this.#opts.retentionMs,
        });
      }
      try {
        await op.commit();
      } catch {
        // A disk error: count and go on; samples are best-effort, configs are not written here.
        this.stats.commitErrors++;
        this.stats.rowsDropped += rows;
        continue;
      }
      this.#forgetOldest(victims);
      batch.forEach((c, i) => this.#index.push(c.table, c.ts, seq0 + i, c.bytes, c.rows));
      this.stats.bytesStored = this.#index.bytes;
      this.stats.rowsWritten += rows;
      this.stats.commits++;
    }
    // Nothing (more) to write: expired chunks still go now, so the bytes said are the bytes there.
    const expired = this.#victims(0);
    if (expired) await this.#deleteOldest(expired);
  }

  /**
   * How many of the oldest chunks must go before `incoming` bytes are written: those past
   * retention (KV would collect them, but only some time later), then the oldest while the total
   * is over the budget.
   */
  #victims(incoming: number): number {
    const cutoff = Date.now() - this.#opts.retentionMs;
    let excess = this.#index.bytes + incoming - this.#opts.maxBytes;
    let n = 0;
    while (n < this.#index.length && (excess > 0 || this.#index.ts(n) <= cutoff)) {
      excess -= this.#index.bytesOf(n++);
    }
    return n;
  }

  /** Delete the `n` oldest chunks in commits of their own; false (and counted) on a disk error. */
  async #deleteOldest(n: number): Promise<boolean> {
    while (n > 0) {
      const k = Math.min(n, MAX_MUTATIONS);
      const op = this.#kv.atomic();
      for (let i = 0; i < k; i++) op.delete(this.#index.key(i));
      try {
        await op.commit();
      } catch {
        this.stats.commitErrors++;
        return false;
      }
      this.#forgetOldest(k);
      n -= k;
    }
    this.stats.bytesStored = this.#index.bytes;
    return true;
  }

  /** Drop the `n` oldest chunks, deleted from KV, from the index; count those taken early. */
  #forgetOldest(n: number): void {
    const cutoff = Date.now() - this.#opts.retentionMs;
    for (let i = 0; i < n; i++) {
      if (this.#index.ts(i) > cutoff) {
        this.stats.chunksEvicted++;
        this.stats.rowsEvicted += this.#index.rowsOf(i);
      }
    }
    this.#index.dropOldest(n);
  }

  /**
   * Samples of `table` at or after `sinceMs`, oldest first, at most `limit`.
   * Expired rows are filtered even if KV has not collected them yet.
   */
  async samples(table: string, sinceMs: number, limit: number): Promise<SampleRecord[]> {
    const minTs = Math.max(sinceMs, Date.now() - this.#opts.retentionMs);
    const out: SampleRecord[] = [];
    const iter = this.#kv.list<StoredChunk>({
      start: ["sample", table, minTs],
      end: ["sample", table, Number.MAX_SAFE_INTEGER],
    });
    for await (const e of iter) {
      for (const r of JSON.parse(e.value.rows) as Row[]) {
        out.push({
          table,
          probe: e.value.probe,
          ts: e.value.ts,
          labels: r.labels,
          values: r.values,
        });
        if (out.length >= limit) return out;
      }
    }
    return out;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    clearInterval(this.#timer);
    await this.flush();
    this.#closed = true;
    this.#kv.close();
  }
}
