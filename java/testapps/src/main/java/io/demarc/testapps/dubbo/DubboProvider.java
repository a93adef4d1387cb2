package io.demarc.testapps.dubbo;

import io.demarc.testapps.core.Faults;
import io.demarc.testapps.core.Flags;
import io.demarc.testapps.core.ServerApp;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.Map;
import org.apache.dubbo.config.ApplicationConfig;
import org.apache.dubbo.config.ProtocolConfig;
import org.apache.dubbo.config.RegistryConfig;
import org.apache.dubbo.config.ServiceConfig;
import org.apache.dubbo.config.bootstrap.DubboBootstrap;
import org.apache.dubbo.rpc.model.FrameworkModel;

/**
 * {@code dubbo-provider [--protocol dubbo|tri]}: {@link EchoService} over the dubbo (or triple)
 * protocol, no registry (consumers dial {@code dubbo://host:port} or {@code tri://host:port}). Each provider has its own Dubbo framework model, so
 * several can live in one JVM (tests).
 */
public final class DubboProvider extends ServerApp {
  /** Response attachment in which the provider tells the consumer its own port. */
  static final String PEER_PORT = "demarc-peer-port";

  private final FrameworkModel framework = new FrameworkModel();
  private final DubboBootstrap bootstrap;
  private final ServiceConfig<EchoService> service = new ServiceConfig<>();
  private final int port;

  public DubboProvider(Flags flags) throws IOException {
    super(flags);
    int wanted = flags.integer("port", 0);
    port = wanted != 0 ? wanted : freePort(host);
    ApplicationConfig app = new ApplicationConfig(flags.get("name", "demarc-dubbo-provider"));
    app.setQosEnable(false);
    // --protocol tri: the triple protocol (HTTP/2) instead of dubbo; consumers dial tri://host:port.
    ProtocolConfig protocol = new ProtocolConfig(flags.get("protocol", "dubbo"), port);
    protocol.setHost(host);
    service.setInterface(EchoService.class);
    service.setRef(new Impl(faults));
    service.setFilter("demarcFaults");
    FaultFilter.BY_PORT.put(port, faults);
    bootstrap = DubboBootstrap.newInstance(framework)
        .application(app)
        .registry(new RegistryConfig(RegistryConfig.NO_AVAILABLE))
        .protocol(protocol)
        .service(service)
        .start();
  }

  /** Dubbo reads port 0 as "the default port"; an ephemeral port is picked here instead. */
  private static int freePort(String host) throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName(host))) {
      return s.getLocalPort();
    }
  }

  /** Echoes; faults are injected before it by {@link FaultFilter}. */
  static final class Impl implements EchoService {
    private final Faults faults;

    Impl(Faults faults) {
      this.faults = faults;
    }

    @Override
    public String echo(String message) {
      faults.sent(FaultFilter.size(new Object[] {message}));
      return message;
    }

    @Override
    public byte[] echoBytes(byte[] payload) {
      faults.sent(payload == null ? 0 : payload.length);
      return payload;
    }
  }

  @Override
  public String name() {
    return "dubbo-provider";
  }

  @Override
  public Map<String, Integer> ports() {
    return Map.of("plain", port);
  }

  @Override
  public void close() {
    FaultFilter.BY_PORT.remove(port, faults);
    bootstrap.destroy();
    framework.destroy();
  }
}
