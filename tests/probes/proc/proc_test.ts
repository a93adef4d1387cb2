/**
 * The proc probe against a real process whose memory and open files the test controls.
 */
import { assert, assertEquals, assertNear } from "../../helpers/assert.ts";
import { parseMetrics, startDemarc, waitFor } from "../../helpers/demarc.ts";

const ALLOC_MIB = 96;
const EXTRA_FILES = 37;

/** A python3 process that touches ALLOC_MIB of memory, opens EXTRA_FILES files, says ready, and sleeps. */
function spawnHog(): { child: Deno.ChildProcess; ready: Promise<void> } {
  const code = `
import sys, time
buf = bytearray(${ALLOC_MIB} * 1024 * 1024)
for i in range(0, len(buf), 4096): buf[i] = 1
files = [open('/dev/null') for _ in range(${EXTRA_FILES})]
print('ready', flush=True)
time.sleep(600)
`;
  const child = new Deno.Command("python3", {
    args: ["-c", code],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const ready = (async () => {
    const reader = child.stdout.getReader();
    const { value } = await reader.read();
    assert(new TextDecoder().decode(value).startsWith("ready"), "hog ready");
    reader.releaseLock();
  })();
  return { child, ready };
}

function status(pid: number, key: string): number {
  const line = Deno.readTextFileSync(`/proc/${pid}/status`).split("\n").find((l) =>
    l.startsWith(key + ":")
  )!;
  return Number(line.split(/\s+/)[1]) * (line.endsWith("kB") ? 1024 : 1);
}

Deno.test("proc probe reports a process's memory and files as /proc shows them, then drops it when it exits", async () => {
  const d = await startDemarc();
  const hog = spawnHog();
  try {
    await hog.ready;
    const pid = hog.child.pid;
    const r = await d.put("/baseinfo", {
      cmd: { probe: ["proc"] },
      snoopers: { proc_name: [{ comm: "^python3$", cmdline: `${ALLOC_MIB} * 1024 * 1024` }] },
      state: "running",
      params: { report_period: 5 },
    });
    assertEquals(r.status, 200);
    const find = (text: string, name: string) =>
      parseMetrics(text).find((m) => m.name === name && m.labels.tgid === String(pid));
    const text = await waitFor(
      async () => {
        const t = await d.scrape();
        return find(t, "demarc_proc_rss_bytes") ? t : "";
      },
      10_000,
      "the hog's proc series",
    );
    const rss = find(text, "demarc_proc_rss_bytes")!.value;
    assertNear(rss, status(pid, "VmRSS"), { rel: 0.05 }, "rss vs /proc VmRSS");
    assert(
      rss >= ALLOC_MIB * 1024 * 1024,
      `rss ${rss} covers the ${ALLOC_MIB} MiB the process touched`,
    );
    const fds = [...Deno.readDirSync(`/proc/${pid}/fd`)].length;
    assertEquals(find(text, "demarc_proc_open_fds")!.value, fds);
    assert(fds >= EXTRA_FILES + 3, "the files the process opened are counted");
    assertEquals(find(text, "demarc_proc_threads")!.value, status(pid, "Threads"));
    assertNear(
      find(text, "demarc_proc_vsize_bytes")!.value,
      status(pid, "VmSize"),
      { rel: 0.05 },
      "vsize",
    );
    const start = find(text, "demarc_proc_start_time_seconds")!.value;
    assertNear(start, Date.now() / 1000, { abs: 30 }, "start time is just now");
    assertEquals(find(text, "demarc_proc_rss_bytes")!.labels.comm, "python3");

    // A matching process started after the config is picked up without another PUT.
    const late = spawnHog();
    try {
      await late.ready;
      await waitFor(
        async () =>
          find(await d.scrape(), "demarc_proc_rss_bytes")!.value > 0 &&
          parseMetrics(await d.scrape()).some((m) =>
            m.name === "demarc_proc_rss_bytes" && m.labels.tgid === String(late.child.pid)
          ),
        10_000,
        "the late process's series",
      );
    } finally {
      late.child.kill("SIGKILL");
      await late.child.status;
    }

    hog.child.kill("SIGKILL");
    await hog.child.status;
    // Stale after two report periods (10 s) plus the runner's slack.
    await waitFor(
      async () => !find(await d.scrape(), "demarc_proc_rss_bytes"),
      20_000,
      "the exited process's series to vanish",
    );
  } finally {
    try {
      hog.child.kill("SIGKILL");
    } catch { /* exited */ }
    await hog.child.status;
    await d.stop();
    await Deno.remove(d.stateDir, { recursive: true });
  }
});
