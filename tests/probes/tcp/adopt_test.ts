/**
 * Adoption of sockets that existed before their process was watched (probes/tcp/adopt.ts): the
 * sockets come from /proc/<pid>/net/tcp, their owners from /proc/<pid>/fd, and the kernel inserts
 * the entries in a walk while it holds each socket (TcpKernel.adoptSockets). A connection that closed between the scan and the insert must not be
 * tracked: its address is free memory then, soon another socket's, which the periodic read
 * would report under the old owner.
 */

import { assert, assertEquals } from "../../ffi/assert.ts";
import { NetnsSet } from "../../../ffi/libbpf.ts";
import { listNamespaces, planAdoption } from "../../../probes/tcp/adopt.ts";
import { TcpKernel } from "../../../probes/tcp/kernel.ts";
import { decodeSnaps, FIELDS } from "../../../probes/tcp/layout.ts";
import { buildDirFor, sleep } from "./harness.ts";

const SIZES = { maxConnections: 1024, maxListeners: 64, maxPids: 64, ringbufSize: 1 << 16 };

/** A loopback connection of this process: both its sockets are this process's. */
async function connection(l: Deno.TcpListener) {
  const { hostname, port } = l.addr as Deno.NetAddr;
  const accepted = l.accept();
  const client = await Deno.connect({ hostname, port });
  return { client, server: await accepted };
}

Deno.test("adoption tracks the connections still open (IPv4 and IPv6), not one that closed after the scan, and none twice", async () => {
  // All made before the kernel side starts: it saw none of them being created.
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const l6 = Deno.listen({ hostname: "::1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port, port6 = (l6.addr as Deno.NetAddr).port;
  const kept = [await connection(l), await connection(l), await connection(l6)];
  const gone = await connection(l);
  const dir = await buildDirFor("tcp");
  const kernel = await TcpKernel.open(`${dir}/bpf/tcp.bpf.o`, SIZES, () => {});
  const netns = new NetnsSet();
  try {
    kernel.setCfg(FIELDS.tcp_stats);
    const plan = planAdoption(kernel, listNamespaces([Deno.pid]), new Set([Deno.pid]));
    assertEquals(plan.listeners, 2, "the listeners' owners recorded");
    assertEquals(plan.connections.length, 8, "four connections, both ends, found in /proc");
    // Closed by both ends after the /proc scan found its owner: both sockets pass CLOSE before
    // the adoption's insert.
    gone.client.close();
    gone.server.close();
    await sleep(200);
    assertEquals(kernel.adoptSockets(plan.connections, netns), 6, "three connections, both ends");
    assertEquals(kernel.trackedCount(), 6, "no entry for the closed connection's sockets");
    assertEquals(kernel.stats().adopted, 6);
    assertEquals(kernel.adoptSockets(plan.connections, netns), 0, "tracked ones are left alone");
    assertEquals(kernel.trackedCount(), 6);

    const read: Uint8Array[] = [];
    kernel.readTracked({ begin: () => {}, records: (b) => read.push(b.slice()) });
    const live = decodeSnaps(read);
    assertEquals(live.length, 6);
    assertEquals(live.filter((s) => s.family === 10).length, 2, "the IPv6 connection's ends");
    const localPorts = new Set<number>();
    for (const c of kept) {
      localPorts.add((c.client.localAddr as Deno.NetAddr).port);
      localPorts.add((c.server.localAddr as Deno.NetAddr).port);
    }
    for (const s of live) {
      assertEquals(s.tgid, Deno.pid);
      const server = s.sport === port || s.sport === port6;
      assertEquals(s.role, server ? 2 : 1, `role of the socket on port ${s.sport}`);
      assert(server || localPorts.has(s.sport), `port ${s.sport} is a kept connection's`);
    }
    // A tracked socket's close still deletes its entry.
    kept[0].client.close();
    kept[0].server.close();
    await sleep(200);
    assertEquals(kernel.trackedCount(), 4);
  } finally {
    for (const c of kept) {
      for (const s of [c.client, c.server]) {
        try {
          s.close();
        } catch { /* closed above */ }
      }
    }
    l.close();
    l6.close();
    kernel.close();
  }
});
