/**
 * TypeScript views of the structs in `tcp.h` (tested against the C layout).
 *
 * @module
 */

import { defineStruct } from "../../ffi/struct.ts";

/** `struct tcp_snap`: one socket read by iter/tcp or at close. */
export const TcpSnap = defineStruct(
  [
    ["sk", "x64"],
    ["ino", "u64"],
    ["bytes_sent", "u64"],
    ["bytes_acked", "u64"],
    ["bytes_received", "u64"],
    ["connect_ns", "u64"],
    ["saddr", "bytes", 16],
    ["daddr", "bytes", 16],
    ["pad", "u32"],
    ["sport", "u16"],
    ["dport", "u16"],
    ["family", "u8"],
    ["kind", "u8"],
    ["role", "u8"],
    ["established", "u8"],
    ["tgid", "u32"],
    ["srtt_us", "u32"],
    ["rttvar_us", "u32"],
    ["rcv_rtt_us", "u32"],
    ["syn_srtt_us", "u32"],
    ["snd_cwnd", "u32"],
    ["snd_ssthresh", "u32"],
    ["snd_wnd", "u32"],
    ["rcv_wnd", "u32"],
    ["total_retrans", "u32"],
    ["lost_out", "u32"],
    ["sacked_out", "u32"],
    ["reordering", "u32"],
    ["rto_jiffies", "u32"],
    ["ato_jiffies", "u32"],
    ["mss", "u32"],
    ["segs_out", "u32"],
    ["segs_in", "u32"],
    ["notsent_bytes", "u32"],
    ["notacked_bytes", "u32"],
    ["rcvbuf", "u32"],
    ["sndbuf", "u32"],
    ["rmem_alloc", "u32"],
    ["wmem_queued", "u32"],
    ["backlog", "u32"],
    ["drops", "u32"],
    ["rto_count", "u32"],
    ["retrans_failed", "u32"],
    ["rst_sent", "u32"],
    ["rst_recv", "u32"],
    ["zero_wnd_rx", "u32"],
    ["zero_wnd_tx", "u32"],
    ["comm", "char", 16],
  ] as const,
);

/** A decoded `struct tcp_snap`. */
export type Snap = ReturnType<typeof TcpSnap.decode>;

/** Decode every `struct tcp_snap` in some iterator outputs. */
export function decodeSnaps(buffers: readonly Uint8Array[]): Snap[] {
  const out: Snap[] = [];
  for (const bytes of buffers) {
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let off = 0; off + TcpSnap.size <= bytes.byteLength; off += TcpSnap.size) {
      out.push(TcpSnap.decode(dv, off));
    }
  }
  return out;
}

/** `struct conn_info`: value of the `conns` map. */
export const ConnInfo = defineStruct(
  [
    ["established", "u8"],
    ["role", "u8"],
    ["owner_src", "u8"],
    ["pad", "u8"],
    ["tgid", "u32"],
    ["start_ns", "u64"],
    ["connect_ns", "u64"],
    ["syn_srtt_us", "u32"],
    ["retrans_failed", "u32"],
    ["rst_sent", "u32"],
    ["rst_recv", "u32"],
    ["zero_wnd_rx", "u32"],
    ["zero_wnd_tx", "u32"],
    ["listed", "u32"],
    ["comm", "char", 16],
  ] as const,
);

/** `struct flow_key`: key of the fold maps (closed, never listed connections per flow). */
export const FlowKey = defineStruct(
  [
    ["tgid", "u32"],
    ["role", "u8"],
    ["family", "u8"],
    ["server_port", "u16"],
    ["laddr", "bytes", 16],
    ["raddr", "bytes", 16],
  ] as const,
);

/** `HIST_BOUNDS` / `HIST_SLOTS`: histogram bounds the kernel buckets with, and its buckets. */
export const HIST_BOUNDS = 31, HIST_SLOTS = 32;

/** `struct hist_bounds`: value 0 of the `bounds` map. */
export const HistBounds = defineStruct(
  [
    ["connect_ns", "u64", HIST_BOUNDS],
    ["syn_us", "u64", HIST_BOUNDS],
    ["n_connect", "u32"],
    ["n_syn", "u32"],
  ] as const,
);

/** `struct flow_closed`: value of the fold maps, per CPU. */
export const FlowClosed = defineStruct(
  [
    ["bytes_sent", "u64"],
    ["bytes_acked", "u64"],
    ["bytes_received", "u64"],
    ["connect_ns_sum", "u64"],
    ["syn_us_sum", "u64"],
    ["segs_out", "u32"],
    ["segs_in", "u32"],
    ["total_retrans", "u32"],
    ["rto_count", "u32"],
    ["retrans_failed", "u32"],
    ["drops", "u32"],
    ["rst_sent", "u32"],
    ["rst_recv", "u32"],
    ["zero_wnd_rx", "u32"],
    ["zero_wnd_tx", "u32"],
    ["closes", "u32"],
    ["opens", "u32"],
    ["connects", "u32"],
    ["pad", "u32"],
    ["connect_hist", "u32", HIST_SLOTS],
    ["syn_hist", "u32", HIST_SLOTS],
    ["comm", "char", 16],
  ] as const,
);

/** `struct adopt_req`: value of the `adopt` map. */
export const AdoptReq = defineStruct(
  [
    ["ino", "u64"],
    ["tgid", "u32"],
    ["role", "u8"],
    ["owner_src", "u8"],
    ["pad", "u16"],
    ["comm", "char", 16],
  ] as const,
);
/** `struct adopt_key`: key of the `adopt` map (a connection as /proc/<pid>/net/tcp names it). */
export const AdoptKey = defineStruct(
  [
    ["netns", "u32"],
    ["lport", "u16"],
    ["rport", "u16"],
    ["family", "u8"],
    ["pad", "bytes", 3],
    ["laddr", "bytes", 16],
    ["raddr", "bytes", 16],
  ] as const,
);
/** `struct adopt_filter`: value 0 of the `adopt_filter` map, a bit per hash of the ports. */
export const AdoptFilter = defineStruct([["w", "u64", 64]] as const);
/** `ADOPT_BATCH`: entries of the `adopt` map. */
export const ADOPT_BATCH = 4096;
/** `enum demarc_scan`: what iter/tcp does (`tcp_cfg.scan`). */
export const SCAN = { OFF: 0, ADOPT: 2 } as const;

/** `struct tcp_cfg`: value 0 of the `cfg` map. */
export const TcpCfg = defineStruct(
  [
    ["scan", "u32"],
    ["fields", "u32"],
    ["gen", "u32"],
    ["flags", "u32"],
    ["walk", "u32"],
    ["idle", "u32"],
    ["read_id", "u32"],
  ] as const,
);

/** `struct read_state`: value 0 of the `read_state` map (written by the periodic read). */
export const ReadState = defineStruct(
  [
    ["evictions_clean", "u64"],
    ["evictions_now", "u64"],
    ["read_id", "u32"],
    ["clean_valid", "u32"],
    ["now_valid", "u32"],
    ["verify", "u32"],
    ["verify_reads", "u32"],
    ["pad", "u32"],
    ["fence", "u64"],
  ] as const,
);

/** `enum demarc_cfg_flags`. */
export const CFG_FLAGS = {
  SKIP_IDLE: 1 << 0,
  SENDMSG_OWNER: 1 << 1,
  VERIFY: 1 << 2,
  FOLD_CLOSED: 1 << 3,
} as const;

/** `enum demarc_fields`: the value groups a snapshot reads, by the sub-probe that needs them. */
export const FIELDS: Readonly<Record<string, number>> = {
  tcp_stats: 1 << 0,
  tcp_rtt: 1 << 1,
  tcp_windows: 1 << 2,
  tcp_rate: 1 << 3,
  tcp_sockbuf: 1 << 4,
  tcp_abnormal: 1 << 5,
};

/** `struct listener_key` / `struct listener_owner`. */
export const ListenerKey = defineStruct(
  [["netns", "u32"], ["port", "u16"], ["pad", "u16"]] as const,
);
export const ListenerOwner = defineStruct(
  [["tgid", "u32"], ["pad", "u32"], ["comm", "char", 16]] as const,
);

/** `enum demarc_role`. */
export const ROLE = { 0: "unknown", 1: "client", 2: "server" } as const;
/** `enum demarc_owner`. */
export const OWNER = { NONE: 0, CONNECT: 1, LISTENER: 2, SENDMSG: 3, PROC: 4 } as const;
/** `enum demarc_snap_kind`. */
export const KIND = { LIVE: 1, CLOSED: 2, LATE_RST: 5 } as const;
/** `enum demarc_stat`, in index order. */
export const STATS = [
  "inserts",
  "deletes",
  "ringbuf_lost",
  "insert_failures",
  "filtered",
  "no_owner",
  "close_untracked",
  "forked",
  "ringbuf_lost_resets",
  "adopted",
  "change_begin",
  "change_end",
  "folded",
  "fold_full",
] as const;
/** `STAT_MAX`: length of the stats array. */
export const STAT_MAX = 14;

/** Field names of each struct in C, for the layout test. */
export const LAYOUTS = {
  tcp_snap: TcpSnap,
  conn_info: ConnInfo,
  flow_key: FlowKey,
  hist_bounds: HistBounds,
  flow_closed: FlowClosed,
  adopt_req: AdoptReq,
  adopt_key: AdoptKey,
  adopt_filter: AdoptFilter,
  tcp_cfg: TcpCfg,
  read_state: ReadState,
  listener_key: ListenerKey,
  listener_owner: ListenerOwner,
};
