package io.demarc.agent;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Calls running back to back on their own threads while the test does other things (attach,
 * detach), counted by the application: the ground truth of "no call of the application failed".
 */
final class BackgroundLoad {
  private final List<Thread> threads = new ArrayList<>();
  private final AtomicLong ok = new AtomicLong();
  private final AtomicLong failed = new AtomicLong();
  /** The first few distinct failures, so a failing test says what broke. */
  private final Set<String> failures = new ConcurrentSkipListSet<>();
  private volatile boolean running = true;

  /** Starts {@code threadsPerCall} threads for each call. */
  BackgroundLoad(List<TimedCalls.Call> calls, int threadsPerCall) {
    for (TimedCalls.Call call : calls) {
      for (int t = 0; t < threadsPerCall; t++) {
        Thread th = new Thread(() -> loop(call), "load-" + threads.size());
        th.setDaemon(true);
        threads.add(th);
        th.start();
      }
    }
  }

  private void loop(TimedCalls.Call call) {
    while (running) {
      try {
        call.call();
        ok.incrementAndGet();
      } catch (Exception e) {
        failed.incrementAndGet();
        if (failures.size() < 5) failures.add(e.toString() + (e.getCause() != null ? " <- " + e.getCause() : ""));
      }
    }
  }

  /** Stops and waits for the calls in flight; "load ok failed [failures]". */
  String stop() throws InterruptedException {
    running = false;
    for (Thread t : threads) t.join();
    return "load " + ok.get() + " " + failed.get() + " " + String.join(" | ", failures);
  }
}
