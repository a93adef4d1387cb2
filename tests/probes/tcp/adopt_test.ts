/**
 * Adoption of sockets that existed before their process was watched (probes/tcp/adopt.ts): the
 * owners come from a /proc scan, and the kernel inserts the entries in a second walk while it
 * holds each socket (TcpKernel.adoptSockets). A connection that closed between the scan and the insert must not be
 * tracked: its address is free memory then, soon another socket's, which the periodic read
 * would report under the old owner.
 */

import { assert, assertEquals } from "../../ffi/assert.ts";
import { NetnsSet } from "../../../ffi/libbpf.ts";
import { planAdoption } from "../../../probes/tcp/adopt.ts";
import { TcpKernel } from "../../../probes/tcp/kernel.ts";
import { decodeSnaps, FIELDS, SCAN } from "../../../probes/tcp/layout.ts";
import { buildDirFor, sleep } from "./harness.ts";

const SIZES = { maxConnections: 1024, maxListeners: 64, maxPids: 64, ringbufSize: 1 << 16 };

/** A loopback connection of this process: both its sockets are this process's. */
async function connection(l: Deno.TcpListener, port: number) {
  const accepted = l.accept();
  const client = await Deno.connect({ hostname: "127.0.0.1", port });
  return { client, server: await accepted };
}

Deno.test("adoption tracks the connections still open, not one that closed after the scan", async () => {
  // All made before the kernel side starts: it saw none of them being created.
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  const kept = [await connection(l, port), await connection(l, port)];
  const gone = await connection(l, port);
  const dir = await buildDirFor("tcp");
  const kernel = await TcpKernel.open(`${dir}/bpf/tcp.bpf.o`, SIZES, () => {});
  const netns = new NetnsSet();
  try {
    const fields = FIELDS.tcp_stats;
    kernel.setCfg(SCAN.EMIT, fields);
    const scan = kernel.readUntracked(netns).map((b: Uint8Array) => b.slice());
    kernel.setCfg(SCAN.OFF, fields);
    const plan = planAdoption(kernel, scan, new Set([Deno.pid]));
    assertEquals(plan.listeners, 1, "the listener's owner recorded");
    assertEquals(plan.connections.length, 6, "three connections, both ends, found in /proc");
    // Closed by both ends after the /proc scan found its owner: both sockets pass CLOSE before
    // the adoption's insert.
    gone.client.close();
    gone.server.close();
    await sleep(200);
    assertEquals(kernel.adoptSockets(plan.connections, netns), 4, "two connections, both ends");
    assertEquals(kernel.trackedCount(), 4, "no entry for the closed connection's sockets");
    assertEquals(kernel.stats().adopted, 4);

    const read: Uint8Array[] = [];
    kernel.readTracked({ begin: () => {}, records: (b) => read.push(b.slice()) });
    const live = decodeSnaps(read);
    assertEquals(live.length, 4);
    const localPorts = new Set<number>();
    for (const c of kept) {
      localPorts.add((c.client.localAddr as Deno.NetAddr).port);
      localPorts.add((c.server.localAddr as Deno.NetAddr).port);
    }
    for (const s of live) {
      assertEquals(s.tgid, Deno.pid);
      assertEquals(s.role, s.sport === port ? 2 : 1, `role of the socket on port ${s.sport}`);
      assert(s.sport === port || localPorts.has(s.sport), `port ${s.sport} is a kept connection's`);
    }
    // A tracked socket's close still deletes its entry.
    kept[0].client.close();
    kept[0].server.close();
    await sleep(200);
    assertEquals(kernel.trackedCount(), 2);
  } finally {
    for (const c of kept) {
      for (const s of [c.client, c.server]) {
        try {
          s.close();
        } catch { /* closed above */ }
      }
    }
    l.close();
    kernel.close();
  }
});
