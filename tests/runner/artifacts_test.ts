/** A compiled demarc hands probes a real copy of its embedded build dir. */
import { assertEquals } from "../helpers/assert.ts";
import { materializeBuild } from "../../runner/artifacts.ts";

Deno.test("materializeBuild copies BPF objects and jars under the state dir when compiled, and is a no-op otherwise", async () => {
  const build = await Deno.makeTempDir({ prefix: "demarc-build-" });
  const state = await Deno.makeTempDir({ prefix: "demarc-state-" });
  await Deno.mkdir(`${build}/bpf`);
  await Deno.mkdir(`${build}/java`);
  await Deno.writeTextFile(`${build}/bpf/x.bpf.o`, "elf");
  await Deno.writeTextFile(`${build}/java/demarc-agent.jar`, "jar bytes");
  assertEquals(await materializeBuild(build, state, false), build);
  const out = await materializeBuild(build, state, true);
  assertEquals(out, `${state}/build`);
  assertEquals(await Deno.readTextFile(`${out}/bpf/x.bpf.o`), "elf");
  assertEquals(await Deno.readTextFile(`${out}/java/demarc-agent.jar`), "jar bytes");
  assertEquals((await Deno.stat(`${out}/java/demarc-agent.jar`)).mode! & 0o777, 0o644);
  await Deno.writeTextFile(`${build}/java/demarc-agent.jar`, "new jar bytes");
  await materializeBuild(build, state, true);
  assertEquals(await Deno.readTextFile(`${out}/java/demarc-agent.jar`), "new jar bytes");
  await Deno.remove(build, { recursive: true });
  await Deno.remove(state, { recursive: true });
});
