import { assertEquals } from "../../ffi/assert.ts";
import { LAYOUTS } from "../../../probes/tcp/layout.ts";

const root = new URL("../../..", import.meta.url).pathname;

Deno.test("every TS struct layout matches gcc's sizeof and offsetof of tcp.h", async () => {
  const dir = await Deno.makeTempDir({ prefix: "demarc-layout-" });
  const lines: string[] = [];
  for (const [struct, layout] of Object.entries(LAYOUTS)) {
    lines.push(`printf("${struct} size %zu\\n", sizeof(struct ${struct}));`);
    for (const field of Object.keys(layout.offsets)) {
      lines.push(`printf("${struct} ${field} %zu\\n", offsetof(struct ${struct}, ${field}));`);
    }
  }
  await Deno.writeTextFile(
    `${dir}/layout.c`,
    `#include <stdio.h>\n#include <stddef.h>\n#include <linux/types.h>\n#include "tcp.h"\n` +
      `int main(void) {\n${lines.join("\n")}\nreturn 0;\n}\n`,
  );
  const cc = await new Deno.Command("gcc", {
    args: ["-I", `${root}/probes/tcp`, "-o", `${dir}/layout`, `${dir}/layout.c`],
  }).output();
  assertEquals(new TextDecoder().decode(cc.stderr), "");
  const out = new TextDecoder().decode((await new Deno.Command(`${dir}/layout`).output()).stdout);
  const c: Record<string, number> = {};
  for (const l of out.trim().split("\n")) {
    const [s, f, v] = l.split(" ");
    c[`${s}.${f}`] = Number(v);
  }
  const ts: Record<string, number> = {};
  for (const [struct, layout] of Object.entries(LAYOUTS)) {
    ts[`${struct}.size`] = layout.size;
    for (const [f, o] of Object.entries(layout.offsets)) ts[`${struct}.${f}`] = o;
  }
  assertEquals(ts, c);
  await Deno.remove(dir, { recursive: true });
});
