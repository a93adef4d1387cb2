import { assert, assertEquals } from "./assert.ts";
import {
  dropCleanFilePages,
  FilePageTrimmer,
  residentFileKb,
  smapsMappings,
} from "../../ffi/resident.ts";

Deno.test("dropCleanFilePages lets go of the executable's clean pages and the process runs on", () => {
  const before = smapsMappings(Deno.readTextFileSync("/proc/self/smaps"));
  const exe = Deno.execPath();
  const copied = before.filter((m) => m.path.startsWith(exe) && m.anonKb > 0);
  assert(copied.length > 0, "the executable has relocated (copied on write) pages");
  const fileKb = residentFileKb();
  const dropped = dropCleanFilePages();
  assert(dropped > 4096, `dropped ${dropped} kB`);
  assert(residentFileKb() < fileKb - 4096, "the process's file-backed RSS went down");
  // What is used again comes back, the same bytes: JSON, regexes, typed arrays, Intl all run.
  assertEquals(JSON.parse(JSON.stringify({ a: [1, 2] })), { a: [1, 2] });
  assertEquals(/b+/.exec("abbbc")?.[0], "bbb");
  assertEquals(new Intl.NumberFormat("en-US").format(1234567), "1,234,567");
  const after = smapsMappings(Deno.readTextFileSync("/proc/self/smaps"));
  for (const m of copied) {
    const now = after.find((a) => a.start === m.start);
    assert(now && now.anonKb >= m.anonKb, `copied pages of ${m.path} kept`);
  }
});

Deno.test("smapsMappings reads ranges, permissions, paths, Rss and Anonymous", () => {
  const text = [
    "55d0c0000000-55d0c0400000 r--p 00000000 08:01 123 /usr/bin/deno",
    "Size:               4096 kB",
    "Rss:                1200 kB",
    "Anonymous:             0 kB",
    "7f0000000000-7f0000021000 rw-p 00000000 00:00 0 ",
    "Rss:                  64 kB",
    "Anonymous:            64 kB",
  ].join("\n");
  assertEquals(smapsMappings(text), [
    {
      start: 0x55d0c0000000n,
      end: 0x55d0c0400000n,
      perms: "r--p",
      path: "/usr/bin/deno",
      rssKb: 1200,
      anonKb: 0,
    },
    {
      start: 0x7f0000000000n,
      end: 0x7f0000021000n,
      perms: "rw-p",
      path: "",
      rssKb: 64,
      anonKb: 64,
    },
  ]);
});

Deno.test("FilePageTrimmer drops first, then only when file pages grow past the steady level", () => {
  const t = new FilePageTrimmer(64 * 1024); // a slack no test run reaches
  assert(t.tick() > 0, "the first tick drops");
  assertEquals(t.tick(), 0, "the next takes the steady level");
  assertEquals(t.tick(), 0, "within the slack: nothing dropped");
  const low = new FilePageTrimmer(0);
  low.tick();
  low.tick();
  // Touch code and data not run yet: a fresh regex engine path, Intl's date formats.
  new Intl.DateTimeFormat("de-DE", { dateStyle: "full" }).format(new Date(0));
  assert(low.tick() > 0, "grown past a slack of 0: dropped again");
});
