package io.demarc.testapps.http;

import io.demarc.testapps.core.Flags;
import io.demarc.testapps.core.ServerApp;
import io.demarc.testapps.core.Tls;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.catalina.LifecycleException;
import org.apache.catalina.connector.Connector;
import org.apache.catalina.core.StandardContext;
import org.apache.catalina.startup.Tomcat;
import org.apache.tomcat.util.net.SSLHostConfig;
import org.apache.tomcat.util.net.SSLHostConfigCertificate;

/** {@code http-server}: embedded Tomcat with {@link RouteServlet}, an HTTP and an HTTPS connector. */
public final class TomcatServer extends ServerApp {
  private final Tomcat tomcat = new Tomcat();
  private final Path baseDir;
  private final Connector http;
  private final Connector https;

  public TomcatServer(Flags flags) throws Exception {
    super(flags);
    baseDir = Files.createTempDirectory("demarc-tomcat");
    tomcat.setBaseDir(baseDir.toString());
    http = connector(flags.integer("port", 0));
    tomcat.getService().addConnector(http);
    tomcat.setConnector(http);
    int tlsPort = flags.integer("tls-port", 0);
    https = tlsPort < 0 ? null : tlsConnector(tlsPort);
    if (https != null) tomcat.getService().addConnector(https);

    StandardContext ctx = (StandardContext) tomcat.addContext("", null);
    // Leak detection at stop needs --add-opens and only warns; nothing is redeployed here.
    ctx.setClearReferencesThreadLocals(false);
    ctx.setClearReferencesRmiTargets(false);
    Tomcat.addServlet(ctx, "routes", new RouteServlet(faults));
    for (String m : RouteServlet.MAPPINGS) ctx.addServletMappingDecoded(m, "routes");
    tomcat.start();
  }

  private Connector connector(int port) {
    Connector c = new Connector();
    c.setPort(port);
    c.setProperty("address", host);
    c.setProperty("keepAliveTimeout", Integer.toString(IDLE_TIMEOUT_MS));
    c.setProperty("maxKeepAliveRequests", "-1");
    return c;
  }

  private Connector tlsConnector(int port) {
    Connector c = connector(port);
    c.setSecure(true);
    c.setScheme("https");
    c.setProperty("SSLEnabled", "true");
    SSLHostConfig ssl = new SSLHostConfig();
    SSLHostConfigCertificate cert =
        new SSLHostConfigCertificate(ssl, SSLHostConfigCertificate.Type.UNDEFINED);
    cert.setCertificateKeystore(Tls.keyStore());
    cert.setCertificateKeystorePassword(Tls.PASSWORD);
    cert.setCertificateKeyAlias(Tls.ALIAS);
    ssl.addCertificate(cert);
    c.addSslHostConfig(ssl);
    return c;
  }

  @Override
  public String name() {
    return "http-server";
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
      tomcat.stop();
      tomcat.destroy();
    } catch (LifecycleException e) {
      System.err.println("tomcat stop: " + e);
    }
    try (Stream<Path> files = Files.walk(baseDir)) {
      files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
    } catch (IOException e) {
      System.err.println("tomcat base dir: " + e);
    }
  }
}
