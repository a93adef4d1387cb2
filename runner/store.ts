/**
 * The store: Deno KV holding accepted probe configs, per-probe state, and recent samples with a
 * retention TTL. Samples are buffered and written in batches of atomic commits.
 *
 * Keys: `["config", probe]`, `["state", probe, ...key]`, `["sample", table, tsMs, seq]`.
 *
 * @module
 */

import type { ProbeConfig, ProbeState, Row } from "./probe_api.ts";

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
}

const CHUNK_BYTES = 60_000;
/** Deno KV allows 800 KiB of mutations per atomic commit. */
const COMMIT_BYTES = 600_000;

export interface StoreOptions {
  /** Sample retention in milliseconds (KV expiry). */
  retentionMs: number;
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
}

export class Store {
  readonly #kv: Deno.Kv;
  readonly #opts: Required<StoreOptions>;
  #buffer: Chunk[] = [];
  #bufferedRows = 0;
  #seq = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  #flushing: Promise<void> = Promise.resolve();
  #closed = false;
  readonly stats: StoreStats = { rowsWritten: 0, rowsDropped: 0, commits: 0, commitErrors: 0 };

  private constructor(kv: Deno.Kv, opts: StoreOptions) {
    this.#kv = kv;
    this.#opts = { flushIntervalMs: 1000, maxBufferedRows: 200_000, ...opts };
    this.#timer = setInterval(() => void this.flush(), this.#opts.flushIntervalMs);
  }

  /**
   * Open (or create) the KV file at `path` (`:memory:` for none).
   *
   * @throws {Error} with the path and a hint when the file cannot be opened.
   */
  static async open(path: string, opts: StoreOptions): Promise<Store> {
    try {
      return new Store(await Deno.openKv(path), opts);
    } catch (e) {
      throw new Error(
        `cannot open the state store ${path}: ${
          (e as Error).message
        } (hint: check --state-dir is writable)`,
        {
          cause: e,
        },
      );
    }
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
      this.#buffer.push({ probe, table, ts, rows: parts.length, json: `[${parts.join(",")}]` });
      this.#bufferedRows += parts.length;
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
    while (this.#buffer.length) {
      let n = 0;
      let bytes = 0;
      while (
        n < this.#buffer.length && (n === 0 || bytes + this.#buffer[n].json.length < COMMIT_BYTES)
      ) {
        bytes += this.#buffer[n++].json.length;
      }
      const batch = this.#buffer.splice(0, n);
      const rows = batch.reduce((a, c) => a + c.rows, 0);
      this.#bufferedRows -= rows;
      const op = this.#kv.atomic();
      for (const c of batch) {
        op.set(["sample", c.table, c.ts, this.#seq++], { probe: c.probe, ts: c.ts, rows: c.json }, {
          expireIn: this.#opts.retentionMs,
        });
      }
      try {
        await op.commit();
        this.stats.rowsWritten += rows;
        this.stats.commits++;
      } catch {
        // A disk error: count and go on; samples are best-effort, configs are not written here.
        this.stats.commitErrors++;
        this.stats.rowsDropped += rows;
      }
    }
  }

  /**
   * Samples of `table` at or after `sinceMs`, oldest first, at most `limit`.
   * Expired rows are filtered even if KV has not collected them yet.
   */
  async samples(table: string, sinceMs: number, limit: number): Promise<SampleRecord[]> {
    const minTs = Math.max(sinceMs, Date.now() - this.#opts.retentionMs);
    const out: SampleRecord[] = [];
    const iter = this.#kv.list<{ probe: string; ts: number; rows: string }>({
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
