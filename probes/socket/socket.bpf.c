// SPDX-License-Identifier: GPL-2.0
// demarc socket probe: per process, active and passive opens, their failures by cause and their
// latency, aggregated in the kernel; listening sockets' accept queues and drops from iter/tcp.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "socket.h"

#define AF_INET6 10
#define IPPROTO_TCP 6

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct pending_conn);
} pending SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct endpoint_key);
	__type(value, struct endpoint_stats);
} endpoints SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u8);
} pids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct lsn_key);
	__type(value, struct lsn_owner);
} owners SEC(".maps");

static __always_inline __u32 netns_of(const struct sock *sk)
{
	return BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
}

static __always_inline void read_addr(__u8 *dst, const struct sock *sk, bool local)
{
	__builtin_memset(dst, 0, 16);
	if (sk->__sk_common.skc_family == AF_INET6) {
		if (local)
			BPF_CORE_READ_INTO((struct in6_addr *)dst, sk, __sk_common.skc_v6_rcv_saddr);
		else
			BPF_CORE_READ_INTO((struct in6_addr *)dst, sk, __sk_common.skc_v6_daddr);
	} else if (local) {
		BPF_CORE_READ_INTO((__u32 *)dst, sk, __sk_common.skc_rcv_saddr);
	} else {
		BPF_CORE_READ_INTO((__u32 *)dst, sk, __sk_common.skc_daddr);
	}
}

static __always_inline struct endpoint_stats *endpoint(struct pending_conn *p)
{
	struct endpoint_stats *st = bpf_map_lookup_elem(&endpoints, &p->ep);
	if (st)
		return st;
	struct endpoint_stats zero = {};
	__builtin_memcpy(zero.comm, p->comm, SOCK_COMM_LEN);
	bpf_map_update_elem(&endpoints, &p->ep, &zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(&endpoints, &p->ep);
}

static __always_inline void observe(struct endpoint_stats *st, __u64 ns)
{
	__u64 us = ns / 1000;
	__u32 slot = 0;
	for (int i = 0; i < LAT_SLOTS - 1; i++) {
		if ((1ULL << i) >= us)
			break;
		slot = i + 1;
	}
	if (slot >= LAT_SLOTS)
		slot = LAT_SLOTS - 1;
	__sync_fetch_and_add(&st->lat_slots[slot], 1);
	__sync_fetch_and_add(&st->lat_sum_ns, ns);
	__sync_fetch_and_add(&st->opens, 1);
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(sock_state, const struct sock *sk, const int oldstate, const int newstate)
{
	if (sk->sk_protocol != IPPROTO_TCP)
		return 0;
	__u64 key = (__u64)sk;
	if (newstate == TCP_LISTEN) {
		struct lsn_key lk = { .netns = netns_of(sk), .port = sk->__sk_common.skc_num };
		struct lsn_owner lo = { .tgid = bpf_get_current_pid_tgid() >> 32 };
		bpf_get_current_comm(lo.comm, sizeof(lo.comm));
		bpf_map_update_elem(&owners, &lk, &lo, BPF_ANY);
		return 0;
	}
	if (oldstate == TCP_LISTEN && newstate == TCP_CLOSE) {
		struct lsn_key lk = { .netns = netns_of(sk), .port = sk->__sk_common.skc_num };
		bpf_map_delete_elem(&owners, &lk);
		return 0;
	}
	if (newstate == TCP_SYN_SENT || newstate == TCP_SYN_RECV) {
		struct pending_conn p = {};
		if (newstate == TCP_SYN_SENT) {
			/* Inside connect(): current is the client. */
			p.ep.tgid = bpf_get_current_pid_tgid() >> 32;
			bpf_get_current_comm(p.comm, sizeof(p.comm));
			p.ep.role = SROLE_CLIENT;
			p.ep.port = bpf_ntohs(sk->__sk_common.skc_dport);
			read_addr(p.ep.addr, sk, false);
		} else {
			struct lsn_key lk = { .netns = netns_of(sk), .port = sk->__sk_common.skc_num };
			struct lsn_owner *lo = bpf_map_lookup_elem(&owners, &lk);
			if (!lo)
				return 0;
			p.ep.tgid = lo->tgid;
			__builtin_memcpy(p.comm, lo->comm, SOCK_COMM_LEN);
			p.ep.role = SROLE_SERVER;
			p.ep.port = sk->__sk_common.skc_num;
			read_addr(p.ep.addr, sk, true);
		}
		if (!bpf_map_lookup_elem(&pids, &p.ep.tgid))
			return 0;
		p.ep.family = sk->__sk_common.skc_family;
		p.start_ns = bpf_ktime_get_ns();
		bpf_map_update_elem(&pending, &key, &p, BPF_ANY);
		return 0;
	}
	if (newstate != TCP_ESTABLISHED && newstate != TCP_CLOSE)
		return 0;
	struct pending_conn *p = bpf_map_lookup_elem(&pending, &key);
	if (!p)
		return 0;
	struct endpoint_stats *st = endpoint(p);
	if (st && newstate == TCP_ESTABLISHED) {
		__u64 ns;
		if (p->ep.role == SROLE_CLIENT) {
			ns = bpf_ktime_get_ns() - p->start_ns;
		} else {
			/* The server entry is born when the final ACK arrives: its handshake time is the
			 * SYN-ACK round trip, the first RTT sample. */
			struct tcp_sock *tp = bpf_skc_to_tcp_sock((void *)sk);
			ns = tp ? (__u64)(tp->srtt_us >> 3) * 1000 : 0;
		}
		observe(st, ns);
	} else if (st) {
		int err = sk->sk_err;
		if (err == 111)
			__sync_fetch_and_add(&st->fail_refused, 1);
		else if (err == 110)
			__sync_fetch_and_add(&st->fail_timeout, 1);
		else if (err == 104)
			__sync_fetch_and_add(&st->fail_reset, 1);
		else
			__sync_fetch_and_add(&st->fail_other, 1);
	}
	bpf_map_delete_elem(&pending, &key);
	return 0;
}

SEC("iter/tcp")
int dump_listeners(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	if (!skc || skc->skc_state != TCP_LISTEN)
		return 0;
	struct tcp_sock *tp = bpf_skc_to_tcp_sock(skc);
	if (!tp)
		return 0;
	const struct sock *sk = (const struct sock *)tp;
	struct listen_snap s = {};
	s.ino = BPF_CORE_READ(sk, sk_socket, file, f_inode, i_ino);
	s.netns = netns_of(sk);
	s.port = sk->__sk_common.skc_num;
	s.family = sk->__sk_common.skc_family;
	read_addr(s.addr, sk, true);
	s.ack_backlog = sk->sk_ack_backlog;
	s.max_ack_backlog = sk->sk_max_ack_backlog;
	s.drops = BPF_CORE_READ(sk, sk_drops.counter);
	struct lsn_key lk = { .netns = s.netns, .port = s.port };
	struct lsn_owner *lo = bpf_map_lookup_elem(&owners, &lk);
	if (lo) {
		s.tgid = lo->tgid;
		__builtin_memcpy(s.comm, lo->comm, SOCK_COMM_LEN);
	}
	bpf_seq_write(ctx->meta->seq, &s, sizeof(s));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
