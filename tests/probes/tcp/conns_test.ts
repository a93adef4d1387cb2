import { assert, assertEquals } from "../../ffi/assert.ts";
import { type ConnList, ConnSlots, NONE } from "../../../probes/tcp/conns.ts";

interface TestFlow extends ConnList {
  name: string;
}
const flowOf = (name: string): TestFlow => ({ name, head: NONE, count: 0 });

/** The sockets on a flow's list, walked both ways (the links must agree). */
function members(c: ConnSlots<TestFlow>, f: TestFlow): number[] {
  const out: number[] = [];
  let last = NONE;
  for (let s = f.head; s !== NONE; s = c.next[s]) {
    assertEquals(c.prev[s], last, `prev of slot ${s}`);
    assertEquals(c.flow[s], f, `flow of slot ${s}`);
    out.push(c.sk[s]);
    last = s;
  }
  assertEquals(out.length, f.count, `count of ${f.name}`);
  return out.sort((a, b) => a - b);
}

Deno.test("connection slots: lists, moves, removals and growth keep every socket's flow and values", () => {
  const c = new ConnSlots<TestFlow>(2, 3);
  const a = flowOf("a"), b = flowOf("b");
  // 1,000 sockets force several doublings; 48-bit addresses like the kernel's.
  const base = 0xffff_8880_0000;
  for (let i = 0; i < 1000; i++) {
    const s = c.add(base + i * 64, i % 2 ? b : a, 100 + i, 1 + (i % 2));
    c.store(s, new Float64Array([2 ** 40 + i, i, i + 1, i + 2, 2 ** 32 - 1]));
  }
  assertEquals(c.size, 1000);
  assertEquals(members(c, a).length, 500);
  assertEquals(members(c, b).length, 500);
  for (let i = 0; i < 1000; i++) {
    const s = c.find(base + i * 64);
    assert(s !== NONE, `socket ${i} has a slot`);
    assertEquals(c.tgid[s], 100 + i);
    assertEquals(c.wide[s * 2], 2 ** 40 + i, "64-bit values stay exact");
    assertEquals([...c.narrow.subarray(s * 3, s * 3 + 3)], [i + 1, i + 2, 2 ** 32 - 1]);
  }
  // Move every tenth socket of a to b, remove every third socket.
  for (let i = 0; i < 1000; i += 20) c.move(c.find(base + i * 64), b);
  for (let i = 0; i < 1000; i += 3) c.remove(c.find(base + i * 64));
  assertEquals(c.find(base), NONE);
  const inA = members(c, a), inB = members(c, b);
  assertEquals(inA.length + inB.length, c.size);
  for (let i = 0; i < 1000; i++) {
    const sk = base + i * 64;
    const want = i % 3 === 0 ? "gone" : i % 2 === 0 && i % 20 !== 0 ? "a" : "b";
    const got = inA.includes(sk) ? "a" : inB.includes(sk) ? "b" : "gone";
    assertEquals(got, want, `socket ${i}`);
  }
  // A freed slot is reused with its values zeroed and its state reset.
  const s = c.add(base, a, 7, 2);
  assertEquals([c.wide[s * 2], c.narrow[s * 3], c.counted[s], c.seen[s]], [0, 0, 0, 0]);
  assertEquals(members(c, a).includes(base), true);
  assertEquals([...c.slots()].length, c.size);
});
