package io.demarc.agent.core;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * What one measured call costs the application thread (start + record into a hot row), single
 * threaded and with two threads on the same row. Printed for the record; the assertion only
 * catches a gross regression (the target is well under 2 µs per call).
 */
class OverheadTest {
  @AfterEach
  void off() {
    Recorder.activate(false);
    Recorder.reset();
  }

  static void call(InetSocketAddress local, InetSocketAddress remote) {
    long start = Recorder.start();
    Recorder.record("http", "server", false, Recorder.ip(local), Recorder.port(local), Recorder.ip(remote),
        Recorder.port(remote), "", Recorder.httpMethod("GET", "/api/items"), 200, StatusClass.OK, true, start, 5, 0,
        "bench", null);
  }

  static double nsPerCall(int n, InetSocketAddress local, InetSocketAddress remote) {
    long t0 = System.nanoTime();
    for (int i = 0; i < n; i++) call(local, remote);
    return (System.nanoTime() - t0) / (double) n;
  }

  @Test
  void aMeasuredCallCostsLittle() throws Exception {
    Recorder.configure(Config.parse("{\"latencyBoundsNs\":[1000000,10000000,100000000]}"));
    Recorder.activate(true);
    InetSocketAddress local = new InetSocketAddress("127.0.0.1", 8080);
    InetSocketAddress remote = new InetSocketAddress("127.0.0.1", 40000);
    nsPerCall(300_000, local, remote); // warm up
    double single = nsPerCall(1_000_000, local, remote);
    double[] two = new double[2];
    Thread[] ts = new Thread[2];
    for (int t = 0; t < 2; t++) {
      int id = t;
      ts[t] = new Thread(() -> two[id] = nsPerCall(500_000, local, remote));
      ts[t].start();
    }
    for (Thread t : ts) t.join();
    System.out.printf("overhead per measured call: %.0f ns (1 thread), %.0f ns (2 threads, same row)%n", single,
        (two[0] + two[1]) / 2);
    assertTrue(single < 20_000, "per call " + single + " ns");
    Recorder.flush(true);
  }
}
