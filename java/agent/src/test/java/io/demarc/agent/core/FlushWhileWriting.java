package io.demarc.agent.core;

import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Writer threads adding calls while the flusher empties the aggregator every millisecond, far
 * more often than any real report period, so rows are evicted and made again under the writers.
 * Every flushed row, and those of two final flushes, goes to the consumer. {@code flush} is the
 * aggregator's own, or the recorder's (its queued calls drained first).
 */
final class FlushWhileWriting {
  /** Call number i of writer thread t. */
  interface Writer {
    void write(int thread, int i);
  }

  private FlushWhileWriting() {}

  static void run(Supplier<Aggregator.Flush> flush, int threads, int perThread, Writer writer,
      Consumer<Map<String, Object>> rows) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    CountDownLatch done = new CountDownLatch(threads);
    try {
      for (int t = 0; t < threads; t++) {
        int id = t;
        pool.execute(() -> {
          for (int i = 0; i < perThread; i++) writer.write(id, i);
          done.countDown();
        });
      }
      while (done.getCount() > 0) {
        AggregatorTest.rows(flush.get()).forEach(rows);
        Thread.sleep(1);
      }
      for (int i = 0; i < 2; i++) AggregatorTest.rows(flush.get()).forEach(rows);
    } finally {
      pool.shutdown();
    }
  }
}
