package io.demarc.agent;

/** Test apps' batches of calls, timed by the application itself: the ground truth of the tests. */
public final class TimedCalls {
  /** One call of the batch; throwing counts it as failed. */
  public interface Call {
    void call() throws Exception;
  }

  private TimedCalls() {}

  /** Runs n calls; "result ok failed meanNs" (the line protocol Child parses). */
  public static String run(int n, Call call) {
    int ok = 0;
    int failed = 0;
    long total = 0;
    for (int i = 0; i < n; i++) {
      long t0 = System.nanoTime();
      try {
        call.call();
        ok++;
      } catch (Exception e) {
        failed++;
      }
      total += System.nanoTime() - t0;
    }
    return "result " + ok + " " + failed + " " + (n == 0 ? 0 : total / n);
  }
}
