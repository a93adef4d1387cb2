/** compile.sh does every step up to the link and, without denort, stops with a clear message. */
import { assert, assertEquals, assertIncludes } from "./helpers/assert.ts";

const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

Deno.test({
  name: "compile.sh builds and checks everything, then links with DENORT_BIN or says how to get it",
  async fn() {
    const out = await Deno.makeTempDir({ prefix: "demarc-compile-" });
    const env = { ...Deno.env.toObject() };
    const denort = env.DENORT_BIN;
    const o = await new Deno.Command(`${root}/compile.sh`, {
      args: [`${out}/demarc`],
      env,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(o.stderr);
    for (const f of ["build/bpf", "build/java/demarc-agent.jar", "build/java/demarc-attach.jar"]) {
      await Deno.stat(`${root}/${f}`); // built by the script
    }
    if (denort) {
      assertEquals(o.code, 0, err);
      const v = await new Deno.Command(`${out}/demarc`, { args: ["version"], stdout: "piped" })
        .output();
      assertEquals(new TextDecoder().decode(v.stdout).trim(), "demarc 0.1.0");
    } else {
      assertEquals(o.code, 3, err);
      assertIncludes(err, "set DENORT_BIN=");
      assert(!err.includes("error:"), `no error before the link step:\n${err}`);
    }
    await Deno.remove(out, { recursive: true });
  },
});
