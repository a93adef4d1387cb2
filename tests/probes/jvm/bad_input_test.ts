/**
 * Bad targets give a clear reason in `GET /sermant` and the log, and the runner keeps serving
 * (it attaches to a good JVM right after).
 */

import assert from "node:assert/strict";
import { type Demarc, startDemarc, waitFor } from "../../helpers/demarc.ts";
import { BUILD, jarsBuilt, startApp } from "./apps.ts";
import { jvmStatuses, waitConnected, watch } from "./probe_client.ts";

const ignore = !jarsBuilt();

interface Failure {
  comm: string;
  error: string;
}

async function failureOf(d: Demarc, pid: number): Promise<Failure | undefined> {
  const doc = await d.get<
    { status?: { driver?: { details?: { failures?: Record<string, Failure> } } } }
  >("/sermant");
  return doc.status?.driver?.details?.failures?.[String(pid)];
}

Deno.test({
  name:
    "bad targets: a non-JVM pid, a JVM with attach disabled, a pid that exits during attach: clear errors, runner keeps running",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const d = await startDemarc({ logLevel: "info", buildDir: BUILD });
    try {
      await t.step("a pid that is not a JVM is refused as such", async () => {
        const sleeper = new Deno.Command("sleep", { args: ["300"] }).spawn();
        try {
          await watch(d, [sleeper.pid]);
          const f = await waitFor(
            () => failureOf(d, sleeper.pid),
            20_000,
            "a failure for the sleep pid",
          );
          assert.match(f.error, /not a HotSpot JVM/);
          assert.match(
            d.log(),
            new RegExp(`attach failed.*pid=${sleeper.pid}|pid=${sleeper.pid}.*attach failed`),
          );
        } finally {
          sleeper.kill("SIGKILL");
          await sleeper.status;
        }
      });

      await t.step(
        "a JVM started with -XX:+DisableAttachMechanism is refused with that reason",
        async () => {
          const app = await startApp("jdk-http-server", ["--tls-port", "-1"], {
            jvmArgs: ["-XX:+DisableAttachMechanism"],
          });
          try {
            await watch(d, [app.pid]);
            const f = await waitFor(
              () => failureOf(d, app.pid),
              60_000,
              "a failure for the attach-disabled JVM",
            );
            assert.match(f.error, /DisableAttachMechanism|attach.*disabled/i);
          } finally {
            await app.stop();
          }
        },
      );

      await t.step("a JVM that exits during attach is reported as gone", async () => {
        const app = await startApp("jdk-http-server", ["--tls-port", "-1"]);
        await watch(d, [app.pid]);
        await new Promise((r) => setTimeout(r, 150));
        Deno.kill(app.pid, "SIGKILL");
        await app.stop();
        const f = await waitFor(
          () => failureOf(d, app.pid),
          60_000,
          "a failure for the JVM that exited",
        );
        assert.match(f.error, /exited during attach|does not exist/);
      });

      await t.step("the runner still attaches to a good JVM afterwards", async () => {
        const app = await startApp("jdk-http-server", ["--tls-port", "-1"]);
        try {
          await watch(d, [app.pid]);
          await waitConnected(d, [app.pid]);
          const s = await jvmStatuses(d);
          assert.equal(s[String(app.pid)].state, "connected");
        } finally {
          await app.stop();
        }
      });
    } finally {
      await d.stop();
    }
  },
});
