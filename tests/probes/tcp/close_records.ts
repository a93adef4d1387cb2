/**
 * Close records from a real run, kept for replaying into a {@link FlowTable} (tests of the
 * per-record path, the record cost bench): the real driver watches short connections in a
 * namespace pair, and every record its flow table is handed is copied on the way in.
 *
 * @module
 */

import { FlowTable } from "../../../probes/tcp/flows.ts";
import { KIND, TcpSnap } from "../../../probes/tcp/layout.ts";
import { allSubprobes, configFor, NetPair, startProbe, Traffic } from "./harness.ts";

/** Records captured from one run, back to back, each `TcpSnap.size` bytes. */
export interface CloseRecords {
  bytes: Uint8Array<ArrayBuffer>;
  count: number;
  clientPid: number;
  serverPid: number;
  clientIp: string;
  serverIp: string;
  /** First server port; the client spread its connections over `ports` ports from it. */
  port: number;
  ports: number;
}

/**
 * Run `conns` short connections (each sending `bytes`) from one client to a server listening
 * on `ports` ports, with the driver watching both, and return the close records it handled.
 * With `complete` (the default) every connection's two close records must have come (at
 * thousands a second a busy host may drop some from the ring: benchmarks pass false).
 *
 * @throws Error when the client could not connect them all, or records are missing
 */
export async function captureCloseRecords(
  conns: number,
  opts: { ports?: number; bytes?: number; port?: number; complete?: boolean } = {},
): Promise<CloseRecords> {
  const ports = opts.ports ?? 1, port = opts.port ?? 6401;
  const net = await NetPair.create();
  const srv = await Traffic.spawn(net.b, ["server", String(port), "--ports", String(ports)]);
  const cli = await Traffic.spawn(net.a, [
    "client",
    net.ipB,
    String(port),
    "--conns",
    String(conns),
    "--ports",
    String(ports),
    "--bytes",
    String(opts.bytes ?? 0),
  ]);
  const chunks: Uint8Array[] = [];
  let closed = 0; // records of kind CLOSED (late resets come on top)
  const original = FlowTable.prototype.onClosedAt;
  FlowTable.prototype.onClosedAt = function capture(
    this: FlowTable,
    buffer: ArrayBufferLike,
    byteOffset: number,
  ) {
    const record = new Uint8Array(buffer.slice(byteOffset, byteOffset + TcpSnap.size));
    chunks.push(record);
    if (record[TcpSnap.offsets.kind] === KIND.CLOSED) closed++;
    return original.call(this, buffer, byteOffset);
  };
  const all = await allSubprobes("tcp");
  const h = await startProbe(
    "tcp",
    // Every close as a record: folding in the kernel would leave these short connections none.
    await configFor("tcp", all, { report_period: 60, fold_closes: false }),
    new Set([srv.pid, cli.pid]),
  );
  try {
    await cli.send();
    const done = await cli.next();
    if (done.connected !== conns) {
      throw new Error(
        `the client connected ${done.connected} of ${conns}: ${JSON.stringify(done)}`,
      );
    }
    await cli.kill();
    // Both sides closed: the server's sockets close as the client's FINs arrive; the driver
    // drains the ring every 100 ms.
    for (let i = 0; i < 100 && closed < 2 * conns; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 300)); // and the late resets that follow the last
    if ((opts.complete ?? true) && closed < 2 * conns) {
      throw new Error(
        `${closed} close records for ${conns} connections (2 each expected); hint: see the ` +
          "driver's lost_events (ring buffer full)",
      );
    }
  } finally {
    FlowTable.prototype.onClosedAt = original;
    await h.close();
    await cli.kill();
    await srv.kill();
    await net.close();
  }
  const bytes = new Uint8Array(chunks.length * TcpSnap.size);
  chunks.forEach((c, i) => bytes.set(c, i * TcpSnap.size));
  return {
    bytes,
    count: chunks.length,
    clientPid: cli.pid,
    serverPid: srv.pid,
    clientIp: net.ipA,
    serverIp: net.ipB,
    port,
    ports,
  };
}

/** A view of record `i` (as the ring buffer hands one: its own DataView at offset 0). */
export function recordView(r: CloseRecords, i: number): DataView {
  return new DataView(r.bytes.buffer, i * TcpSnap.size, TcpSnap.size);
}
