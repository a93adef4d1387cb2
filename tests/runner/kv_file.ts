/**
 * What a Deno KV file holds on disk, read with SQLite itself (read-only, beside the open store):
 * the store's own byte accounting is checked against this, not against itself.
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";

/** `["sample", ...]` keys start with KV's encoding of the string "sample": 0x02, bytes, 0x00. */
const SAMPLE_PREFIX = new Uint8Array([0x02, ...new TextEncoder().encode("sample"), 0x00]);

/** Sample entries in the file (expired or not, as long as SQLite still has them). */
export function samplesOnDisk(path: string): { entries: number; bytes: number } {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const r = db.prepare(
      "SELECT count(*) AS n, coalesce(sum(length(k) + length(v)), 0) AS bytes FROM kv " +
        "WHERE substr(k, 1, ?) = ?",
    ).get(SAMPLE_PREFIX.length, SAMPLE_PREFIX) as { n: number; bytes: number };
    return { entries: r.n, bytes: r.bytes };
  } finally {
    db.close();
  }
}

/** Bytes of the KV file and its write-ahead log. */
export async function fileSizes(path: string): Promise<{ db: number; wal: number }> {
  const size = async (p: string) => {
    try {
      return (await Deno.stat(p)).size;
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return 0;
      throw e;
    }
  };
  return { db: await size(path), wal: await size(`${path}-wal`) };
}

/** `n` sample rows of about 1 KB each, numbered `from`..: `values.v` is the number. */
export function kbRows(from: number, n: number) {
  return Array.from(
    { length: n },
    (_, i) => ({ labels: { k: from + i, pad: "x".repeat(1000) }, values: { v: from + i } }),
  );
}
