/**
 * Parsing /proc/<pid>/net/tcp and tcp6 (probes/tcp/proc_net.ts): sample lines in the kernel's
 * format, and this process's own sockets read back.
 */

import { assert, assertEquals, assertThrows } from "../../ffi/assert.ts";
import { parseProcNetTcp, readProcNetTcp, TCP_STATE } from "../../../probes/tcp/proc_net.ts";

const HEADER =
  "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n";

Deno.test("net/tcp lines give addresses in network order, host-order ports, state and inode", () => {
  const text = HEADER +
    "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0\n" +
    "   1: 0201A8C0:D431 0A01A8C0:01BB 01 00000000:00000000 02:000001F4 00000000  1000        0 77 2 0000000000000000 20 4 30 10 -1\n";
  const [listener, conn] = parseProcNetTcp(text, 2);
  assertEquals(listener.state, TCP_STATE.LISTEN);
  assertEquals([...listener.laddr.subarray(0, 4)], [127, 0, 0, 1]);
  assertEquals(listener.lport, 8080);
  assertEquals(listener.ino, 4242);
  assertEquals(conn.state, TCP_STATE.ESTABLISHED);
  assertEquals([...conn.laddr.subarray(0, 4)], [192, 168, 1, 2]);
  assertEquals(conn.lport, 0xd431);
  assertEquals([...conn.raddr.subarray(0, 4)], [192, 168, 1, 10]);
  assertEquals(conn.rport, 443);
  assertEquals([...conn.laddr.subarray(4)], new Array(12).fill(0), "IPv4: the rest zero");
});

Deno.test("net/tcp6 lines give all 16 address bytes", () => {
  const text = HEADER +
    "   0: 00000000000000000000000001000000:0050 0000000000000000FFFF00000100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 99 1 0000000000000000 20 4 30 10 -1\n";
  const [s] = parseProcNetTcp(text, 10);
  assertEquals(s.family, 10);
  assertEquals([...s.laddr], [...new Array(15).fill(0), 1], "::1");
  assertEquals(
    [...s.raddr],
    [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1],
    "::ffff:127.0.0.1",
  );
  assertEquals(s.rport, 50000);
});

Deno.test("a line not in the kernel's format is an error naming the file and line", () => {
  const err = assertThrows(
    () => parseProcNetTcp(HEADER + "   0: nonsense\n", 2, "/proc/1/net/tcp"),
    Error,
  );
  assert(String(err).includes("/proc/1/net/tcp line 2"), String(err));
  const bad = "   0: 0100007G:0050 00000000:0000 0A 0 0 0 0 0 1\n";
  assertThrows(() => parseProcNetTcp(HEADER + bad, 2), Error, "a G in the address");
});

Deno.test("this process's own listener and connection are listed with their inodes", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  const accepted = l.accept();
  const client = await Deno.connect({ hostname: "127.0.0.1", port });
  const server = await accepted;
  try {
    const mine = readProcNetTcp(Deno.pid)!;
    const listener = mine.find((s) => s.lport === port && s.state === TCP_STATE.LISTEN);
    assert(listener && listener.ino > 0, "the listener, with its inode");
    const cport = (client.localAddr as Deno.NetAddr).port;
    const c = mine.find((s) => s.lport === cport && s.rport === port);
    assert(c, "the client's socket");
    assertEquals(c.state, TCP_STATE.ESTABLISHED);
    assertEquals([...c.raddr.subarray(0, 4)], [127, 0, 0, 1]);
    const inodes = new Set<number>();
    for (const e of Deno.readDirSync("/proc/self/fd")) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(Deno.readLinkSync(`/proc/self/fd/${e.name}`));
        if (m) inodes.add(Number(m[1]));
      } catch { /* an fd closed meanwhile */ }
    }
    assert(inodes.has(c.ino) && inodes.has(listener.ino), "inodes as /proc/self/fd names them");
    assertEquals(readProcNetTcp(2 ** 22 + 1), undefined, "no such process");
  } finally {
    client.close();
    server.close();
    l.close();
  }
});
