package io.demarc.testapps;

import static io.demarc.testapps.Apps.ask;
import static io.demarc.testapps.Apps.num;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.demarc.testapps.core.App;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class GrpcAppsTest {
  private App server;

  @BeforeAll
  void start() throws Exception {
    server = Apps.start("grpc-server");
  }

  @AfterAll
  void stop() {
    server.close();
  }

  @AfterEach
  void clearFaults() {
    ask(server, "set latency_ms=0 error_rate=0 error_code=");
  }

  private App client(boolean tls, boolean streaming) throws Exception {
    String target = "127.0.0.1:" + Apps.port(server, tls ? "tls" : "plain");
    return Apps.start("grpc-client", "--target", target, "--tls=" + tls, "--streaming=" + streaming);
  }

  @ParameterizedTest(name = "tls={0} streaming={1}: all calls answered over one HTTP/2 connection")
  @CsvSource({"false,false", "false,true", "true,false", "true,true"})
  void callsAreEchoedOverOneConnection(boolean tls, boolean streaming) throws Exception {
    long before = num(ask(server, "stats"), "requests");
    try (App c = client(tls, streaming)) {
      String r = ask(c, "run 30 concurrency=3 payload=50");
      assertEquals(30, num(r, "ok"), r);
      assertEquals(1500, num(r, "bytesSent"));
      assertEquals(streaming ? 4500 : 1500, num(r, "bytesReceived"), r);
      assertEquals(1, Apps.ports(r).size(), r);
      assertEquals(Apps.ports(r), Apps.ports(ask(c, "run 3")), "the channel keeps its connection");
    }
    assertEquals(before + 33, num(ask(server, "stats"), "requests"));
  }

  @ParameterizedTest(name = "streaming={0}: injected INTERNAL is a server error, INVALID_ARGUMENT a client error")
  @CsvSource({"false", "true"})
  void injectedStatusesAreClassified(boolean streaming) throws Exception {
    try (App c = client(false, streaming)) {
      ask(server, "set error_rate=1");
      String all = ask(c, "run 10");
      assertEquals(10, num(all, "serverErrors"), all);
      ask(server, "set error_rate=0.2 error_code=UNAVAILABLE");
      assertEquals(2, num(ask(c, "run 10"), "serverErrors"));
      ask(server, "set error_rate=1 error_code=INVALID_ARGUMENT");
      String bad = ask(c, "run 4");
      assertEquals(4, num(bad, "clientErrors"), bad);
    }
  }

  @ParameterizedTest(name = "tls={0}: latency_ms=30 shows in the client's mean")
  @CsvSource({"false", "true"})
  void injectedLatencyShowsInTheClientMean(boolean tls) throws Exception {
    try (App c = client(tls, false)) {
      ask(c, "run 3");
      ask(server, "set latency_ms=30");
      String slow = ask(c, "run 5");
      assertTrue(num(slow, "meanNs") >= 30_000_000L, slow);
    }
  }
}
