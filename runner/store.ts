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

export interface StoreOptions {
  /** Sample retention in milliseconds (KV expiry). */
  retentionMs: number;
  /** Flush buffered samples at least this often. */
  flushIntervalMs?: number;
  /** Rows per atomic commit (Deno KV allows up to 1000 mutations and 800 KiB per commit). */
  batchRows?: number;
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
  #buffer: SampleRecord[] = [];
  #seq = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  #flushing: Promise<void> = Promise.resolve();
  #closed = false;
  readonly stats: StoreStats = { rowsWritten: 0, rowsDropped: 0, commits: 0, commitErrors: 0 };

  private constructor(kv: Deno.Kv, opts: StoreOptions) {
    this.#kv = kv;
    this.#opts = { flushIntervalMs: 1000, batchRows: 400, maxBufferedRows: 200_000, ...opts };
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
    if (this.#closed) return;
    const room = this.#opts.maxBufferedRows - this.#buffer.length;
    if (room < rows.length) this.stats.rowsDropped += rows.length - Math.max(room, 0);
    for (const r of rows.slice(0, Math.max(room, 0))) {
      this.#buffer.push({ table, probe, ts, labels: r.labels, values: r.values });
    }
  }

  /** Write everything buffered, in atomic batches. Concurrent calls are serialised. */
  flush(): Promise<void> {
    this.#flushing = this.#flushing.then(() => this.#flushNow());
    return this.#flushing;
  }

  async #flushNow(): Promise<void> {
    while (this.#buffer.length) {
      const batch = this.#buffer.splice(0, this.#opts.batchRows);
      const op = this.#kv.atomic();
      for (const r of batch) {
        op.set(["sample", r.table, r.ts, this.#seq++], r, { expireIn: this.#opts.retentionMs });
      }
      try {
        await op.commit();
        this.stats.rowsWritten += batch.length;
        this.stats.commits++;
      } catch {
        // Too large a batch (big rows) or a disk error: count and go on; samples are best-effort.
        this.stats.commitErrors++;
        this.stats.rowsDropped += batch.length;
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
    const iter = this.#kv.list<SampleRecord>({
      start: ["sample", table, minTs],
      end: ["sample", table, Number.MAX_SAFE_INTEGER],
    }, { limit });
    for await (const e of iter) out.push(e.value);
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
