package io.demarc.agent.servlet;

import java.nio.file.Files;
import org.apache.catalina.Context;
import org.apache.catalina.startup.Tomcat;
import org.apache.tomcat.util.descriptor.web.FilterDef;
import org.apache.tomcat.util.descriptor.web.FilterMap;

/**
 * Embedded Tomcat 9 (javax.servlet) serving {@link ApiServlet} at /api/*, driven by
 * {@link HttpDriver}. Compiled against Tomcat 11's API but only through methods whose
 * descriptors Tomcat 9 shares (the servlet is added by class name), and run with Tomcat 9 alone
 * on the class path.
 */
public final class TomcatJavaxApp {
  private TomcatJavaxApp() {}

  public static void main(String[] args) throws Exception {
    HttpDriver driver = new HttpDriver(ServerClock::takeReport);
    Tomcat tomcat = new Tomcat();
    tomcat.setBaseDir(Files.createTempDirectory("tomcat9").toString());
    tomcat.setPort(0);
    tomcat.getConnector().setProperty("address", "127.0.0.1");
    Context ctx = tomcat.addContext("", null);
    Tomcat.addServlet(ctx, "api", ApiServlet.class.getName());
    ctx.addServletMappingDecoded("/api/*", "api");
    FilterDef clock = new FilterDef();
    clock.setFilterName("clock");
    clock.setFilterClass(ServerClock.class.getName());
    ctx.addFilterDef(clock);
    FilterMap all = new FilterMap();
    all.setFilterName("clock");
    all.addURLPattern("/*");
    ctx.addFilterMap(all);
    tomcat.start();
    driver.serve(tomcat.getConnector().getLocalPort());
  }
}
