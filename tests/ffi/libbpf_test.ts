import { assert, assertEquals, assertGreater, assertMatch, assertThrows } from "./assert.ts";
import {
  BPF_NOEXIST,
  BpfError,
  BpfObject,
  enableRunStats,
  ensureTracefs,
  errnoName,
  inNetns,
  NetnsHandle,
  netnsInode,
  possibleCpus,
  RingBuffer,
  unwrap,
} from "../../ffi/libbpf.ts";
import { compileBpf, fixture } from "./build_fixture.ts";
import { u32, u64 } from "../../ffi/struct.ts";

const tinyObj = compileBpf(fixture("tiny.bpf.c"));

async function openTiny(): Promise<BpfObject> {
  return await BpfObject.openFile(await tinyObj, "tiny");
}

function readU64(b: Uint8Array | undefined, off = 0): bigint {
  assert(b, "value present");
  return new DataView(b.buffer, b.byteOffset).getBigUint64(off, true);
}

/** Open and close one loopback TCP connection (drives inet_sock_set_state). */
async function loopbackConnection(): Promise<number> {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  const acc = l.accept();
  const c = await Deno.connect({ hostname: "127.0.0.1", port });
  const s = await acc;
  c.close();
  s.close();
  l.close();
  return port;
}

Deno.test("unwrap passes non-negative values and turns -errno into a named BpfError with a hint", () => {
  assertEquals(unwrap("op", 7), 7);
  assertEquals(unwrap("op", 0n), 0);
  const e = assertThrows(() => unwrap("attach tracepoint x", -2), BpfError);
  assertEquals(e.code, "ENOENT");
  assertEquals(e.errno, 2);
  assertMatch(e.message, /mount -t tracefs nodev \/sys\/kernel\/tracing/);
  assertEquals(errnoName(-13), "EACCES");
  assertEquals(errnoName(9999), "errno 9999");
});

Deno.test("rodata set before load reaches the tp_btf program's ring buffer records", async () => {
  using obj = await openTiny();
  const ro = obj.maps().find((m) => m.name.endsWith(".rodata"));
  assert(ro, "object has a .rodata map");
  ro.initialValue().setUint32(0, 0xdec0de, true);
  obj.load();
  assertThrows(() => ro.initialValue(), BpfError, "rodata is frozen after load");
  obj.program("on_state_btf").attach();
  const seen: Array<{ magic: number; sport: number; newstate: number }> = [];
  const rb = new RingBuffer(obj, obj.map("events"), (d) => {
    const v = new DataView(d.buffer);
    seen.push({
      magic: v.getUint32(0, true),
      sport: v.getUint16(4, true),
      newstate: v.getInt32(12, true),
    });
  });
  const port = await loopbackConnection();
  assertGreater(rb.consume(), 0);
  assert(seen.every((e) => e.magic === 0xdec0de), "every record carries the rodata value");
  // The listener goes CLOSE -> LISTEN (state 10) on the port we bound.
  assert(seen.some((e) => e.sport === port && e.newstate === 10), JSON.stringify(seen.slice(0, 5)));
  assertGreater(readU64(obj.map("counts").lookup(u32(1))), 0n);
});

for (const mode of ["copy", "in place"]) {
  Deno.test(`the ring buffer is read across many wraps of its 4 KB, every record whole, none left (${mode})`, async () => {
    using obj = await openTiny();
    obj.program("on_connect_kprobe").autoload = false;
    obj.maps().find((m) => m.name.endsWith(".rodata"))!.initialValue().setUint32(0, 0xdec0de, true);
    obj.load();
    obj.program("on_state_btf").attach();
    const counts = obj.map("counts"); // key 1: runs of on_state_btf, from the first
    const runsSoFar = () => {
      const v = counts.lookup(u32(1));
      return v ? readU64(v) : 0n;
    };
    let records = 0, bad = 0;
    const check = (v: DataView) => {
      records++;
      const state = v.getInt32(12, true);
      if (v.byteLength !== 16 || v.getUint32(0, true) !== 0xdec0de || state < 1 || state > 12) {
        bad++;
      }
    };
    const rb = mode === "copy"
      ? new RingBuffer(obj, obj.map("events"), (d) => check(new DataView(d.buffer)))
      : new RingBuffer(obj, obj.map("events"), {
        at: (bytes, offset, size) => check(new DataView(bytes.buffer, offset, size)),
      });
    rb.consume();
    const before = runsSoFar();
    records = 0;
    // ~10 transitions a connection, 24 bytes a record (16 + the header): 150 connections wrap the
    // ring ~8 times, records straddling its end among them (4096 is no multiple of 24); consumed
    // after each connection, so the ring never fills.
    for (let i = 0; i < 150; i++) {
      await loopbackConnection();
      rb.consume();
    }
    await new Promise((r) => setTimeout(r, 50));
    rb.consume();
    const runs = Number(runsSoFar() - before);
    assertEquals(bad, 0, "records with a wrong size, magic or state");
    assertGreater(records * 24, 4096 * 5, "the positions went round the ring several times");
    // Every program run wrote one record (other sockets of the host included); runs after the last
    // consume are the only ones not read.
    assert(records <= runs && records >= runs - 40, `consumed ${records} of ${runs} records`);
  });
}

Deno.test("raw_tp and classic tracepoint programs count the same transitions as tp_btf", async () => {
  await ensureTracefs();
  using obj = await openTiny();
  obj.program("on_connect_kprobe").autoload = false;
  obj.load();
  obj.program("on_state_btf").attach();
  obj.program("on_state_raw").attachRawTracepoint("inet_sock_set_state");
  obj.program("on_state_tp").attachTracepoint("sock", "inet_sock_set_state");
  await loopbackConnection();
  const counts = obj.map("counts");
  const btf = readU64(counts.lookup(u32(1)));
  assertGreater(btf, 0n);
  // Other processes may connect meanwhile; the three see the same events, give or take a few.
  const raw = readU64(counts.lookup(u32(2))), tp = readU64(counts.lookup(u32(3)));
  assert(raw > 0n && tp > 0n, `raw=${raw} tp=${tp}`);
});

Deno.test("map update/lookup/delete/keys/batch entries/drain round-trip and per-CPU values come per CPU", async () => {
  using obj = await openTiny();
  obj.map("counts").setMaxEntries(64);
  obj.load();
  const m = obj.map("counts");
  assertEquals(m.maxEntries, 64);
  assertEquals([m.keySize, m.valueSize], [4, 8]);
  for (let i = 10; i < 60; i++) m.update(u32(i), u64(BigInt(i * 3)));
  assertThrows(() => m.update(u32(10), u64(0n), BPF_NOEXIST), BpfError, "EEXIST");
  assertEquals(readU64(m.lookup(u32(42))), 126n);
  assertEquals(m.lookup(u32(9)), undefined);
  assertEquals(m.delete(u32(42)), true);
  assertEquals(m.delete(u32(42)), false);
  assertEquals(m.count(), 49);
  const entries = m.entries(8); // several batches
  assertEquals(entries.length, 49);
  for (const [k, v] of entries) {
    const key = new DataView(k.buffer).getUint32(0, true);
    assertEquals(readU64(v), BigInt(key * 3));
  }
  const hits = obj.map("hits");
  assert(hits.perCpu);
  assertEquals(hits.lookup(u32(0))?.byteLength, 8 * possibleCpus());
  // Drained in several batches: every entry handed over once, with its value, and gone.
  const drained = new Map<number, bigint>();
  const n = m.drain((k, v) => {
    const key = new DataView(k.buffer, k.byteOffset, 4).getUint32(0, true);
    assert(!drained.has(key), `key ${key} drained twice`);
    drained.set(key, new DataView(v.buffer, v.byteOffset, 8).getBigUint64(0, true));
  }, 8);
  assertEquals([n, drained.size], [49, 49]);
  for (const [k, v] of drained) assertEquals(v, BigInt(k * 3));
  assertEquals([m.count(), m.entries().length], [0, 0]);
  assertEquals(m.drain(() => assert(false, "nothing left")), 0);
});

Deno.test("iter/tcp reads the sockets of the caller's namespace, and of another one via inNetns", async () => {
  using obj = await openTiny();
  obj.program("on_connect_kprobe").autoload = false;
  obj.load();
  const link = obj.program("dump_tcp").attachIter();
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  const ports = (b: Uint8Array) => Array.from(new Uint16Array(b.slice().buffer));
  try {
    assert(ports(link.readIter()).includes(port), "our listener is visible");
    // The namespace's listener port is below the ephemeral range (32768-60999 here): under load
    // a connection in this namespace may well have any ephemeral port as its local one.
    const ns = `demarc-ffi-${Deno.pid}`;
    await cmd("ip", ["netns", "add", ns]);
    const child = new Deno.Command("ip", {
      args: [
        "netns",
        "exec",
        ns,
        "python3",
        "-c",
        "import socket,time;s=socket.socket();s.bind(('127.0.0.1',24545));s.listen();time.sleep(30)",
      ],
    }).spawn();
    try {
      using h = new NetnsHandle(`/run/netns/${ns}`);
      let inside: number[] = [];
      for (let i = 0; i < 50 && !inside.includes(24545); i++) {
        await new Promise((r) => setTimeout(r, 100));
        inside = ports(inNetns(h, () => link.readIter()));
      }
      assert(inside.includes(24545), "the namespace's listener is visible from inside");
      assert(!inside.includes(port), "our own listener is not");
      assertEquals(netnsInode("self"), netnsInode(Deno.pid), "the thread is back home");
      assert(!ports(link.readIter()).includes(24545));
    } finally {
      child.kill();
      await child.status;
      await cmd("ip", ["netns", "del", ns]);
    }
  } finally {
    l.close();
  }
});

Deno.test("a kprobe on a locked-down kernel fails to attach with a BpfError, not a crash", async () => {
  using obj = await openTiny();
  obj.load();
  const e = assertThrows(() => obj.program("on_connect_kprobe").attach(), BpfError);
  assertMatch(e.op, /attach on_connect_kprobe/);
  assert(e.hint.length > 0);
});

Deno.test("a program the verifier rejects fails load with the verifier's reason in the message", async () => {
  using obj = await BpfObject.openFile(await compileBpf(fixture("bad.bpf.c")), "bad");
  const e = assertThrows(() => obj.load(), BpfError);
  assertMatch(e.message, /invalid mem access|map_value_or_null/);
});

Deno.test("missing programs and maps are named errors listing what exists", async () => {
  using obj = await openTiny();
  const e = assertThrows(() => obj.program("nope"), BpfError);
  assertEquals(e.code, "ENOENT");
  assertMatch(e.message, /on_state_btf/);
  assertMatch(assertThrows(() => obj.map("nope"), BpfError).message, /counts/);
  assertEquals(
    assertThrows(() => BpfObject.openMem(new Uint8Array([1, 2, 3]), "junk"), BpfError).name,
    "BpfError",
  );
});

Deno.test("closing an object detaches its links and frees its ring buffer once; twice is harmless", async () => {
  const obj = await openTiny();
  obj.program("on_connect_kprobe").autoload = false;
  obj.load();
  const link = obj.program("on_state_btf").attach();
  const rb = new RingBuffer(obj, obj.map("events"), () => {});
  const counts = obj.map("counts");
  obj.close();
  obj.close();
  assertEquals(link.open, false);
  link.close();
  rb.close();
  assertEquals(rb.consume(), 0);
  assertEquals(assertThrows(() => counts.fd, BpfError).code, "EBADF");
});

async function cmd(c: string, args: string[]): Promise<void> {
  const out = await new Deno.Command(c, { args, stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${c} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

Deno.test("program info reports runs and run time while run statistics are enabled", async () => {
  using obj = await openTiny();
  obj.program("on_connect_kprobe").autoload = false;
  obj.load();
  const prog = obj.program("on_state_btf");
  prog.attach();
  const stats = enableRunStats();
  try {
    await loopbackConnection();
    const i = prog.info();
    assertGreater(i.id, 0);
    assertGreater(i.runCount, 0);
    assertGreater(i.runTimeNs, 0);
  } finally {
    stats.close();
  }
});

Deno.test("a cgroup program attached to a cgroup v2 directory sees only that cgroup's traffic", async () => {
  const cg = `/sys/fs/cgroup/unified/demarc-ffi-${Deno.pid}`;
  await Deno.mkdir(cg);
  const obj = await openTiny();
  let child: Deno.ChildProcess | undefined;
  try {
    obj.program("on_connect_kprobe").autoload = false;
    obj.load();
    obj.program("count_egress").attachCgroup(cg);
    const counts = obj.map("counts");
    await loopbackConnection(); // this process is not in the cgroup
    assertEquals(counts.lookup(u32(5)), undefined);
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (l.addr as Deno.NetAddr).port;
    // A child moves itself into the cgroup, then connects.
    child = new Deno.Command("python3", {
      args: [
        "-c",
        `import os,socket\nopen("${cg}/cgroup.procs","w").write(str(os.getpid()))\n` +
        `s=socket.create_connection(("127.0.0.1",${port}));s.sendall(b"x"*1000);s.close()`,
      ],
    }).spawn();
    const c = await l.accept();
    await child.status;
    c.close();
    l.close();
    assertGreater(readU64(counts.lookup(u32(5))), 0n);
  } finally {
    obj.close();
    if (child) await child.status;
    await Deno.remove(cg).catch(() => {});
  }
});

Deno.test("an object loads while a stream of signals arrives (the verifier's EAGAIN on a pending signal)", async () => {
  // The TCP probe's object: its verification takes long enough for signals to land during it.
  // Loaded by `deno run` in a child, as the runner does: on its main thread, the thread a
  // process-wide signal goes to first (`deno test` runs test code on another thread).
  // Unmasked, 2-5 of 5 loads failed here.
  const root = new URL("../..", import.meta.url).pathname;
  const tcpObj = await compileBpf(`${root}probes/tcp/tcp.bpf.c`, [
    `${root}probes/tcp`,
    `${root}probes`,
  ]);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", fixture("load_under_signals.ts"), tcpObj, "8"],
    stdout: "piped",
    stderr: "null",
    signal: AbortSignal.timeout(180_000), // a stuck child fails the test instead of hanging it
  }).output();
  const r = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1) ?? "{}");
  assertGreater(r.receivedBefore, 0, "the sender's signals reach the loading process");
  assertEquals(r.failed, [], "every load succeeds");
  assertEquals(r.loaded, 8);
  assertGreater(r.receivedAfter, r.receivedBefore, "signals are handled again after the loads");
});
