package io.demarc.testapps.http;

import io.demarc.testapps.core.Flags;
import io.demarc.testapps.core.ServerApp;
import io.demarc.testapps.core.Tls;
import java.nio.file.Files;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.catalina.Context;
import org.apache.catalina.LifecycleException;
import org.apache.catalina.connector.Connector;
import org.apache.catalina.startup.Tomcat;
import org.apache.tomcat.util.net.SSLHostConfig;
import org.apache.tomcat.util.net.SSLHostConfigCertificate;

/** {@code http-server}: embedded Tomcat with {@link RouteServlet}, an HTTP and an HTTPS connector. */
public final class TomcatServer extends ServerApp {
  private final Tomcat tomcat = new Tomcat();
  private final Connector http;
  private final Connector https;

  public TomcatServer(Flags flags) throws Exception {
    super(flags);
    tomcat.setBaseDir(Files.createTempDirectory("demarc-tomcat").toString());
    http = connector(flags.integer("port", 0));
    tomcat.getService().addConnector(http);
    tomcat.setConnector(http);
    int tlsPort = flags.integer("tls-port", 0);
    https = tlsPort < 0 ? null : tlsConnector(tlsPort);
    if (https != null) tomcat.getService().addConnector(https);

    Context ctx = tomcat.addContext("", null);
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
  }
}
