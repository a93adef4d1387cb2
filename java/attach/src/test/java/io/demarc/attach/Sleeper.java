package io.demarc.attach;

/** A target JVM for the tests: says "ready", then lives until stdin closes or N ms pass. */
public final class Sleeper {
  public static void main(String[] args) throws Exception {
    long lifeMs = args.length > 0 ? Long.parseLong(args[0]) : 120_000;
    System.out.println("ready");
    System.out.flush();
    Thread t = new Thread(() -> {
      try {
        while (System.in.read() >= 0) {
          // wait for the parent to close stdin
        }
      } catch (Exception ignored) {
        // parent gone
      }
      System.exit(0);
    });
    t.setDaemon(true);
    t.start();
    Thread.sleep(lifeMs);
  }
}
