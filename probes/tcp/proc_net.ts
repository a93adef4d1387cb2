/**
 * The TCP sockets of a network namespace as `/proc/<pid>/net/tcp` and `tcp6` list them: what
 * adoption needs (addresses, ports, state, inode) read by the kernel's own listing, so the BPF
 * walk that inserts the adopted entries only has to pick out the few it is asked for.
 *
 * @module
 */

/** One line of /proc/<pid>/net/tcp or tcp6. */
export interface ProcSocket {
  /** 2 AF_INET, 10 AF_INET6. */
  family: 2 | 10;
  /** The kernel's TCP state number (1 ESTABLISHED ... 10 LISTEN). */
  state: number;
  /** 16 bytes in network order; IPv4 in the first 4, the rest zero (as tcp.bpf.c copy_addrs). */
  laddr: Uint8Array;
  lport: number;
  raddr: Uint8Array;
  rport: number;
  /** The socket inode (`socket:[ino]` in a holder's /proc/<pid>/fd); 0 for time-wait sockets. */
  ino: number;
}

/** TCP states (include/net/tcp_states.h). */
export const TCP_STATE = {
  ESTABLISHED: 1,
  SYN_SENT: 2,
  SYN_RECV: 3,
  FIN_WAIT1: 4,
  FIN_WAIT2: 5,
  TIME_WAIT: 6,
  CLOSE: 7,
  CLOSE_WAIT: 8,
  LAST_ACK: 9,
  LISTEN: 10,
  CLOSING: 11,
  NEW_SYN_RECV: 12,
} as const;

/** The kernel prints each 32-bit word of an address as the number it holds in memory. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const HEX = /^[0-9A-Fa-f]+$/;

function parseAddr(hex: string, what: string): Uint8Array {
  const out = new Uint8Array(16);
  const dv = new DataView(out.buffer);
  if ((hex.length !== 8 && hex.length !== 32) || !HEX.test(hex)) {
    throw new Error(`${what}: address "${hex}" is not 8 or 32 hex digits`);
  }
  for (let i = 0; i < hex.length / 8; i++) {
    dv.setUint32(i * 4, parseInt(hex.slice(i * 8, i * 8 + 8), 16), LITTLE_ENDIAN);
  }
  return out;
}

function parseEndpoint(s: string, what: string): [Uint8Array, number] {
  const colon = s.indexOf(":");
  const port = s.slice(colon + 1);
  if (colon < 0 || port.length > 4 || !HEX.test(port)) {
    throw new Error(`${what}: endpoint "${s}" is not <hex address>:<hex port>`);
  }
  return [parseAddr(s.slice(0, colon), what), parseInt(port, 16)];
}

/**
 * The sockets listed in the text of /proc/<pid>/net/tcp (`family` 2) or tcp6 (10).
 *
 * @param source names the file in errors
 * @throws {Error} naming the line when one does not have the kernel's format
 */
export function parseProcNetTcp(text: string, family: 2 | 10, source = "net/tcp"): ProcSocket[] {
  const out: ProcSocket[] = [];
  const lines = text.split("\n");
  for (let i = 1; i < lines.length; i++) { // line 0 is the header
    const line = lines[i].trim();
    if (!line) continue;
    const f = line.split(/\s+/);
    const what = `${source} line ${i + 1}`;
    if (f.length < 10) throw new Error(`${what}: ${f.length} fields, expected at least 10`);
    const [laddr, lport] = parseEndpoint(f[1], what);
    const [raddr, rport] = parseEndpoint(f[2], what);
    const state = parseInt(f[3], 16), ino = Number(f[9]);
    if (!HEX.test(f[3]) || !/^\d+$/.test(f[9])) {
      throw new Error(`${what}: state "${f[3]}" or inode "${f[9]}" is not a number`);
    }
    out.push({ family, state, laddr, lport, raddr, rport, ino });
  }
  return out;
}

/**
 * The TCP sockets (IPv4 and IPv6) of the network namespace of `pid`, or undefined when the
 * process is gone.
 */
export function readProcNetTcp(pid: number): ProcSocket[] | undefined {
  const out: ProcSocket[] = [];
  for (const [file, family] of [["tcp", 2], ["tcp6", 10]] as const) {
    const path = `/proc/${pid}/net/${file}`;
    let text: string;
    try {
      text = Deno.readTextFileSync(path);
    } catch (e) {
      if (file === "tcp6" && e instanceof Deno.errors.NotFound) continue; // no IPv6 here
      return undefined;
    }
    for (const s of parseProcNetTcp(text, family, path)) out.push(s);
  }
  return out;
}
