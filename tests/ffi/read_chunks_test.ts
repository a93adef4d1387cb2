import { assert, assertEquals, assertThrows } from "./assert.ts";
import { BpfError } from "../../ffi/libbpf.ts";
import { readFdChunks } from "../../ffi/program.ts";
import { cstr, libc, O_RDONLY_CLOEXEC } from "../../ffi/libc.ts";

/** A file of `units` units of `unit` bytes (byte i is i mod 251) plus `tail` bytes, opened raw. */
async function unitsFile(units: number, unit: number, tail: number) {
  const path = await Deno.makeTempFile({ prefix: "demarc-chunks-" });
  const bytes = new Uint8Array(units * unit + tail).map((_, i) => i % 251);
  await Deno.writeFile(path, bytes);
  const fd = libc().open(cstr(path), O_RDONLY_CLOEXEC);
  assert(fd >= 0, `open ${path}`);
  return { path, bytes, fd };
}

Deno.test("readFdChunks hands over whole units only, putting split ones back together", async () => {
  // 24-byte units through 64 bytes of room: every read(2) of the file ends inside a unit.
  const { path, bytes, fd } = await unitsFile(1000, 24, 10);
  try {
    const got: number[] = [];
    let chunks = 0;
    const total = readFdChunks(fd, "read test file", new Uint8Array(64), 24, (u) => {
      assertEquals(u.byteLength % 24, 0, "a chunk of whole units");
      assertEquals(u.byteOffset, 0, "units start at the buffer's start");
      got.push(...u);
      chunks++;
    });
    assertEquals(total, bytes.length, "every byte read");
    assertEquals(
      new Uint8Array(got),
      bytes.subarray(0, 24000),
      "units in order, the tail left out",
    );
    assert(chunks >= 24000 / 64, `at most a buffer per chunk (${chunks} chunks)`);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("readFdChunks refuses a buffer shorter than two units, closing the fd", async () => {
  const { path, fd } = await unitsFile(4, 24, 0);
  try {
    const e = assertThrows(
      () => readFdChunks(fd, "read test file", new Uint8Array(40), 24, () => {}),
      BpfError,
    );
    assert(String(e).includes("two units"), String(e));
    assertEquals(libc().close(fd), -1, "the fd was closed already");
  } finally {
    await Deno.remove(path);
  }
});
