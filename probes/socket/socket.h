/* Structs shared by socket.bpf.c and the TypeScript driver (probes/socket/layout.ts). */
#ifndef DEMARC_SOCKET_H
#define DEMARC_SOCKET_H

#define SOCK_COMM_LEN 16
/* Latency slots: slot i counts values <= 2^i microseconds; the last slot is +Inf. */
#define LAT_SLOTS 27

enum sock_role { SROLE_CLIENT = 1, SROLE_SERVER = 2 };

/* One endpoint of a process: a server it connects to (client) or an address it serves (server). */
struct endpoint_key {
	__u32 tgid;
	__u16 port;
	__u8 role;
	__u8 family;
	__u8 addr[16];
};

struct endpoint_stats {
	__u64 opens;             /* handshakes completed */
	__u64 fail_refused;      /* ECONNREFUSED (111) */
	__u64 fail_timeout;      /* ETIMEDOUT (110) */
	__u64 fail_reset;        /* ECONNRESET (104) */
	__u64 fail_other;
	__u64 lat_sum_ns;
	__u64 lat_slots[LAT_SLOTS];
	char comm[SOCK_COMM_LEN];
};

/* A connection in its handshake (value of `pending`, keyed by the struct sock address). */
struct pending_conn {
	__u64 start_ns;
	struct endpoint_key ep;
	char comm[SOCK_COMM_LEN];
};

struct lsn_key {
	__u32 netns;
	__u16 port;
	__u16 pad;
};

struct lsn_owner {
	__u32 tgid;
	__u32 pad;
	char comm[SOCK_COMM_LEN];
};

/* One listening socket read by iter/tcp. */
struct listen_snap {
	__u64 ino;
	__u8 addr[16];
	__u32 netns;
	__u32 tgid;              /* 0 when the owner is unknown to the kernel side */
	__u32 ack_backlog;
	__u32 max_ack_backlog;
	__u32 drops;
	__u16 port;
	__u8 family;
	__u8 pad;
	char comm[SOCK_COMM_LEN];
};

#endif
