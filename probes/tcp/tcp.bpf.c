// SPDX-License-Identifier: GPL-2.0
// demarc TCP probe: connection lifecycle, retransmissions and resets from TCP tracepoints,
// exact per-socket gauges from iter/tcp. Only tracepoints, tp_btf and iter: kernels in lockdown
// refuse kprobes and fentry. See probes/tcp/README.md for the design.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "tcp.h"

/* A kernel address as a read-only typed pointer (loads fault-safe, like probe reads, but plain
 * loads in the program; the verifier turns the call into a move). */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym;

/* `sk` as a tcp_sock, where the tracepoint guarantees it is one. */
#define as_tcp_sock(sk) \
	((struct tcp_sock *)bpf_rdonly_cast((void *)(sk), bpf_core_type_id_kernel(struct tcp_sock)))

#define AF_INET 2
/* Single loads and stores the compiler may not merge, split or reorder among themselves. */
#define READ_ONCE_U64(x) (*(volatile __u64 *)&(x))
#define READ_ONCE_U32(x) (*(volatile __u32 *)&(x))
#define WRITE_ONCE_U64(x, v) (*(volatile __u64 *)&(x) = (v))
#define WRITE_ONCE_U32(x, v) (*(volatile __u32 *)&(x) = (v))
#define AF_INET6 10
#define IPPROTO_TCP 6

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64); /* struct sock address */
	__type(value, struct conn_info);
} conns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32); /* tgid */
	__type(value, __u8); /* enum demarc_pid_source */
} pids SEC(".maps");

/* Watched tgids by slot (tgid % PID_SLOTS), in front of `pids`: the slot holds the tgid itself,
 * 0 when no watched tgid maps to it, or PID_SLOT_SHARED when several may (then `pids` decides).
 * A watched tgid is always in `pids` or alone in its slot; `pids` holds the runner's pids and
 * the children that found their slot taken. So the common cases cost one load at a fixed address
 * (an array lookup is inlined) instead of a hash lookup, ~150-400 ns of cache misses at fork:
 * an unwatched process (slot 0), a watched one (its own tgid), and a watched process's fork,
 * which writes the child's tgid into a free slot instead of inserting into `pids`.
 * User space (probes/tcp/watched_pids.ts) writes a pid's slot after inserting it into `pids`,
 * and after clearing slots sets again those of the pids still in `pids`; on_fork inserts into
 * `pids` before it marks a slot shared. */
/* 2,048 slots (16 KB): an array map of at most 32 KB is kmalloc'd, in the direct map's huge pages,
 * where a larger one is vmalloc'd, 4 KB pages (a TLB miss per page, dear on a virtual machine).
 * Measured against 8,192 (bench/tcp_ab_bench.ts, three runs): on_fork new/old 0.85-0.88. */
#define PID_SLOTS 2048
#define PID_SLOT_SHARED 0xffffffffULL

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PID_SLOTS);
	__type(key, __u32);
	__type(value, __u64); /* a tgid (array elements take 8 bytes whatever the value) */
} pid_slots SEC(".maps");

/* Adoption requests (struct adopt_req), filled by user space for one adoption walk. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, ADOPT_BATCH);
	__type(key, struct adopt_key);
	__type(value, struct adopt_req);
} adopt SEC(".maps");

/* The ports of the requests in `adopt` (set by user space with them). 512 bytes: the walk's
 * sockets that were not asked for (nearly all) cost a load of one of its 8 lines. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct adopt_filter);
} adopt_filter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct listener_key);
	__type(value, struct listener_owner);
} listeners SEC(".maps");

/* The connections that closed last on this CPU: tcp_disconnect and SO_LINGER 0 send their reset
 * right after setting CLOSE, in the same call on the same CPU; a few slots, because transmitting
 * that reset over a veth can run the peer's close on this CPU in between. Far cheaper than a
 * hash insert on every close. */
#define CLOSING_SLOTS 4

struct last_closed {
	__u64 sk;
	__u64 seq; /* socket memory is reused at once: the newest slot for an address wins */
	struct conn_info ci;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CLOSING_SLOTS + 1); /* slot CLOSING_SLOTS holds the next index */
	__type(key, __u32);
	__type(value, struct last_closed);
} closing SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tcp_cfg);
} cfg SEC(".maps");

/* Activity marks for the periodic read (design: README "Reading only what changed"). Every
 * event that changes a published value of an ESTABLISHED socket either sets this socket's bit
 * in the bitmap of the current read period (received segments, sends, receives,
 * retransmissions, resets, ->ESTABLISHED of a listed entry: all run with the socket hot, and a
 * bit in an 8 KB bitmap costs far less than a `conns` lookup) or follows such an event within
 * one period (delayed ACKs, TLP, pacing); the read that first lists an entry marks it too. Two
 * bitmaps, by the parity of tcp_cfg.gen: the read re-reads a socket only if its bit is set in
 * either (this or the previous period); user space clears the next period's bitmap before it
 * advances gen. Sockets sharing a bit only cause extra reads. Sockets in the closing states
 * (segments arrive there without tcp_probe) are marked on their way in, and a read that finds a
 * socket closing leaves it unknown (`elems`), so every read after reads it in full until it
 * closes. The handshake states need no mark: a new entry is read in full until a read has listed
 * it and once more after, and in SYN_SENT/SYN_RECV only retransmissions (marked) and the move to
 * ESTABLISHED (marked once listed) change anything. Both bitmaps are small enough (8 + 8 KB) to
 * stay in the cache between reads, unlike a byte per socket. */
#define ACT_BITS 16
#define ACT_WORDS ((1 << ACT_BITS) / 64)

struct activity_bits {
	__u64 w[ACT_WORDS];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2); /* by tcp_cfg.gen & 1 */
	__type(key, __u32);
	__type(value, struct activity_bits);
} activity SEC(".maps");

/* Closed connections no read listed, summed per flow (see struct flow_closed): two per-CPU hash
 * maps, one of them current (`folds`[0]). User space swaps them every read: the update of a map
 * of maps returns only once every program that could still hold the old one has finished (the
 * kernel waits an RCU grace period), so the old one is drained with no writer left, with neither
 * a lost add nor a stale pointer into a freed element. A full map sends the close as a record. */
#define FOLD_FLOWS 4096

struct fold_map {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, FOLD_FLOWS);
	__type(key, struct flow_key);
	__type(value, struct flow_closed);
};

struct fold_map fold_a SEC(".maps");
struct fold_map fold_b SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct fold_map);
} folds SEC(".maps") = {
	.values = { [0] = &fold_a },
};

/* A zeroed flow_closed to insert from (too large for the stack beside the key). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct flow_closed);
} fold_zero SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hist_bounds);
} bounds SEC(".maps");

/* A fixed address in no map's elements (the pointer arithmetic below measures from it). */
__u64 addr_anchor;

/* What the periodic read knows of each `conns` element without touching it: the map's elements
 * are one preallocated array, so a value's address gives its index, and this array holds per
 * index the socket's address (set at insert), its hash (for the activity checks) and the walk
 * that last counted it as unchanged. Reading the element would cost a cache miss per entry
 * (~150 ns here): an unchanged socket costs only its slot. info 0 = unknown: look the socket up
 * and read it in full. Cleared at every insert (the element may be one the LRU evicted, its slot
 * another socket's). Trusting a slot only while the value says `listed`, to spare that clear,
 * measured 1-2% less for inet_sock_set_state but twice the read's cost per unchanged socket
 * (101-111 -> 224-234 ns, bench/tcp_ab_bench.ts): the value's line is a miss there.
 * The read walks these slots (read_slots), not the hash table: the slots of the elements in use
 * are dense, 128 to a program run. */
#define ELEM_KNOWN (1U << 31)
#define ELEM_HASH_SHIFT 15 /* bits 15..30: the socket's 16-bit hash */
#define ELEM_WALK_MASK 0x7fffU /* bits 0..14: the walk that counted it unchanged */

struct elem_slot {
	__u32 info; /* ELEM_KNOWN | hash | walk, or 0 */
	__u32 pad;
	__u64 sk;   /* the socket of the element's last insert (0: none, or cleared as stale) */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 65536); /* >= conns' max_entries, a power of two (set at load) */
	__type(key, __u32);
	__type(value, struct elem_slot);
} elems SEC(".maps");

/* The periodic read: one program run per SLOT_CHUNK slots of `elems` (iter/bpf_map_elem over
 * this array, elems' max_entries / SLOT_CHUNK entries, set at load). A run may write a record
 * per slot, and its records must fit the iterator's 32 KB seq buffer (8 pages): 128 x 240 B.
 * A run whose records overflow what earlier runs left of the buffer is run again with an empty
 * one (its output dropped): the chunk remembers what its earlier run of the same read counted
 * and listed, so a repeat neither counts twice nor leaves out a socket. */
#define SLOT_CHUNK 128

struct read_chunk {
	__u32 read_id; /* the read (tcp_cfg.read_id) that last ran this chunk */
	__u32 idle;    /* slots that run counted as unchanged */
	__u64 listed[SLOT_CHUNK / 64]; /* slots that read listed */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 65536 / SLOT_CHUNK); /* elems' max_entries / SLOT_CHUNK (set at load) */
	__type(key, __u32);
	__type(value, struct read_chunk);
} chunks SEC(".maps");

/* Chunks holding a slot some insert has used: the others cost the read one bit. Never cleared
 * (an element once handed out stays in the LRU's rotation). Sized for 2^23 slots. */
#define CHUNK_USED_WORDS 1024
__u64 chunk_used[CHUNK_USED_WORDS];

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct read_state);
} read_state SEC(".maps");

/* The number of elements in a map (the kernel's per-CPU count, kept for hash maps since 6.6), and
 * open-coded loops (6.4). Weak: on an older kernel only read_slots fails to load, and the driver
 * reads through dump_conns instead. */
extern __s64 bpf_map_sum_elem_count(const struct bpf_map *map) __ksym __weak;
extern int bpf_iter_num_new(struct bpf_iter_num *it, int start, int end) __ksym __weak;
extern int *bpf_iter_num_next(struct bpf_iter_num *it) __ksym __weak;
extern void bpf_iter_num_destroy(struct bpf_iter_num *it) __ksym __weak;
#ifdef DEMARC_NO_SLOT_READ /* tests: a kernel without what read_slots needs */
extern void bpf_demarc_not_in_this_kernel(void) __ksym __weak;
#endif

/* A 16-bit Fibonacci hash of the socket address (slab objects: the low 6 bits carry little);
 * the activity slot is all of it. The verifier refuses shifts of a pointer, but the difference
 * of two pointers is a plain number (for root, as everything here): hash the socket's distance
 * from `addr_anchor`. */
static __always_inline __u32 sk_hash(const void *sk)
{
	__u64 d = (__u64)sk - (__u64)&addr_anchor;
	return ((d >> 6) * 0x9E3779B97F4A7C15ULL) >> (64 - ACT_BITS);
}

/* The `elems` index of the `conns` element whose value is at `ci`. Elements are the map's
 * preallocated array, one stride apart (the kernel's struct htab_elem, the key, the value): the
 * distance from any fixed address outside it, divided by the stride, differs by one between
 * neighbours, so modulo a power of two >= max_entries no two elements share a slot. */
static __always_inline __u32 elem_index(const void *ci)
{
	__u64 stride = (bpf_core_type_size(struct htab_elem) + sizeof(__u64) +
			sizeof(struct conn_info) + 7) & ~7ULL;
	__u32 mask = ((struct bpf_map *)&elems)->max_entries - 1;
	__u64 d = (__u64)ci - (__u64)&addr_anchor;
	__u32 idx;
	/* The stride is a constant once CO-RE has relocated it, so the verifier drops the branches
	 * not taken: a shift where it is a power of two (128 here), a division otherwise. */
	if (stride == 128)
		idx = d >> 7;
	else if (stride == 256)
		idx = d >> 8;
	else
		idx = d / stride;
	return idx & mask;
}

static __always_inline struct elem_slot *elem_slot(const void *ci)
{
	__u32 idx = elem_index(ci);
	return bpf_map_lookup_elem(&elems, &idx);
}

static __always_inline void stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);
	if (v)
		*v += 1; /* per-CPU slot: no atomic needed */
}

/* The halves of the sequence count around an insert or delete of `conns` (see begin_read): a
 * value-returning atomic, fully ordered on every architecture (arm64: ldaddal), so the change's own
 * counts are seen between them by a reader on another CPU. */
static __always_inline void change_mark(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);
	if (v) {
		__u64 old = __sync_fetch_and_add(v, 1);
		barrier_var(old);
	}
}

static __always_inline __u64 *pid_slot(__u32 tgid)
{
	__u32 slot = tgid & (PID_SLOTS - 1);
	return bpf_map_lookup_elem(&pid_slots, &slot);
}

static __always_inline bool watched(__u32 tgid)
{
	__u64 *slot = pid_slot(tgid);
	__u64 v = slot ? *slot : PID_SLOT_SHARED;
	if (v == tgid)
		return tgid != 0; /* 0 is a free slot, never a watched tgid */
	if (v == 0)
		return false;
	return bpf_map_lookup_elem(&pids, &tgid) != NULL; /* shared, or another tgid's */
}

static __always_inline struct tcp_cfg *get_cfg(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&cfg, &zero);
}

/* The socket of hash `h` changed in this read period. The atomic OR (bits of one word are set
 * from several CPUs) is skipped when the bit is already set: a busy socket costs one load of a
 * shared line. */
static __always_inline void mark_hash(const struct tcp_cfg *c, __u32 h)
{
	__u32 parity = c->gen & 1;
	struct activity_bits *a = bpf_map_lookup_elem(&activity, &parity);
	if (!a)
		return;
	h &= (1 << ACT_BITS) - 1;
	__u64 *w = &a->w[h / 64], bit = 1ULL << (h % 64);
	if (!(*w & bit))
		__sync_fetch_and_or(w, bit);
}

/* `sk` changed in this read period. */
static __always_inline void mark_active(const void *sk)
{
	struct tcp_cfg *c = get_cfg();
	if (c)
		mark_hash(c, sk_hash(sk));
}

/* The closing states: segments received there pass no tcp_probe (it runs only in
 * tcp_rcv_established). */
#define CLOSING_STATES ((1 << TCP_FIN_WAIT1) | (1 << TCP_FIN_WAIT2) | (1 << TCP_TIME_WAIT) | \
			(1 << TCP_CLOSE_WAIT) | (1 << TCP_LAST_ACK) | (1 << TCP_CLOSING))

static __always_inline int is_closing(int state)
{
	return ((1 << state) & CLOSING_STATES) != 0;
}

/* Was the socket of hash `h` active in this or the previous period? */
static __always_inline bool recently_active(__u32 h)
{
	__u32 zero = 0, one = 1;
	struct activity_bits *a0 = bpf_map_lookup_elem(&activity, &zero);
	struct activity_bits *a1 = bpf_map_lookup_elem(&activity, &one);
	if (!a0 || !a1)
		return true;
	h &= (1 << ACT_BITS) - 1;
	__u64 bit = 1ULL << (h % 64);
	return ((a0->w[h / 64] | a1->w[h / 64]) & bit) != 0;
}

/* sk and tp are trusted BTF pointers (tp_btf arguments, iter/tcp's socket): plain loads, CO-RE
 * relocated through vmlinux.h's preserve_access_index, cost far less than BPF_CORE_READ's probe
 * reads (measured: 1.7 us -> see README per socket with ~50 fields). */
static __always_inline __u32 sk_netns(const struct sock *sk)
{
	return sk->__sk_common.skc_net.net->ns.inum;
}

static __always_inline __u32 sk_drops(const struct sock *sk)
{
	__u32 n = sk->sk_drops.counter;
	/* Newer kernels may keep drops in per-NUMA counters (UDP does; TCP keeps sk_drops). */
	if (bpf_core_field_exists(sk->sk_drop_counters)) {
		struct numa_drop_counters *c = sk->sk_drop_counters;
		if (c)
			n += c->drops0.counter + c->drops1.counter;
	}
	return n;
}

static __always_inline __u64 sk_ino(const struct sock *sk)
{
	struct socket *sock = sk->sk_socket;
	if (!sock)
		return 0;
	struct file *file = sock->file;
	if (!file)
		return 0;
	return file->f_inode->i_ino;
}

/* The socket's local and remote addresses, 16 bytes each (IPv4: the first 4, the rest left as
 * they were: zeroed by the caller). */
static __always_inline void copy_addrs(__u8 *local, __u8 *remote, const struct sock *sk, __u8 family)
{
	if (family == AF_INET6) {
		__builtin_memcpy(local, sk->__sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8, 16);
		__builtin_memcpy(remote, sk->__sk_common.skc_v6_daddr.in6_u.u6_addr8, 16);
	} else {
		*(__u32 *)local = sk->__sk_common.skc_rcv_saddr;
		*(__u32 *)remote = sk->__sk_common.skc_daddr;
	}
}

/* Identity of a socket: what a flow key is made of. All on struct sock_common's first lines. */
static __always_inline void fill_ident(struct tcp_snap *s, const struct sock *sk, struct tcp_sock *tp,
				      bool closing)
{
	s->sk = (__u64)sk;
	s->family = sk->__sk_common.skc_family;
	/* skc_num is already 0 at close: inet_sport survives. Otherwise skc_num, on the line the
	 * addresses are on, spares the periodic read a miss on inet_sock's line. */
	if (closing)
		s->sport = bpf_ntohs(tp->inet_conn.icsk_inet.inet_sport);
	else
		s->sport = sk->__sk_common.skc_num;
	s->dport = bpf_ntohs(sk->__sk_common.skc_dport);
	copy_addrs(s->saddr, s->daddr, sk, s->family);
}

/* Retransmission timeouts, counted by the kernel since 6.7 (next to total_retrans, on a line the
 * read loads anyway); 0 before, which user space reports as a degraded part. */
static __always_inline __u32 rto_count(const struct tcp_sock *tp)
{
	if (bpf_core_field_exists(tp->total_rto))
		return tp->total_rto; /* a direct load: tp is a trusted BTF pointer */
	return 0;
}

/* Owner and event counters, from our per-connection entry. */
static __always_inline void fill_conn(struct tcp_snap *s, const struct conn_info *ci)
{
	s->tgid = ci->tgid;
	s->role = ci->role;
	s->established = ci->established;
	s->connect_ns = ci->connect_ns;
	s->syn_srtt_us = ci->syn_srtt_us;
	s->retrans_failed = ci->retrans_failed;
	s->rst_sent = ci->rst_sent;
	s->rst_recv = ci->rst_recv;
	s->zero_wnd_rx = ci->zero_wnd_rx;
	s->zero_wnd_tx = ci->zero_wnd_tx;
	__builtin_memcpy(s->comm, ci->comm, DEMARC_COMM_LEN);
}

/* Counters of the enabled groups: what a close record carries (gauges of a closed connection are
 * never reported, and skipping them spares the cache lines they live on). */
static __always_inline void fill_counters(struct tcp_snap *s, const struct sock *sk,
					  struct tcp_sock *tp, __u32 fields)
{
	if (fields & FIELDS_STATS) {
		s->bytes_sent = tp->bytes_sent;
		s->bytes_acked = tp->bytes_acked;
		s->bytes_received = tp->bytes_received;
		s->segs_in = tp->segs_in;
	}
	if (fields & (FIELDS_STATS | FIELDS_ABN))
		s->segs_out = tp->segs_out; /* tcp_abnormal's retransmission ratio divides by it */
	if (fields & FIELDS_ABN) {
		s->total_retrans = tp->total_retrans;
		s->rto_count = rto_count(tp);
		s->drops = sk_drops(sk);
	}
}

/* Gauges of the enabled groups (live sockets only). */
static __always_inline void fill_gauges(struct tcp_snap *s, const struct sock *sk,
					struct tcp_sock *tp, __u32 fields)
{
	if (fields & FIELDS_RTT) {
		s->srtt_us = tp->srtt_us >> 3;
		s->rttvar_us = tp->mdev_us >> 2;
		s->rcv_rtt_us = tp->rcv_rtt_est.rtt_us >> 3;
	}
	if (fields & FIELDS_WINDOWS) {
		s->snd_cwnd = tp->snd_cwnd;
		s->snd_ssthresh = tp->snd_ssthresh;
		s->snd_wnd = tp->snd_wnd;
		s->rcv_wnd = tp->rcv_wnd;
		s->reordering = tp->reordering;
		__u32 snd_nxt = tp->snd_nxt;
		s->notsent_bytes = tp->write_seq - snd_nxt;
		s->notacked_bytes = snd_nxt - tp->snd_una;
	}
	if (fields & FIELDS_RATE) {
		s->rto_jiffies = tp->inet_conn.icsk_rto;
		/* ato is an 8-bit bit-field on newer kernels, a __u32 on older ones. Name the field from tp:
		 * with &tp->inet_conn.icsk_ack as the base, CO-RE counts the nested offset twice. */
		s->ato_jiffies = BPF_CORE_READ_BITFIELD(tp, inet_conn.icsk_ack.ato);
		s->mss = tp->mss_cache;
	}
	if (fields & FIELDS_SOCKBUF) {
		s->rcvbuf = sk->sk_rcvbuf;
		s->sndbuf = sk->sk_sndbuf;
		s->rmem_alloc = sk->sk_backlog.rmem_alloc.counter;
		s->wmem_queued = sk->sk_wmem_queued;
	}
	if (fields & FIELDS_ABN) {
		s->lost_out = tp->lost_out;
		s->sacked_out = tp->sacked_out;
		s->backlog = sk->sk_backlog.len;
	}
}

/* A close-time record (SNAP_CLOSED, SNAP_LATE_RST) into the ring buffer. */
static __always_inline void emit_closed(const struct sock *sk, struct tcp_sock *tp,
					const struct conn_info *ci, __u8 kind, __u32 counted_walk,
					__u32 fields)
{
	struct tcp_snap *s = bpf_ringbuf_reserve(&events, sizeof(*s), 0);
	if (!s) {
		/* Apart, so user space can check that every entry closed, was evicted or is live. */
		stat_inc(kind == SNAP_CLOSED ? STAT_RB_LOST : STAT_RB_LOST_RST);
		return;
	}
	/* Ring memory is not zeroed: a close record's unread groups must read 0. A late reset is
	 * counted only: its reader uses identity and kind alone (addresses: all 16 bytes). */
	if (kind == SNAP_CLOSED)
		__builtin_memset(s, 0, sizeof(*s));
	else
		__builtin_memset(s->saddr, 0, sizeof(s->saddr) + sizeof(s->daddr));
	fill_ident(s, sk, tp, true);
	fill_conn(s, ci);
	if (kind == SNAP_CLOSED) /* a late reset is counted only: no values needed */
		fill_counters(s, sk, tp, fields);
	s->kind = kind;
	s->ino = counted_walk; /* close records carry no inode: the walk that counted it unchanged */
	/* Consumed on a timer: no wakeup per record. */
	bpf_ringbuf_submit(s, BPF_RB_NO_WAKEUP);
}

/* Nanoseconds from `start_ns` (bpf_ktime_get_ns at SYN_SENT) to a client's move to ESTABLISHED.
 * The kernel has just read the same clock (CLOCK_MONOTONIC, tcp_clock_ns) into tcp_clock_cache
 * when it began processing the SYN-ACK (tcp_rcv_state_process refreshes it in SYN_SENT), a few
 * microseconds before this state change: reading it spares a helper call (bpf_ktime_get_ns,
 * measured ~5% of this program's mean). Should a kernel keep another clock there, the value
 * falls outside a connect's possible span and the clock is read after all. */
static __always_inline __u64 connect_time(const struct tcp_sock *tp, __u64 start_ns)
{
	__u64 now = 0;
	if (bpf_core_field_exists(tp->tcp_clock_cache))
		now = tp->tcp_clock_cache;
	if (now < start_ns || now - start_ns > 1000000000000ULL) /* 1,000 s: no connect waits that long */
		now = bpf_ktime_get_ns();
	return now - start_ns;
}

/* After an insert: the element may be one just evicted from the LRU, still known to the periodic
 * read as another socket's: forget it (read in full next time), and name the new socket. The
 * info is cleared before the address is written: the read loads the address first, so it never
 * pairs this socket with the info of the element's previous one. */
static __always_inline void forget_read_slot(__u64 key)
{
	struct conn_info *v = bpf_map_lookup_elem(&conns, &key);
	if (!v)
		return;
	__u32 idx = elem_index(v);
	struct elem_slot *e = bpf_map_lookup_elem(&elems, &idx);
	if (!e)
		return;
	WRITE_ONCE_U32(e->info, 0);
	WRITE_ONCE_U64(e->sk, key);
	__u64 *w = &chunk_used[(idx / SLOT_CHUNK / 64) & (CHUNK_USED_WORDS - 1)];
	__u64 bit = 1ULL << ((idx / SLOT_CHUNK) % 64);
	if (!(*w & bit))
		__sync_fetch_and_or(w, bit);
}

static __always_inline void track(__u64 key, __u32 tgid, __u8 role, __u8 owner, const char *comm)
{
	struct conn_info ci = {};
	/* Only a client's connect time is measured (from here to ESTABLISHED): a server's entry
	 * spares the clock read (a helper call). */
	if (role == ROLE_CLIENT)
		ci.start_ns = bpf_ktime_get_ns();
	ci.tgid = tgid;
	ci.role = role;
	ci.owner_src = owner;
	__builtin_memcpy(ci.comm, comm, DEMARC_COMM_LEN);
	change_mark(STAT_CHANGE_BEGIN);
	long err = bpf_map_update_elem(&conns, &key, &ci, BPF_ANY);
	stat_inc(err ? STAT_INSERT_FAIL : STAT_INSERTS);
	change_mark(STAT_CHANGE_END);
	if (!err)
		forget_read_slot(key);
}

/* The bucket of `v` among `n` ascending upper bounds (n: +Inf). */
static __always_inline __u32 bucket(const __u64 *b, __u32 n, __u64 v)
{
	__u32 i;
	for (i = 0; i < HIST_BOUNDS; i++)
		if (i >= n || v <= b[i])
			break;
	return i & (HIST_SLOTS - 1);
}

/* This CPU's sums of the flow of `sk` (owner `ci`) in the current fold map, made if new; NULL when
 * the map is full (or folding is off: the caller checks). */
static __always_inline struct flow_closed *fold_value(const struct sock *sk, struct tcp_sock *tp,
						      const struct conn_info *ci)
{
	__u32 zero = 0;
	void *fm = bpf_map_lookup_elem(&folds, &zero);
	if (!fm)
		return NULL;
	struct flow_key k = {};
	k.tgid = ci->tgid;
	k.role = ci->role;
	k.family = sk->__sk_common.skc_family;
	/* skc_num is already 0 at close: inet_sport survives (see fill_ident). */
	k.server_port = ci->role == ROLE_CLIENT ? bpf_ntohs(sk->__sk_common.skc_dport)
						: bpf_ntohs(tp->inet_conn.icsk_inet.inet_sport);
	copy_addrs(k.laddr, k.raddr, sk, k.family);
	struct flow_closed *v = bpf_map_lookup_elem(fm, &k);
	if (v)
		return v;
	struct flow_closed *z = bpf_map_lookup_elem(&fold_zero, &zero);
	if (!z)
		return NULL;
	/* NOEXIST: another CPU may have added the flow meanwhile (each CPU has its own value; the
	 * lookup below finds this CPU's). */
	bpf_map_update_elem(fm, &k, z, BPF_NOEXIST);
	v = bpf_map_lookup_elem(fm, &k);
	if (!v) {
		stat_inc(STAT_FOLD_FULL);
		return NULL;
	}
	__builtin_memcpy(v->comm, ci->comm, DEMARC_COMM_LEN);
	return v;
}

/* Add a closing connection no read listed to its flow's sums (what user space would have done
 * with its close record: probes/tcp/flows.ts). False when the fold map is full: send a record.
 * The record's reserve and submit and user space's work per record cost more than this lookup
 * in a map of a few flows, whose lines stay warm. */
static __always_inline bool fold_closed(const struct sock *sk, struct tcp_sock *tp,
					const struct conn_info *ci, __u32 fields)
{
	__u32 zero = 0;
	struct flow_closed *v = fold_value(sk, tp, ci);
	if (!v)
		return false;
	/* A per-CPU value, and this program does not nest on a CPU: plain adds, but for rst_sent,
	 * which on_send_reset also adds to, and may from a softirq in the middle of this. */
	v->closes++;
	if (fields & FIELDS_STATS) {
		v->bytes_sent += tp->bytes_sent;
		v->bytes_acked += tp->bytes_acked;
		v->bytes_received += tp->bytes_received;
		v->segs_in += tp->segs_in;
	}
	if (fields & (FIELDS_STATS | FIELDS_ABN))
		v->segs_out += tp->segs_out;
	if (fields & FIELDS_ABN) {
		v->total_retrans += tp->total_retrans;
		v->rto_count += rto_count(tp);
		v->drops += sk_drops(sk);
	}
	v->retrans_failed += ci->retrans_failed;
	if (ci->rst_sent)
		__sync_fetch_and_add(&v->rst_sent, ci->rst_sent);
	v->rst_recv += ci->rst_recv;
	v->zero_wnd_rx += ci->zero_wnd_rx;
	v->zero_wnd_tx += ci->zero_wnd_tx;
	if (ci->established) {
		struct hist_bounds *hb = bpf_map_lookup_elem(&bounds, &zero);
		if (!hb)
			return true;
		v->opens++;
		__u32 syn = ci->syn_srtt_us;
		v->syn_us_sum += syn;
		v->syn_hist[bucket(hb->syn_us, hb->n_syn, syn)]++;
		__u64 cns = ci->connect_ns;
		if (cns) {
			v->connects++;
			v->connect_ns_sum += cns;
			v->connect_hist[bucket(hb->connect_ns, hb->n_connect, cns)]++;
		}
	}
	stat_inc(STAT_FOLDED);
	return true;
}

/* tcp_need_reset(): the states from which tcp_disconnect/tcp_close send a reset right after
 * setting CLOSE. Other closes (LAST_ACK, failed connects, ...) need no "recently closed" slot. */
#define NEED_RESET_STATES ((1 << TCP_ESTABLISHED) | (1 << TCP_CLOSE_WAIT) | (1 << TCP_FIN_WAIT1) | \
			   (1 << TCP_FIN_WAIT2) | (1 << TCP_SYN_RECV))

static __always_inline void on_close(const struct sock *sk, __u64 key, int oldstate)
{
	struct conn_info *ci = bpf_map_lookup_elem(&conns, &key);
	if (!ci) {
		stat_inc(STAT_CLOSE_UNTRACKED);
		return;
	}
	/* The periodic read forgets the element; if a read counted it as unchanged, the record
	 * says which (user space checks its count against the sockets it holds). A connection no
	 * read has listed (most short ones) has a clear slot since its insert: its `elems` line
	 * (a cache miss) is not touched. */
	__u32 counted = 0;
	/* on_state checked it is TCP, and inet_sock_set_state only sees full sockets: a cast. */
	struct tcp_sock *tp = as_tcp_sock(sk);
	struct tcp_cfg *c = get_cfg();
	__u32 fields = c ? c->fields : ~0U;
	bool folded = false;
	/* Unlisted: fold it, unless a read on another CPU lists it at this instant (then it is
	 * the read's, and its close a record, as for every listed entry). */
	if (c && (c->flags & CFG_FOLD_CLOSED) && ci->listed == LISTED_NO &&
	    __sync_val_compare_and_swap(&ci->listed, LISTED_NO, LISTED_FOLDED) == LISTED_NO)
		folded = fold_closed(sk, tp, ci, fields);
	if (ci->listed == LISTED_READ) {
		struct elem_slot *e = elem_slot(ci);
		if (e) {
			__u32 info = e->info;
			if (info & ELEM_KNOWN)
				counted = info & ELEM_WALK_MASK;
			e->info = 0;
		}
	}
	if (!folded)
		emit_closed(sk, tp, ci, SNAP_CLOSED, counted, fields);
	__u32 idx = CLOSING_SLOTS;
	struct last_closed *next = NULL;
	if ((1 << oldstate) & NEED_RESET_STATES)
		next = bpf_map_lookup_elem(&closing, &idx);
	if (next) {
		__u64 seq = ++next->seq;
		idx = seq % CLOSING_SLOTS;
		struct last_closed *lc = bpf_map_lookup_elem(&closing, &idx);
		if (lc) {
			lc->sk = key;
			lc->seq = seq;
			lc->ci = *ci;
		}
	}
	change_mark(STAT_CHANGE_BEGIN);
	if (bpf_map_delete_elem(&conns, &key) == 0)
		stat_inc(STAT_DELETES);
	change_mark(STAT_CHANGE_END);
}

/* The struct proto of the TCP socket last seen here, per family (0 AF_INET, 1 AF_INET6). A
 * proto serves one protocol (TLS and sockmap install copies of TCP's, still TCP's), so a socket
 * with that proto is TCP; the pointer is on the line that holds the state, where sk_protocol is
 * 500 bytes further (another line, often cold at a state change). Other sockets (SCTP, MPTCP's
 * own, another TCP proto copy) are checked the long way, and TCP ones update the entry. */
__u64 tcp_proto_seen[2];

static __always_inline bool is_tcp(const struct sock *sk)
{
	__u64 prot = (__u64)sk->__sk_common.skc_prot;
	__u32 i = sk->__sk_common.skc_family == AF_INET6;
	if (prot && prot == tcp_proto_seen[i & 1])
		return true;
	if (sk->sk_protocol != IPPROTO_TCP)
		return false;
	tcp_proto_seen[i & 1] = prot;
	return true;
}

#ifdef DEMARC_BROKEN_LIFECYCLE /* tests: a required tracepoint missing */
SEC("tp_btf/inet_sock_set_state_not_in_this_kernel")
#else
SEC("tp_btf/inet_sock_set_state")
#endif
int BPF_PROG(on_state, const struct sock *sk, const int oldstate, const int newstate)
{
	if (!is_tcp(sk))
		return 0;
	__u64 key = (__u64)sk;
	if (is_closing(newstate)) {
		/* FIN_WAIT*, CLOSE_WAIT, LAST_ACK, CLOSING: nothing to record, but segments received
		 * there pass no tcp_probe. The mark on the way in makes the next read read it in full,
		 * and that read, finding it closing, leaves it unknown: read in full until it closes.
		 * (Counting closing sockets per slot instead, an atomic add on the way in and out, was
		 * ~9% of this program's mean.) */
		if (!is_closing(oldstate))
			mark_active(sk);
		return 0;
	}
	if (newstate == TCP_LISTEN) {
		/* listen() runs in the owner's context. */
		struct listener_key lk = { .netns = sk_netns(sk), .port = sk->__sk_common.skc_num };
		struct listener_owner lo = { .tgid = bpf_get_current_pid_tgid() >> 32 };
		bpf_get_current_comm(lo.comm, sizeof(lo.comm));
		bpf_map_update_elem(&listeners, &lk, &lo, BPF_ANY);
		return 0;
	}
	if (oldstate == TCP_LISTEN && newstate == TCP_CLOSE) {
		struct listener_key lk = { .netns = sk_netns(sk), .port = sk->__sk_common.skc_num };
		bpf_map_delete_elem(&listeners, &lk);
		return 0;
	}
	if (newstate == TCP_SYN_SENT) {
		/* CLOSE -> SYN_SENT runs inside connect(): current is the client. */
		__u32 tgid = bpf_get_current_pid_tgid() >> 32;
		if (!watched(tgid)) {
			stat_inc(STAT_FILTERED);
			return 0;
		}
		char comm[DEMARC_COMM_LEN];
		bpf_get_current_comm(comm, sizeof(comm));
		track(key, tgid, ROLE_CLIENT, OWNER_CONNECT, comm);
		return 0;
	}
	if (newstate == TCP_SYN_RECV) {
		/* The child of a listener: current is whoever delivered the ACK, so the owner is the
		 * listener's (refined at the first sendmsg with server_owner=sendmsg). */
		struct listener_key lk = { .netns = sk_netns(sk), .port = sk->__sk_common.skc_num };
		struct listener_owner *lo = bpf_map_lookup_elem(&listeners, &lk);
		if (!lo) {
			stat_inc(STAT_NO_OWNER);
			return 0;
		}
		if (!watched(lo->tgid)) {
			stat_inc(STAT_FILTERED);
			return 0;
		}
		track(key, lo->tgid, ROLE_SERVER, OWNER_LISTENER, lo->comm);
		return 0;
	}
	if (newstate == TCP_ESTABLISHED) {
		struct conn_info *ci = bpf_map_lookup_elem(&conns, &key);
		if (!ci)
			return 0;
		/* Only an entry a read has listed needs the mark (a handshake that spanned a read):
		 * an unlisted one is read in full next time anyway, and the read that first lists an
		 * entry marks it itself (read_slots), which covers a read racing this move. For
		 * nearly every connection the bit is not set yet and the mark is an atomic OR on a
		 * line other CPUs write: measured ~5% of on_state's mean per run. `listed` is on the
		 * line the lookup read the key from. */
		if (ci->listed == LISTED_READ)
			mark_active(sk);
		struct tcp_sock *tp = as_tcp_sock(sk); /* a full TCP socket (see on_close) */
		ci->syn_srtt_us = tp->srtt_us >> 3;
		ci->established = 1;
		if (ci->role == ROLE_CLIENT)
			ci->connect_ns = connect_time(tp, ci->start_ns);
		return 0;
	}
	if (newstate == TCP_CLOSE)
		on_close(sk, key, oldstate);
	return 0;
}

SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(on_retransmit, const struct sock *sk, const struct sk_buff *skb, int err)
{
	/* The mark makes the next read load the socket, whose own counters (total_retrans,
	 * total_rto) say how many segments went again and how many timeouts fired. The `conns`
	 * lookup, for our own count of calls, cost 2.5x the mark alone (a retransmission from a
	 * timer finds the bucket and element cold; bench/tcp_ab_bench.ts, 154 vs 382 ns a run), so
	 * only a failed retransmission, which the socket does not count, looks its entry up. */
	mark_active(sk);
	if (!err)
		return 0;
	__u64 key = (__u64)sk;
	struct conn_info *ci = bpf_map_lookup_elem(&conns, &key);
	if (ci)
		ci->retrans_failed++; /* its writers hold the socket lock: no atomic needed */
	return 0;
}

SEC("tp_btf/tcp_send_reset")
int BPF_PROG(on_send_reset, const struct sock *sk)
{
	if (!sk) /* a reset for a segment that matched no socket */
		return 0;
	__u64 key = (__u64)sk;
	/* The state is on the line the reset is being built from. A tracked socket is never in
	 * CLOSE (its entry goes at CLOSE); a socket in CLOSE can only be one that just closed. */
	__u8 state = sk->__sk_common.skc_state;
	if (state != TCP_CLOSE) {
		if (state == TCP_TIME_WAIT || state == TCP_NEW_SYN_RECV || state == TCP_LISTEN)
			return 0; /* not full sockets, or never tracked */
		struct conn_info *ci = bpf_map_lookup_elem(&conns, &key);
		if (ci) {
			mark_active(sk);
			ci->rst_sent++;
		}
		return 0;
	}
	struct last_closed *lc = NULL;
#pragma unroll
	for (int i = 0; i < CLOSING_SLOTS; i++) {
		__u32 slot = i;
		struct last_closed *c = bpf_map_lookup_elem(&closing, &slot);
		if (c && c->sk == key && (!lc || c->seq > lc->seq))
			lc = c;
	}
	if (!lc)
		return 0;
	/* It was in `conns`, so it is a full TCP socket: a cast, not bpf_skc_to_tcp_sock. */
	struct tcp_sock *tp = as_tcp_sock(sk);
	/* A flow's count of resets sent, listed connection or not: folded like a close, when on. */
	struct tcp_cfg *c = get_cfg();
	struct flow_closed *v = NULL;
	if (c && (c->flags & CFG_FOLD_CLOSED))
		v = fold_value(sk, tp, &lc->ci);
	if (v)
		__sync_fetch_and_add(&v->rst_sent, 1); /* see fold_closed */
	else
		emit_closed(sk, tp, &lc->ci, SNAP_LATE_RST, 0, 0);
	lc->sk = 0;
	return 0;
}

SEC("tp_btf/tcp_receive_reset")
int BPF_PROG(on_receive_reset, struct sock *sk)
{
	__u64 key = (__u64)sk;
	struct conn_info *ci = bpf_map_lookup_elem(&conns, &key);
	if (ci) {
		mark_active(sk);
		ci->rst_recv++;
	}
	return 0;
}

/* Tests build a variant with a tracepoint this kernel lacks to exercise degrading. */
#ifndef TCP_PROBE_TP
#define TCP_PROBE_TP "tcp_probe"
#endif

SEC("tp_btf/" TCP_PROBE_TP)
int BPF_PROG(on_tcp_probe, struct sock *sk)
{
	/* Runs for every received segment: look at the windows first (two loads) and touch the
	 * map only while one of them is zero. tcp_probe fires only for full TCP sockets, so a cast
	 * (free) replaces bpf_skc_to_tcp_sock's checks (a helper call). */
	mark_active(sk);
	struct tcp_sock *tp = as_tcp_sock(sk);
	__u32 rx0 = tp->snd_wnd == 0, tx0 = tp->rcv_wnd == 0;
	if (!rx0 && !tx0)
		return 0;
	__u64 key = (__u64)sk;
	struct conn_info *ci = bpf_map_lookup_elem(&conns, &key);
	if (!ci)
		return 0;
	if (rx0)
		ci->zero_wnd_rx++;
	if (tx0)
		ci->zero_wnd_tx++;
	return 0;
}

SEC("tp_btf/tcp_sendmsg_locked")
int BPF_PROG(on_sendmsg, struct sock *sk)
{
	/* Runs for every send on the host. Only a socket that has sent no data yet can be a server
	 * connection whose owner is unsettled, so every later send leaves after one load of a line
	 * the send itself is using. This replaced a socket-local-storage mark created at SYN_RECV:
	 * creating and deleting that storage cost more per connection than this costs per send. */
	mark_active(sk); /* write_seq, notsent, wmem_queued change */
	struct tcp_sock *tp = as_tcp_sock(sk); /* tcp_sendmsg_locked: always a full TCP socket */
	if (tp->data_segs_out)
		return 0;
	struct tcp_cfg *c = get_cfg();
	if (!c || !(c->flags & CFG_SENDMSG_OWNER))
		return 0;
	__u64 key = (__u64)sk;
	struct conn_info *ci = bpf_map_lookup_elem(&conns, &key);
	if (!ci || ci->owner_src != OWNER_LISTENER)
		return 0;
	/* First send on a server socket: the sender is the process serving it. */
	ci->owner_src = OWNER_SENDMSG;
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	if (tgid != ci->tgid) {
		ci->tgid = tgid;
		bpf_get_current_comm(ci->comm, sizeof(ci->comm));
	}
	return 0;
}

/* recvmsg that copied data: rmem_alloc, the receive buffer (autotuning) and a window update
 * change with no segment received. */
SEC("tp_btf/tcp_rcv_space_adjust")
int BPF_PROG(on_recv, struct sock *sk)
{
	mark_active(sk);
	return 0;
}

/* A watched process forks: the child is watched from its first instruction, so a pre-forked
 * server's workers (and any child that connects at once) are tracked before the runner's next
 * /proc scan. The child is the kernel's guess (its tgid in its free `pid_slots` slot, or in
 * `pids` as PID_FORKED): the driver removes it unless the runner's snoopers match it within a
 * few scans (WatchedPids.pruneForked). Threads are no new tgid: skipped before the lookup. */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = parent->tgid, ctgid = child->tgid;
	if (ptgid == ctgid || !watched(ptgid))
		return 0;
	__u64 *slot = pid_slot(ctgid);
	if (!slot)
		return 0;
	/* A free slot takes the child. A plain load and store, not a compare-and-swap (measured
	 * ~50 ns more per watched fork): only a child whose tgid is this one's ± a multiple of
	 * PID_SLOTS, forked in the same instant on another CPU, could want the same slot, and pids
	 * are handed out in sequence. */
	__u64 was = *slot;
	if (was == 0) {
		*slot = ctgid;
		stat_inc(STAT_FORKED);
		return 0;
	}
	if (was == ctgid)
		return 0;
	/* Taken by a tgid 8192 apart (or shared): the child goes into `pids`, and so does the
	 * slot's tgid (a child known by its slot alone; a runner's pid is there already), then the
	 * slot says "look there". */
	__u8 v = PID_FORKED;
	if (bpf_map_update_elem(&pids, &ctgid, &v, BPF_NOEXIST) == 0)
		stat_inc(STAT_FORKED);
	__u32 other = was;
	if (was != PID_SLOT_SHARED)
		bpf_map_update_elem(&pids, &other, &v, BPF_NOEXIST);
	*slot = PID_SLOT_SHARED;
	return 0;
}

/* Alternative server attribution (server_owner=accept): the process returning from accept() owns
 * the new socket. Costs every syscall on the host a little while attached (see README). */
static __always_inline int owner_from_accept(long fd)
{
	if (fd < 0)
		return 0;
	struct task_struct *task = (struct task_struct *)bpf_get_current_task_btf();
	struct file **fds = BPF_CORE_READ(task, files, fdt, fd);
	unsigned int max = BPF_CORE_READ(task, files, fdt, max_fds);
	if (!fds || fd >= max)
		return 0;
	struct file *file = NULL;
	bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]);
	if (!file)
		return 0;
	struct socket *sock = BPF_CORE_READ(file, private_data);
	if (!sock)
		return 0;
	__u64 key = (__u64)BPF_CORE_READ(sock, sk);
	struct conn_info *ci = bpf_map_lookup_elem(&conns, &key);
	if (!ci || ci->role != ROLE_SERVER || ci->owner_src == OWNER_SENDMSG)
		return 0;
	ci->owner_src = OWNER_SENDMSG; /* owner settled */
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	if (tgid != ci->tgid) {
		ci->tgid = tgid;
		bpf_get_current_comm(ci->comm, sizeof(ci->comm));
	}
	return 0;
}

SEC("tp/syscalls/sys_exit_accept4")
int on_accept4(struct trace_event_raw_sys_exit *ctx)
{
	return owner_from_accept(ctx->ret);
}

SEC("tp/syscalls/sys_exit_accept")
int on_accept(struct trace_event_raw_sys_exit *ctx)
{
	return owner_from_accept(ctx->ret);
}

/* A kernel-side counter summed over CPUs (stops at the first CPU past nr_cpu_ids). */
static __always_inline __u64 stat_sum(__u32 idx)
{
	struct bpf_iter_num it;
	int *cpu;
	__u64 sum = 0;
	bpf_iter_num_new(&it, 0, 4096);
	while ((cpu = bpf_iter_num_next(&it))) {
		__u64 *v = bpf_map_lookup_percpu_elem(&stats, &idx, *cpu);
		if (!v)
			break;
		sum += *v;
	}
	bpf_iter_num_destroy(&it);
	return sum;
}

/* Loads before it complete before loads after it (a fully ordered atomic: arm64 may otherwise
 * reorder loads; x86 does not). */
static __always_inline void read_barrier(struct read_state *rs)
{
	__u64 old = __sync_fetch_and_add(&rs->fence, 0);
	barrier_var(old);
}

/* The first run of a read (chunk 0): may it trust the slots? An entry the LRU evicts (inside
 * another insert: no program of ours sees it) leaves its slot saying "known, unchanged", and a
 * read trusting it would count a connection that is gone as live. Evictions = inserts + adoptions
 * - deletes - elements, exact when no insert or delete is under way: the counts are read between
 * the two halves of a sequence count that every insert and delete of `conns` increments before
 * and after (STAT_CHANGE_END read first, STAT_CHANGE_BEGIN last: equal sums mean none began or
 * was under way meanwhile). A read trusts the slots only if the evictions are those measured when
 * the last verifying read began; otherwise (or with a change under way) it looks every entry up,
 * clearing slots whose element is gone, and its end records the new figure. */
static __always_inline void begin_read(const struct tcp_cfg *c, struct read_state *rs)
{
	rs->read_id = c->read_id;
	__u64 end = stat_sum(STAT_CHANGE_END);
	read_barrier(rs);
	__u64 ins = stat_sum(STAT_INSERTS), adopted = stat_sum(STAT_ADOPTED);
	__u64 del = stat_sum(STAT_DELETES);
	__s64 n = bpf_map_sum_elem_count((struct bpf_map *)&conns);
	read_barrier(rs);
	__u64 begin = stat_sum(STAT_CHANGE_BEGIN);
	__u64 evictions = ins + adopted - del - (__u64)n;
	rs->now_valid = begin == end;
	rs->evictions_now = evictions;
	bool trusted = rs->now_valid && rs->clean_valid && evictions == rs->evictions_clean;
	rs->verify = !trusted || !(c->flags & CFG_SKIP_IDLE) || (c->flags & CFG_VERIFY);
	if (rs->verify)
		rs->verify_reads++;
}

/* The last run of a read: a verifying read has cleared the slots of every element evicted before
 * it began. (Evictions during it change the figure: the next read verifies again.) */
static __always_inline void end_read(struct read_state *rs)
{
	if (rs->verify && rs->now_valid) {
		rs->evictions_clean = rs->evictions_now;
		rs->clean_valid = 1;
	}
}

/* List the socket of entry `ci` (key `key`, slot `e`): 1 when a record was written, 0 when the
 * socket is not one to list, -1 when the seq buffer is full (the run is repeated). */
static __always_inline int list_entry(struct seq_file *seq, struct tcp_cfg *c, __u64 key,
				      struct conn_info *ci, struct elem_slot *e)
{
	struct tcp_sock *tp = as_tcp_sock(key);
	const struct sock *sk = (const struct sock *)tp;
	/* Cheap guard against an entry whose socket is gone (it would need a missed CLOSE). */
	__u8 state = sk->__sk_common.skc_state;
	if (state == TCP_CLOSE || state == TCP_LISTEN)
		return 0;
	/* Listed for the first time: unless its close has just folded it (then it is gone from
	 * the read's view: its flow has its values). */
	bool first = ci->listed != LISTED_READ;
	if (first && __sync_val_compare_and_swap(&ci->listed, LISTED_NO, LISTED_READ) != LISTED_NO)
		return 0;
	struct tcp_snap s;
	__builtin_memset(&s, 0, sizeof(s));
	fill_ident(&s, sk, tp, false);
	s.kind = SNAP_LIVE;
	fill_conn(&s, ci);
	__u32 fields = c->fields;
	fill_counters(&s, sk, tp, fields);
	fill_gauges(&s, sk, tp, fields);
	if (bpf_seq_write(seq, &s, sizeof(s)) != 0)
		return -1;
	__u32 h = sk_hash(tp);
	/* A closing socket stays unknown: read in full every time (see on_state). */
	e->info = is_closing(state) ? 0 : ELEM_KNOWN | (h << ELEM_HASH_SHIFT);
	if (first) {
		/* Listed for the first time (marked listed above: its close must clear the slot and
		 * send a record), and the next read must read it in full again. The move to
		 * ESTABLISHED marks only listed entries, and may have run on another CPU while this
		 * read copied the entry (the kernel also goes on setting a socket up after the state
		 * store), so this copy may be stale: the mark makes the next read re-read it. */
		mark_hash(c, h);
	}
	return 1;
}

/* One chunk's walk (read_slots): what each slot's step needs, and what it found. */
struct slot_walk {
	struct seq_file *seq;
	struct tcp_cfg *c;
	__u32 first;     /* the chunk's first slot */
	__u32 walk;
	__u32 idle;      /* slots counted as unchanged */
	bool skip;       /* read_changed_only */
	bool verify;     /* look up even unchanged slots (see begin_read) */
	bool full;       /* the seq buffer is full: this run is repeated */
	__u64 listed_lo; /* slots 0-63 listed in this read, 64-127 */
	__u64 listed_hi;
};

/* Slot `first + n` (a bpf_loop step: verified once, where an open-coded loop over this body made
 * the verifier's states explode). */
static long read_slot(__u64 n, struct slot_walk *w)
{
	__u32 idx = w->first + (n & (SLOT_CHUNK - 1));
	struct elem_slot *e = bpf_map_lookup_elem(&elems, &idx);
	if (!e)
		return 1;
	__u64 sk = READ_ONCE_U64(e->sk);
	if (!sk)
		return 0;
	__u32 info = READ_ONCE_U32(e->info);
	__u64 bit = 1ULL << (n % 64);
	bool hi = (n & 64) != 0;
	bool unchanged = w->skip && (info & ELEM_KNOWN) &&
			 !((hi ? w->listed_hi : w->listed_lo) & bit) &&
			 !recently_active(info >> ELEM_HASH_SHIFT);
	if (unchanged && !w->verify) {
		/* Unchanged since it was last read: counted, not listed, nothing of the entry or the
		 * socket touched. One reader at a time: plain stores. */
		e->info = (info & ~ELEM_WALK_MASK) | w->walk;
		w->idle++;
		return 0;
	}
	struct conn_info *ci = bpf_map_lookup_elem(&conns, &sk);
	if (!ci || elem_index(ci) != idx) {
		/* The element is free (closed before a read listed it, or evicted): forget it,
		 * unless an insert has just handed it to another socket. */
		e->info = 0;
		__sync_val_compare_and_swap(&e->sk, sk, 0);
		return 0;
	}
	if (unchanged) {
		e->info = (info & ~ELEM_WALK_MASK) | w->walk;
		w->idle++;
		return 0;
	}
	int r = list_entry(w->seq, w->c, sk, ci, e);
	if (r < 0) {
		w->full = true; /* this run's records are dropped and it runs again */
		return 1;
	}
	if (r > 0 && hi)
		w->listed_hi |= bit;
	else if (r > 0)
		w->listed_lo |= bit;
	return 0;
}

/* The periodic read of tracked connections: a walk of the `elems` slots, SLOT_CHUNK per run (see
 * `chunks`). Walking the `conns` hash table instead cost a program run per entry (~46 ns with run
 * stats, most of an unchanged socket's cost) and the kernel's walk of the buckets (~630 ns of wall
 * time per entry); walking every socket of each namespace with iter/tcp cost a `conns` lookup per
 * socket, untracked ones too. An unchanged socket costs its slot and two bitmap words; any other
 * slot is looked up in `conns` by its address, and only an entry whose element is this slot's is
 * read (through the address: an entry always names a live tcp_sock, created at
 * SYN_SENT/SYN_RECV or adopted from an established socket and deleted at CLOSE, which every TCP
 * socket passes before it is freed). All namespaces in one walk. */
SEC("iter/bpf_map_elem")
int read_slots(struct bpf_iter__bpf_map_elem *ctx)
{
	__u32 *key = ctx->key;
	struct read_chunk *ch = ctx->value;
	if (!key || !ch)
		return 0;
#ifdef DEMARC_NO_SLOT_READ
	bpf_demarc_not_in_this_kernel();
#endif
	__u32 zero = 0, chunk = *key;
	struct tcp_cfg *c = get_cfg();
	struct read_state *rs = bpf_map_lookup_elem(&read_state, &zero);
	if (!c || !rs)
		return 0;
	if (rs->read_id != c->read_id)
		begin_read(c, rs);
	bool last = chunk + 1 == ((struct bpf_map *)&chunks)->max_entries;
	__u64 used = chunk_used[(chunk / 64) & (CHUNK_USED_WORDS - 1)] & (1ULL << (chunk % 64));
	if (!used) {
		if (last)
			end_read(rs);
		return 0;
	}
	/* A repeat of this chunk in the same read (the earlier run's records were dropped): list
	 * again what it listed, and count its unchanged slots anew in place of its count. */
	__u32 earlier_idle = 0;
	struct slot_walk w = {
		.seq = ctx->meta->seq,
		.c = c,
		.first = chunk * SLOT_CHUNK,
		.walk = c->walk & ELEM_WALK_MASK,
		.skip = (c->flags & CFG_SKIP_IDLE) != 0,
		.verify = rs->verify,
	};
	if (ch->read_id == c->read_id) {
		earlier_idle = ch->idle;
		w.listed_lo = ch->listed[0];
		w.listed_hi = ch->listed[1];
	}
	ch->read_id = c->read_id;
	bpf_loop(SLOT_CHUNK, read_slot, &w, 0);
	ch->listed[0] = w.listed_lo;
	ch->listed[1] = w.listed_hi;
	__u32 idle = w.idle;
	bool full = w.full;
	c->idle += idle - earlier_idle;
	ch->idle = idle;
	if (last && !full)
		end_read(rs);
	return 0;
}

/* The periodic read on kernels before 6.6 (no element count to catch evictions with): a walk of
 * the `conns` hash table, a program run per entry; exact by itself, as the walk visits only the
 * entries in the map. Unchanged entries are counted as read_slots counts them. */
SEC("iter/bpf_map_elem")
int dump_conns(struct bpf_iter__bpf_map_elem *ctx)
{
	__u64 *key = ctx->key;
	struct conn_info *ci = ctx->value;
	if (!key || !ci)
		return 0;
	struct tcp_cfg *c = get_cfg();
	struct elem_slot *e = elem_slot(ci);
	if (!c || !e)
		return 0;
	__u32 info = e->info;
	if ((c->flags & CFG_SKIP_IDLE) && (info & ELEM_KNOWN) &&
	    !recently_active(info >> ELEM_HASH_SHIFT)) {
		e->info = (info & ~ELEM_WALK_MASK) | (c->walk & ELEM_WALK_MASK);
		c->idle++;
		return 0;
	}
	/* A full buffer drops this run's record and runs it again: its marks make that run list
	 * the socket again. */
	list_entry(ctx->meta->seq, c, *key, ci, e);
	return 0;
}

/* The bit of `adopt_filter` for a connection's ports (probes/tcp/kernel.ts adoptPortBit). */
static __always_inline __u32 adopt_port_hash(__u16 lport, __u16 rport)
{
	return (((__u32)lport << 16 | rport) * 2654435761U) >> (32 - 12);
}

/* An adoption request for this socket, if it still holds the inode /proc showed: its entry. */
static __always_inline void adopt_socket(const struct sock *sk, __u64 key)
{
	struct adopt_key k = {};
	k.netns = sk_netns(sk);
	k.family = sk->__sk_common.skc_family;
	k.lport = sk->__sk_common.skc_num;
	k.rport = bpf_ntohs(sk->__sk_common.skc_dport);
	copy_addrs(k.laddr, k.raddr, sk, k.family);
	struct adopt_req *r = bpf_map_lookup_elem(&adopt, &k);
	if (!r || r->ino != sk_ino(sk))
		return;
	__u8 state = sk->__sk_common.skc_state;
	if (state == TCP_LISTEN || state == TCP_CLOSE || state == TCP_SYN_SENT)
		return;
	if (bpf_map_lookup_elem(&conns, &key))
		return; /* tracked already (a request names every owned connection) */
	struct conn_info ci = {};
	ci.tgid = r->tgid;
	ci.role = r->role;
	ci.owner_src = r->owner_src;
	ci.established = 1;
	__builtin_memcpy(ci.comm, r->comm, DEMARC_COMM_LEN);
	/* NOEXIST: a connect()/SYN_RECV insert on another CPU, with fresher facts, wins. */
	change_mark(STAT_CHANGE_BEGIN);
	long err = bpf_map_update_elem(&conns, &key, &ci, BPF_NOEXIST);
	if (!err)
		stat_inc(STAT_ADOPTED);
	change_mark(STAT_CHANGE_END);
	if (!err)
		forget_read_slot(key);
}

/* Adoption walks of the reader's namespace (tcp_cfg.scan == SCAN_ADOPT): insert the
 * entries of the `adopt` requests (user space listed the namespace's sockets from /proc/<pid>/net
 * and found their owners through /proc/<pid>/fd). iter/tcp runs this with the socket locked and
 * still hashed, so the socket cannot reach CLOSE in between. Every socket of the namespace passes
 * here: the ports, on the line the walk itself has just read, and one bit of `adopt_filter` turn
 * away the ones not asked for before any map lookup. */
SEC("iter/tcp")
int dump_tcp(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	if (!skc)
		return 0;
	struct tcp_cfg *c = get_cfg();
	if (!c || c->scan != SCAN_ADOPT)
		return 0;
	__u32 zero = 0;
	struct adopt_filter *f = bpf_map_lookup_elem(&adopt_filter, &zero);
	if (!f)
		return 0;
	__u32 h = adopt_port_hash(skc->skc_num, bpf_ntohs(skc->skc_dport));
	if (!(f->w[(h / 64) & (ADOPT_FILTER_WORDS - 1)] & (1ULL << (h % 64))))
		return 0;
	struct tcp_sock *tp = bpf_skc_to_tcp_sock(skc); /* NULL for timewait and request socks */
	if (!tp)
		return 0;
	adopt_socket((const struct sock *)tp, (__u64)skc);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
