package io.demarc.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.Map;
import java.util.function.Predicate;

/**
 * The agent's mean latency over one batch of calls (the difference of its sums before and after)
 * against the application's own mean of the same calls: within 5% or 1 ms.
 *
 * <p>The application's clock brackets the agent's interval, so on a loaded host a single call
 * stalled outside it (a GC pause, the thread descheduled between reading the body and reading the
 * clock) moves the application's mean of a small batch by milliseconds. A batch that misses is
 * therefore run again, up to three times; an agent that measures the wrong interval misses every
 * time. Counts are exact in every batch: they do not depend on timing.
 */
final class MeanCheck {
  static final int ATTEMPTS = 3;

  /** One batch of calls, as the application timed them. */
  interface Batch {
    Child.Result run() throws Exception;
  }

  private MeanCheck() {}

  /** Runs batches of n calls until one agrees; each batch's mean must be at least minNs. */
  static Child.Result assertAgrees(FakeRunner runner, Predicate<Map<String, Object>> rows, int n, long minNs,
      Batch batch) throws Exception {
    StringBuilder misses = new StringBuilder();
    for (int attempt = 1; attempt <= ATTEMPTS; attempt++) {
      long count0 = runner.sum("requests", rows);
      long sum0 = runner.sum("latencySumNs", rows);
      Child.Result app = batch.run();
      assertEquals(n, app.ok(), "the application's own successful calls in the batch");
      assertTrue(FakeRunner.await(10_000, () -> runner.sum("requests", rows) >= count0 + n),
          "the batch's " + n + " calls reach the runner; rows " + runner.rows().stream().filter(rows).toList());
      Thread.sleep(300); // and no more than n arrive
      long count = runner.sum("requests", rows) - count0;
      assertEquals(n, count, "calls of this batch; rows " + runner.rows().stream().filter(rows).toList());
      long agentMean = (runner.sum("latencySumNs", rows) - sum0) / count;
      assertTrue(agentMean >= minNs, "agent mean " + agentMean + " ns must include the " + minNs + " ns the server waits");
      long tolerance = Math.max(1_000_000, app.meanNs() / 20);
      if (Math.abs(agentMean - app.meanNs()) <= tolerance) return app;
      misses.append(String.format("%n  batch %d: agent mean %d ns vs application mean %d ns (tolerance %d ns)",
          attempt, agentMean, app.meanNs(), tolerance));
    }
    fail("the agent's mean latency missed the application's in every batch:" + misses);
    return null;
  }
}
