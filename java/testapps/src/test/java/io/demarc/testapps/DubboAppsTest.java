package io.demarc.testapps;

import static io.demarc.testapps.Apps.ask;
import static io.demarc.testapps.Apps.num;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.demarc.testapps.core.App;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DubboAppsTest {
  private App provider;
  private String url;

  @BeforeAll
  void start() throws Exception {
    provider = Apps.start("dubbo-provider");
    url = "dubbo://127.0.0.1:" + Apps.port(provider, "plain");
  }

  @AfterAll
  void stop() {
    provider.close();
  }

  @AfterEach
  void clearFaults() {
    ask(provider, "set latency_ms=0 error_rate=0 error_code=");
  }

  @ParameterizedTest(name = "{0}: calls go over one shared TCP connection to the provider")
  @CsvSource({"echo", "echoBytes"})
  void callsAreEchoedOverOneConnection(String method) throws Exception {
    long before = num(ask(provider, "stats"), "requests");
    try (App c = Apps.start("dubbo-consumer", "--url", url, "--method", method)) {
      String r = ask(c, "run 40 concurrency=4 payload=200");
      assertEquals(40, num(r, "ok"), r);
      assertEquals(8000, num(r, "bytesSent"));
      assertEquals(8000, num(r, "bytesReceived"));
      assertEquals(1, Apps.ports(r).size(), r);
      assertEquals(Apps.ports(r), Apps.ports(ask(c, "run 2")), "the consumer keeps its connection");
    }
    assertEquals(before + 42, num(ask(provider, "stats"), "requests"));
  }

  @Test
  void injectedErrorsOfEveryKindAreServerErrorsAndLatencyShowsInTheMean() throws Exception {
    try (App c = Apps.start("dubbo-consumer", "--url", url)) {
      ask(provider, "set error_rate=1");
      String all = ask(c, "run 10");
      assertEquals(10, num(all, "serverErrors"), all);
      assertEquals(0, num(all, "ok"), all);
      ask(provider, "set error_rate=0.5 error_code=biz");
      String half = ask(c, "run 10");
      assertEquals(5, num(half, "serverErrors"), half);
      assertEquals(5, num(half, "ok"), half);
      ask(provider, "set error_rate=1 error_code=status");
      String status = ask(c, "run 4");
      assertEquals(4, num(status, "serverErrors"), status);
      ask(provider, "set error_rate=0 latency_ms=30 error_code=");
      String slow = ask(c, "run 5");
      assertEquals(5, num(slow, "ok"), slow);
      assertTrue(num(slow, "meanNs") >= 30_000_000L, slow);
    }
  }

  @Test
  void aTimeoutIsAClientError() throws Exception {
    try (App c = Apps.start("dubbo-consumer", "--url", url, "--timeout-ms", "100")) {
      ask(provider, "set latency_ms=300");
      String r = ask(c, "run 2");
      assertEquals(2, num(r, "clientErrors"), r);
    }
  }
}
