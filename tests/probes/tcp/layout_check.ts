/**
 * Compares TypeScript struct layouts with what gcc computes for the C header they mirror.
 *
 * @module
 */

import { assertEquals } from "../../ffi/assert.ts";

/** A layout as ffi/struct.ts defines it. */
export interface Layout {
  size: number;
  offsets: Readonly<Record<string, number>>;
}

/** Assert every `struct <name>` in `header` has the size and field offsets of `layouts[name]`. */
export async function assertLayoutsMatchC(
  header: string,
  layouts: Record<string, Layout>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "demarc-layout-" });
  const lines: string[] = [];
  for (const [struct, layout] of Object.entries(layouts)) {
    lines.push(`printf("${struct} size %zu\\n", sizeof(struct ${struct}));`);
    for (const field of Object.keys(layout.offsets)) {
      lines.push(`printf("${struct} ${field} %zu\\n", offsetof(struct ${struct}, ${field}));`);
    }
  }
  await Deno.writeTextFile(
    `${dir}/layout.c`,
    `#include <stdio.h>\n#include <stddef.h>\n#include <linux/types.h>\n#include "${header}"\n` +
      `int main(void) {\n${lines.join("\n")}\nreturn 0;\n}\n`,
  );
  const cc = await new Deno.Command("gcc", { args: ["-o", `${dir}/layout`, `${dir}/layout.c`] })
    .output();
  assertEquals(new TextDecoder().decode(cc.stderr), "");
  const out = new TextDecoder().decode((await new Deno.Command(`${dir}/layout`).output()).stdout);
  const c: Record<string, number> = {};
  for (const l of out.trim().split("\n")) {
    const [s, f, v] = l.split(" ");
    c[`${s}.${f}`] = Number(v);
  }
  const ts: Record<string, number> = {};
  for (const [struct, layout] of Object.entries(layouts)) {
    ts[`${struct}.size`] = layout.size;
    for (const [f, o] of Object.entries(layout.offsets)) ts[`${struct}.${f}`] = o;
  }
  assertEquals(ts, c);
  await Deno.remove(dir, { recursive: true });
}
