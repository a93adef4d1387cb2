/**
 * TypeScript views of the structs in `socket.h` (tested against the C layout).
 *
 * @module
 */

import { defineStruct } from "../../ffi/struct.ts";

/** `LAT_SLOTS`: slot i counts handshakes of at most 2^i µs; the last is +Inf. */
export const LAT_SLOTS = 27;

/** `struct endpoint_key`. */
export const EndpointKey = defineStruct(
  [
    ["tgid", "u32"],
    ["port", "u16"],
    ["role", "u8"],
    ["family", "u8"],
    ["addr", "bytes", 16],
  ] as const,
);

/** `struct endpoint_stats` (latency slots decoded separately). */
export const EndpointStats = defineStruct(
  [
    ["opens", "u64"],
    ["fail_refused", "u64"],
    ["fail_timeout", "u64"],
    ["fail_reset", "u64"],
    ["fail_other", "u64"],
    ["lat_sum_ns", "u64"],
    ["lat_slots", "bytes", 8 * LAT_SLOTS],
    ["comm", "char", 16],
  ] as const,
);

/** `struct listen_snap`. */
export const ListenSnap = defineStruct(
  [
    ["ino", "u64"],
    ["addr", "bytes", 16],
    ["netns", "u32"],
    ["tgid", "u32"],
    ["ack_backlog", "u32"],
    ["max_ack_backlog", "u32"],
    ["drops", "u32"],
    ["port", "u16"],
    ["family", "u8"],
    ["pad", "u8"],
    ["comm", "char", 16],
  ] as const,
);

/** `struct lsn_key` and `struct lsn_owner`. */
export const LsnKey = defineStruct([["netns", "u32"], ["port", "u16"], ["pad", "u16"]] as const);
export const LsnOwner = defineStruct(
  [["tgid", "u32"], ["pad", "u32"], ["comm", "char", 16]] as const,
);

/** Struct names in C, for the layout test. */
export const LAYOUTS = {
  endpoint_key: EndpointKey,
  endpoint_stats: EndpointStats,
  listen_snap: ListenSnap,
  lsn_key: LsnKey,
  lsn_owner: LsnOwner,
};
