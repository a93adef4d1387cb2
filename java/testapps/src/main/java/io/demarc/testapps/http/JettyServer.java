package io.demarc.testapps.http;

import io.demarc.testapps.core.Flags;
import io.demarc.testapps.core.ServerApp;
import io.demarc.testapps.core.Tls;
import java.util.LinkedHashMap;
import java.util.Map;
import org.eclipse.jetty.ee11.servlet.ServletContextHandler;
import org.eclipse.jetty.ee11.servlet.ServletHolder;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.util.ssl.SslContextFactory;

/** {@code jetty-server}: Jetty 12 (ee11 servlets) with {@link RouteServlet}, HTTP and HTTPS. */
public final class JettyServer extends ServerApp {
  private final Server server = new Server();
  private final ServerConnector http;
  private final ServerConnector https;

  public JettyServer(Flags flags) throws Exception {
    super(flags);
    http = new ServerConnector(server);
    http.setHost(host);
    http.setPort(flags.integer("port", 0));
    http.setIdleTimeout(IDLE_TIMEOUT_MS);
    server.addConnector(http);
    int tlsPort = flags.integer("tls-port", 0);
    https = tlsPort < 0 ? null : tlsConnector(tlsPort);
    if (https != null) server.addConnector(https);

    ServletContextHandler ctx = new ServletContextHandler("/");
    ServletHolder holder = new ServletHolder("routes", new RouteServlet(faults));
    for (String m : RouteServlet.MAPPINGS) ctx.addServlet(holder, m);
    server.setHandler(ctx);
    server.start();
  }

  private ServerConnector tlsConnector(int port) {
    SslContextFactory.Server ssl = new SslContextFactory.Server();
    ssl.setKeyStore(Tls.keyStore());
    ssl.setKeyStorePassword(Tls.PASSWORD);
    HttpConfiguration config = new HttpConfiguration();
    SecureRequestCustomizer secure = new SecureRequestCustomizer();
    // Clients dial 127.0.0.1 and send no SNI; the test certificate must still be served.
    secure.setSniHostCheck(false);
    config.addCustomizer(secure);
    ServerConnector c = new ServerConnector(server,
        new SslConnectionFactory(ssl, "http/1.1"), new HttpConnectionFactory(config));
    c.setHost(host);
    c.setPort(port);
    c.setIdleTimeout(IDLE_TIMEOUT_MS);
    return c;
  }

  @Override
  public String name() {
    return "jetty-server";
  }

  @Override
  public Map<String, Integer> ports() {
    Map<String, Integer> p = new LinkedHashMap<>();
    p.put("plain", http.getLocalPort());
    if (https != null) p.put("tls", https.getLocalPort());
    return p;
  }

  @Override
  public void close() {
    try {
      server.stop();
    } catch (Exception e) {
      System.err.println("jetty stop: " + e);
    }
  }
}
