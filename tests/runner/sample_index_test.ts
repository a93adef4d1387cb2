/** The store's chunk index keeps write order and its byte total across wrap-around and growth. */
import { assertEquals } from "../helpers/assert.ts";
import { sampleEntryBytes, SampleIndex } from "../../runner/sample_index.ts";

Deno.test("the chunk index gives chunks back oldest first after wrapping around and growing", () => {
  const index = new SampleIndex();
  let next = 0; // chunks pushed
  let first = 0; // oldest still indexed
  const push = (n: number) => {
    for (let i = 0; i < n; i++, next++) {
      index.push(next % 3 ? "tcp_link" : "proc", 1e12 + next, next, 100 + (next % 7), next % 5);
    }
  };
  const check = () => {
    assertEquals(index.length, next - first);
    let bytes = 0;
    for (let i = 0; i < index.length; i++) {
      const c = first + i;
      assertEquals(index.key(i), ["sample", c % 3 ? "tcp_link" : "proc", 1e12 + c, c]);
      assertEquals(index.rowsOf(i), c % 5);
      bytes += index.bytesOf(i);
    }
    assertEquals(index.bytes, bytes);
  };
  push(1500);
  index.dropOldest(1000);
  first = 1000;
  check();
  push(1000); // wraps around the end of the first 2,048 slots
  check();
  push(3000); // grows while wrapped
  check();
  index.dropOldest(index.length);
  first = next;
  check();
  assertEquals(index.bytes, 0);
});

Deno.test("an entry's size counts non-ASCII JSON at two bytes a character, as V8 stores it", () => {
  const ascii = sampleEntryBytes("t", "p", '[{"comm":"java"}]');
  const wide = sampleEntryBytes("t", "p", '[{"comm":"jäva"}]');
  assertEquals(wide - ascii, '[{"comm":"jäva"}]'.length);
});
