// SPDX-License-Identifier: GPL-2.0
// demarc runner: the tgid of every process that calls exec(), so the runner matches snoopers
// against a new process at once instead of at its next /proc scan. One tracepoint, no filter:
// exec is rare next to TCP events, and which processes matter is decided in user space.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024); /* 16,384 execs between two reads */
} execs SEC(".maps");

/* Records lost to a full ring: the runner's next /proc scan still finds those processes. */
__u64 lost = 0;

SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 *tgid = bpf_ringbuf_reserve(&execs, sizeof(*tgid), 0);

	if (!tgid) {
		__sync_fetch_and_add(&lost, 1);
		return 0;
	}
	*tgid = bpf_get_current_pid_tgid() >> 32;
	/* No wakeup: the runner reads the ring on a short timer (no epoll from Deno). */
	bpf_ringbuf_submit(tgid, BPF_RB_NO_WAKEUP);
	return 0;
}
