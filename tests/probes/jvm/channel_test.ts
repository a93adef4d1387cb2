/**
 * The channel refuses peers that are not the agent it was made for: wrong secret, a first frame
 * that is not HELLO, an oversized frame. (The agent's own path is covered by the JVM tests.)
 */

import assert from "node:assert/strict";
import { Channel } from "../../../probes/jvm/channel.ts";
import { encodeFrame, FrameType } from "../../../probes/jvm/frames.ts";

async function withChannel(
  fn: (path: string, warnings: string[], hellos: unknown[]) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "demarc-ch-" });
  const path = `${dir}/c.sock`;
  const warnings: string[] = [];
  const hellos: unknown[] = [];
  const ch = new Channel({
    hostPath: path,
    uid: Deno.uid() ?? 0,
    gid: Deno.gid() ?? 0,
    secret: "a".repeat(32),
  }, {
    onHello: (h) => hellos.push(h),
    onFrame: () => {},
    onDisconnect: () => {},
    onWarning: (m) => warnings.push(m),
  });
  await ch.listen();
  try {
    await fn(path, warnings, hellos);
  } finally {
    await ch.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** Send bytes, then read until the runner closes; returns what it answered. */
async function exchange(path: string, bytes: Uint8Array): Promise<number> {
  const conn = await Deno.connect({ transport: "unix", path });
  await conn.write(bytes);
  let got = 0;
  const buf = new Uint8Array(1024);
  for (;;) {
    const n = await conn.read(buf).catch(() => null);
    if (n === null) break;
    got += n;
  }
  conn.close();
  return got;
}

Deno.test("the socket is created mode 0600", async () => {
  await withChannel(async (path) => {
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
  });
});

Deno.test("a HELLO with a wrong secret is closed without an answer", async () => {
  await withChannel(async (path, warnings, hellos) => {
    const hello = {
      secret: "b".repeat(32),
      pid: 1,
      agentVersion: "0.1.0",
      jvm: {},
      instrumentations: [],
    };
    assert.equal(await exchange(path, encodeFrame(FrameType.HELLO, hello)), 0);
    assert.equal(hellos.length, 0);
    assert.match(warnings.join("\n"), /wrong secret/);
  });
});

Deno.test("a first frame other than HELLO is refused", async () => {
  await withChannel(async (path, warnings) => {
    assert.equal(await exchange(path, encodeFrame(FrameType.METRICS, { rows: [] })), 0);
    assert.match(warnings.join("\n"), /expected HELLO/);
  });
});

Deno.test("an oversized frame closes the connection", async () => {
  await withChannel(async (path, warnings) => {
    assert.equal(await exchange(path, new Uint8Array([0x7f, 0, 0, 0, 1])), 0);
    assert.match(warnings.join("\n"), /outside 1\.\./);
  });
});
