import { LAYOUTS } from "../../../probes/tcp/layout.ts";
import { assertLayoutsMatchC } from "./layout_check.ts";
import { ROOT } from "./harness.ts";

Deno.test("every TS struct layout of the tcp probe matches gcc's sizeof and offsetof of tcp.h", async () => {
  await assertLayoutsMatchC(`${ROOT}/probes/tcp/tcp.h`, LAYOUTS);
});
