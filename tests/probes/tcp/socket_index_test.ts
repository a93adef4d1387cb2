import { assertEquals } from "../../ffi/assert.ts";
import { SocketIndex } from "../../../probes/tcp/socket_index.ts";

/** A small deterministic generator (xorshift32), so a failure replays. */
function rng(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

Deno.test("socket index: inserts, updates and deletes in any order agree with a Map", () => {
  const idx = new SocketIndex(), ref = new Map<number, number>();
  const rand = rng(0x5eed);
  // Kernel-like addresses: one 48-bit region, multiples of a slab object size, few distinct, so
  // runs of neighbours form, deletes shift entries back and the table grows several times.
  const addr = () => 0xffff_8881_0000_0000 % 2 ** 48 + Math.floor(rand() * 3000) * 2048;
  for (let op = 0; op < 60_000; op++) {
    const sk = addr(), r = rand();
    if (r < 0.5) {
      idx.set(sk, op);
      ref.set(sk, op);
    } else if (r < 0.85) {
      idx.delete(sk);
      ref.delete(sk);
    } else {
      assertEquals(idx.get(sk), ref.get(sk) ?? -1, `lookup of ${sk} at op ${op}`);
    }
    if (op % 5000 === 0) {
      assertEquals(idx.size, ref.size);
      for (const [k, v] of ref) assertEquals(idx.get(k), v, `held ${k} at op ${op}`);
    }
  }
  assertEquals(idx.size, ref.size);
  for (const [k, v] of ref) assertEquals(idx.get(k), v);
  for (const k of [...ref.keys()]) idx.delete(k);
  assertEquals(idx.size, 0);
  assertEquals(idx.get(addr()), -1);
});
