import { LAYOUTS } from "../../../probes/socket/layout.ts";
import { assertLayoutsMatchC } from "../tcp/layout_check.ts";
import { ROOT } from "../tcp/harness.ts";

Deno.test("every TS struct layout of the socket probe matches gcc's sizeof and offsetof of socket.h", async () => {
  await assertLayoutsMatchC(`${ROOT}/probes/socket/socket.h`, LAYOUTS);
});
