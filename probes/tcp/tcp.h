/* Structs shared by tcp.bpf.c and the TypeScript driver (probes/tcp/layout.ts).
 * Fixed-width fields only, explicit padding; tests/probes/tcp/layout_test.ts compares the TS
 * offsets with this file compiled by gcc. The includer provides __u8..__u64.
 */
#ifndef DEMARC_TCP_H
#define DEMARC_TCP_H

#define DEMARC_COMM_LEN 16
/* Entries of the `adopt` map: adoption requests per walk. */
#define ADOPT_BATCH 4096

enum demarc_role { ROLE_UNKNOWN = 0, ROLE_CLIENT = 1, ROLE_SERVER = 2 };

/* How a connection's owner was found. */
enum demarc_owner { OWNER_NONE = 0, OWNER_CONNECT = 1, OWNER_LISTENER = 2, OWNER_SENDMSG = 3, OWNER_PROC = 4 };

/* Kinds of struct tcp_snap records. */
enum demarc_snap_kind {
	SNAP_LIVE = 1,
	SNAP_CLOSED = 2,
	/* 3 and 4 were adoption scans' listeners and untracked sockets (now read from /proc) */
	SNAP_LATE_RST = 5, /* a reset sent just after close (SO_LINGER 0, tcp_disconnect): count it only */
};

/* Indexes of the per-CPU `stats` array. */
enum demarc_stat {
	STAT_INSERTS = 0,      /* conns entries created */
	STAT_DELETES = 1,      /* conns entries removed at close */
	STAT_RB_LOST = 2,      /* close records dropped: ring buffer full */
	STAT_INSERT_FAIL = 3,  /* conns update failed */
	STAT_FILTERED = 4,     /* connections of processes not watched */
	STAT_NO_OWNER = 5,     /* server connections whose listener owner is unknown */
	STAT_CLOSE_UNTRACKED = 6, /* closes of sockets with no entry (evicted or pre-existing) */
	STAT_FORKED = 7,       /* children of watched processes added to `pids` at fork */
	STAT_RB_LOST_RST = 8,  /* late-reset records dropped: ring buffer full */
	STAT_ADOPTED = 9,      /* conns entries created by adoption (sockets found through /proc) */
	/* Around every insert into and delete from conns (a sequence count): the periodic read
	 * measures the LRU's evictions only while none is under way (tcp.bpf.c begin_read). */
	STAT_CHANGE_BEGIN = 10,
	STAT_CHANGE_END = 11,
	STAT_FOLDED = 12,      /* closes folded into per-flow counters in the kernel (no record) */
	STAT_FOLD_FULL = 13,   /* closes sent as records because the fold map was full */
	STAT_MAX = 14,
};

/* conn_info.listed: who got to the entry first, the periodic read or the close (compare-and-
 * swap from 0 on both sides, so a socket is either listed or folded, never both). */
enum demarc_listed {
	LISTED_NO = 0,
	LISTED_READ = 1,   /* a periodic read has listed it (so its `elems` slot may be set) */
	LISTED_FOLDED = 2, /* closed unlisted: folded into its flow's counters in the kernel */
};

/* Values of `pids` (watched tgids). */
enum demarc_pid_source {
	PID_WATCHED = 1, /* the runner's snoopers matched it (TcpKernel.setPids) */
	PID_FORKED = 2,  /* forked by a watched process; kept until the runner's scans decide */
};

/* Per tracked socket (value of `conns`, keyed by the struct sock address). */
struct conn_info {
	__u8 established;      /* the handshake completed */
	__u8 role;
	__u8 owner_src;
	__u8 pad;
	__u32 tgid;
	__u64 start_ns;        /* SYN_SENT time (client; 0 for a server) */
	__u64 connect_ns;      /* client: SYN sent -> ESTABLISHED; server: 0 */
	__u32 syn_srtt_us;     /* srtt when the handshake completed (client SYN RTT, server SYN-ACK RTT) */
	__u32 retrans_failed;  /* tcp_retransmit_skb calls that failed to leave this host (err != 0) */
	__u32 rst_sent;
	__u32 rst_recv;
	__u32 zero_wnd_rx;     /* segments received while the peer's window was zero (tcp_probe) */
	__u32 zero_wnd_tx;     /* segments received while our advertised window was zero */
	__u32 listed;          /* enum demarc_listed (32 bits: compare-and-swap) */
	char comm[DEMARC_COMM_LEN];
};

/* Closed connections that no periodic read listed (most short ones), summed per flow in the
 * kernel instead of a close record each: the key of the fold maps. Local and remote address
 * and the server's port, as user space keys flows (probes/tcp/flow_keys.ts). */
struct flow_key {
	__u32 tgid;
	__u8 role;
	__u8 family;
	__u16 server_port;
	__u8 laddr[16];
	__u8 raddr[16];
};

/* Histogram bounds the kernel buckets with (meta tcp_delay / tcp_srtt): up to HIST_BOUNDS each,
 * the bucket past the last one is +Inf. */
#define HIST_BOUNDS 31
#define HIST_SLOTS 32

struct hist_bounds {
	__u64 connect_ns[HIST_BOUNDS]; /* connect latency upper bounds, ns */
	__u64 syn_us[HIST_BOUNDS];     /* handshake RTT upper bounds, us */
	__u32 n_connect;
	__u32 n_syn;
};

/* Per flow and CPU: the sums a close record would have added (value of the fold maps). */
struct flow_closed {
	__u64 bytes_sent;
	__u64 bytes_acked;
	__u64 bytes_received;
	__u64 connect_ns_sum;
	__u64 syn_us_sum;
	__u32 segs_out;
	__u32 segs_in;
	__u32 total_retrans;
	__u32 rto_count;       /* tcp_sock total_rto: retransmission timeouts (kernel 6.7+) */
	__u32 retrans_failed;
	__u32 drops;
	__u32 rst_sent;
	__u32 rst_recv;
	__u32 zero_wnd_rx;
	__u32 zero_wnd_tx;
	__u32 closes;                  /* connections folded */
	__u32 opens;                   /* of them established (one SYN RTT observation each) */
	__u32 connects;                /* of those, with a connect time (clients) */
	__u32 pad;
	__u32 connect_hist[HIST_SLOTS];
	__u32 syn_hist[HIST_SLOTS];
	char comm[DEMARC_COMM_LEN];
};

/* Owner of a listening socket (value of `listeners`). */
struct listener_key {
	__u32 netns;
	__u16 port;
	__u16 pad;
};

struct listener_owner {
	__u32 tgid;
	__u32 pad;
	char comm[DEMARC_COMM_LEN];
};

/* Which value groups a snapshot reads, one bit per sub-probe that needs socket fields (the
 * value of tcp_cfg.fields). Each group lives on its own few cache lines of struct tcp_sock, and
 * an iterator read is dominated by cache misses: reading only what the enabled sub-probes
 * publish is what makes it cheap. Fields outside the mask are zero. */
enum demarc_fields {
	FIELDS_STATS = 1 << 0,   /* tcp_stats: bytes, segments */
	FIELDS_RTT = 1 << 1,     /* tcp_rtt: srtt, rttvar, rcv_rtt */
	FIELDS_WINDOWS = 1 << 2, /* tcp_windows: cwnd, ssthresh, windows, notsent/notacked, reordering */
	FIELDS_RATE = 1 << 3,    /* tcp_rate: rto, ato, mss */
	FIELDS_SOCKBUF = 1 << 4, /* tcp_sockbuf: buffers and their use */
	FIELDS_ABN = 1 << 5,     /* tcp_abnormal: retransmissions, lost, sacked, backlog, drops, segs_out */
};

/* One socket as read by the periodic read (SNAP_LIVE) or at close (SNAP_CLOSED, SNAP_LATE_RST, through the ring buffer): identity, our
 * per-connection entry, and the values of the enabled groups. Times in microseconds, rto/ato in
 * jiffies. Only fields some consumer reads are here: every byte is copied per socket per read. */
struct tcp_snap {
	__u64 sk;
	__u64 ino;             /* SNAP_CLOSED: the walk that counted it unchanged, or 0 */
	__u64 bytes_sent;
	__u64 bytes_acked;
	__u64 bytes_received;
	__u64 connect_ns;
	__u8 saddr[16];
	__u8 daddr[16];
	__u32 pad;
	__u16 sport;
	__u16 dport;
	__u8 family;           /* 2 AF_INET, 10 AF_INET6 */
	__u8 kind;
	__u8 role;
	__u8 established;
	__u32 tgid;
	__u32 srtt_us;
	__u32 rttvar_us;
	__u32 rcv_rtt_us;
	__u32 syn_srtt_us;
	__u32 snd_cwnd;
	__u32 snd_ssthresh;
	__u32 snd_wnd;
	__u32 rcv_wnd;
	__u32 total_retrans;
	__u32 lost_out;
	__u32 sacked_out;
	__u32 reordering;
	__u32 rto_jiffies;
	__u32 ato_jiffies;
	__u32 mss;
	__u32 segs_out;
	__u32 segs_in;
	__u32 notsent_bytes;
	__u32 notacked_bytes;
	__u32 rcvbuf;
	__u32 sndbuf;
	__u32 rmem_alloc;
	__u32 wmem_queued;
	__u32 backlog;
	__u32 drops;
	__u32 rto_count;       /* tcp_sock total_rto: retransmission timeouts (kernel 6.7+) */
	__u32 retrans_failed;
	__u32 rst_sent;
	__u32 rst_recv;
	__u32 zero_wnd_rx;
	__u32 zero_wnd_tx;
	char comm[DEMARC_COMM_LEN];
};

/* Bits of tcp_cfg.flags. */
enum demarc_cfg_flags {
	CFG_SKIP_IDLE = 1 << 0,     /* the periodic read skips sockets with no recent activity */
	CFG_SENDMSG_OWNER = 1 << 1, /* server_owner=sendmsg: the first send settles a server's owner */
	CFG_VERIFY = 1 << 2,        /* the periodic read looks up every entry, trusting no slot */
	CFG_FOLD_CLOSED = 1 << 3,   /* closes of unlisted connections are folded per flow (no record) */
};

/* What iter/tcp does (tcp_cfg.scan). */
enum demarc_scan {
	SCAN_OFF = 0,
	/* 1 was a scan writing every untracked socket; user space reads /proc/<pid>/net/tcp now */
	SCAN_ADOPT = 2, /* track the sockets of the `adopt` requests that still hold their inode */
};

/* A connection as /proc/<pid>/net/tcp names it, in a network namespace (key of `adopt`).
 * Addresses as copy_addrs writes them: IPv4 in the first 4 bytes, the rest zero. */
struct adopt_key {
	__u32 netns;
	__u16 lport; /* host order */
	__u16 rport; /* host order */
	__u8 family;
	__u8 pad[3];
	__u8 laddr[16];
	__u8 raddr[16];
};

/* The adoption walk's first test of each socket of the namespace, before any map lookup: a bit
 * per hash of the two ports (adopt_port_hash), set for every request. */
#define ADOPT_FILTER_WORDS 64
struct adopt_filter {
	__u64 w[ADOPT_FILTER_WORDS];
};

/* A socket user space found the owner of through /proc (value of `adopt`): the adoption walk
 * inserts its entry while iter/tcp holds the socket's lock, so a socket that closed since the scan
 * (its connection gone, or another socket's now: the inode differs) is never tracked, and one that
 * closes after the insert passes CLOSE with its entry. */
struct adopt_req {
	__u64 ino;
	__u32 tgid;
	__u8 role;
	__u8 owner_src;
	__u16 pad;
	char comm[DEMARC_COMM_LEN];
};

/* Runtime switches (value 0 of the `cfg` array). */
struct tcp_cfg {
	__u32 scan;            /* enum demarc_scan: what iter/tcp does */
	__u32 fields;          /* enum demarc_fields: value groups snapshots read */
	__u32 gen;             /* the read period (its parity picks the activity bitmap), advanced by
	                        * user space after each periodic read */
	__u32 flags;           /* enum demarc_cfg_flags */
	__u32 walk;            /* the periodic read under way (1..32767), set by user space before it */
	__u32 idle;            /* entries it counted as unchanged and did not list (user space zeroes) */
	__u32 read_id;         /* advanced by user space before every periodic read (walk may repeat) */
};

/* What the periodic read knows of the LRU's evictions (value 0 of `read_state`, written by the
 * read only). An entry the LRU evicts leaves its `elems` slot behind: the read trusts slots only
 * while no eviction happened since a read that looked every entry up (see tcp.bpf.c). */
struct read_state {
	__u64 evictions_clean;   /* evictions when the last verifying read began */
	__u64 evictions_now;     /* evictions when the read under way began */
	__u32 read_id;           /* the read under way (tcp_cfg.read_id) */
	__u32 clean_valid;       /* evictions_clean holds a value */
	__u32 now_valid;         /* evictions_now was measured with no insert or delete under way */
	__u32 verify;            /* the read under way looks up every entry */
	__u32 verify_reads;      /* reads that looked up every entry (since load) */
	__u32 pad;
	__u64 fence;             /* the read's memory barriers add 0 to it */
};

#endif
