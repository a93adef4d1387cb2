package io.demarc.agent.dubbo;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import org.apache.dubbo.config.ApplicationConfig;
import org.apache.dubbo.config.ProtocolConfig;
import org.apache.dubbo.config.ReferenceConfig;
import org.apache.dubbo.config.RegistryConfig;
import org.apache.dubbo.config.ServiceConfig;
import org.apache.dubbo.config.bootstrap.DubboBootstrap;
import org.apache.dubbo.rpc.model.FrameworkModel;

/**
 * A Dubbo provider and a consumer dialing it directly (no registry) in one JVM, each in its own
 * framework model so the call really goes over TCP. "run N message" makes N calls and prints
 * "result ok failed meanNs"; the message "fail" makes the service throw.
 */
public final class DubboChildApp {
  public static void main(String[] args) throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    ApplicationConfig papp = new ApplicationConfig("demarc-test-provider");
    papp.setQosEnable(false);
    // -Ddemarc.dubbo.protocol=tri: the triple protocol (HTTP/2) instead of dubbo.
    String name = System.getProperty("demarc.dubbo.protocol", "dubbo");
    ProtocolConfig protocol = new ProtocolConfig(name, port);
    protocol.setHost("127.0.0.1");
    ServiceConfig<Echo> service = new ServiceConfig<>();
    service.setInterface(Echo.class);
    service.setFilter("demarcTestFaults");
    service.setRef(message -> {
      if (message.equals("fail")) throw new IllegalStateException("asked to fail");
      return message;
    });
    DubboBootstrap.newInstance(new FrameworkModel()).application(papp)
        .registry(new RegistryConfig(RegistryConfig.NO_AVAILABLE)).protocol(protocol).service(service).start();

    ApplicationConfig capp = new ApplicationConfig("demarc-test-consumer");
    capp.setQosEnable(false);
    ReferenceConfig<Echo> ref = new ReferenceConfig<>();
    ref.setInterface(Echo.class);
    ref.setUrl(name + "://127.0.0.1:" + port);
    ref.setRetries(0);
    ref.setTimeout(10_000);
    DubboBootstrap.newInstance(new FrameworkModel()).application(capp)
        .registry(new RegistryConfig(RegistryConfig.NO_AVAILABLE)).reference(ref).start();
    Echo echo = ref.get();
    echo.echo("warm-up");
    System.out.println("ready");
    System.out.flush();
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    for (String line = in.readLine(); line != null; line = in.readLine()) {
      String[] w = line.trim().split("\\s+");
      if (w[0].equals("quit")) break;
      if (w[0].equals("ports")) {
        System.out.println("ports " + port);
      } else if (w[0].equals("run")) {
        int n = Integer.parseInt(w[1]);
        int ok = 0;
        int failed = 0;
        long total = 0;
        for (int i = 0; i < n; i++) {
          long t0 = System.nanoTime();
          try {
            echo.echo(w[2]);
            ok++;
          } catch (RuntimeException e) {
            failed++;
          }
          total += System.nanoTime() - t0;
        }
        System.out.println("result " + ok + " " + failed + " " + total / Math.max(n, 1));
      } else {
        System.out.println("error unknown command");
      }
      System.out.flush();
    }
    System.exit(0);
  }
}
