package io.demarc.attach;

/**
 * Stands in for the demarc agent: sets the properties the helper reads, records its arguments,
 * and clears the "loaded" property on {@code command=detach}.
 */
public final class FakeAgent {
  public static void agentmain(String args) {
    if (args != null && args.contains("command=detach")) {
      System.clearProperty("demarc.agent.version");
      return;
    }
    if (args != null && args.contains("fail=1")) throw new IllegalStateException("asked to fail");
    if (args != null && args.startsWith("slowMs=")) { // a load that takes long (retransforming a big app)
      try {
        Thread.sleep(Long.parseLong(args.substring("slowMs=".length())));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    String v = version();
    System.setProperty("demarc.agent.version", v);
    System.setProperty("demarc.agent.classes", v);
    System.setProperty("demarc.test.args", args == null ? "" : args);
  }

  /** Package versions are not defined for jars appended at attach time: read the manifest. */
  private static String version() {
    try (java.util.jar.JarFile jf = new java.util.jar.JarFile(
        new java.io.File(FakeAgent.class.getProtectionDomain().getCodeSource().getLocation().toURI()))) {
      return jf.getManifest().getMainAttributes().getValue("Implementation-Version");
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
