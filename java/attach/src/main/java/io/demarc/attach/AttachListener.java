package io.demarc.attach;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import java.util.Timer;
import java.util.TimerTask;

/**
 * HotSpot's attach protocol spoken directly over the JVM's unix socket, reached through
 * {@code /proc/<pid>/root/tmp/.java_pid<nspid>}. The JDK's own VirtualMachine looks for the socket
 * in the caller's /tmp, which fails for a JVM with a private /tmp; this works from any namespace.
 */
public final class AttachListener {
  private static final int MAX_ARG = 1024; // HotSpot's per-argument limit in protocol version 1

  private final Target target;
  private final long startTimeoutMs;

  public AttachListener(Target target, long startTimeoutMs) {
    this.target = target;
    this.startTimeoutMs = startTimeoutMs;
  }

  /**
   * Makes sure the JVM's attach listener runs: if its socket is absent, leaves the trigger file
   * where HotSpot looks for it, sends SIGQUIT and waits for the socket.
   *
   * @throws AttachException no_sigquit, exited, attach_disabled (no socket in time), io
   */
  public void ensureStarted() throws AttachException {
    Path socket = target.attachSocket();
    if (Files.exists(socket)) {
      if (!target.predates(socket)) return;
      // Left by an earlier process with this pid, killed before it could remove it (pids are
      // reused: 32768 of them by default). Connecting to it is refused; HotSpot binds a new one
      // on the handshake below, and the wait must not mistake this one for it.
      try {
        Files.deleteIfExists(socket);
      } catch (IOException e) {
        throw new AttachException("permission", "cannot remove the stale attach socket " + socket
            + " (left by an earlier process with pid " + target.nspid + "): " + e.getMessage(),
            "remove it by hand, or run the helper as root", e);
      }
    }
    if (!target.catchesSigquit) {
      // SIGQUIT's default action would kill a JVM that is starting up or runs with -Xrs.
      throw new AttachException("no_sigquit", "JVM " + target.pid + " does not handle SIGQUIT (still starting, or -Xrs)",
          "retry once the JVM has started; a JVM run with -Xrs cannot be attached to");
    }
    Path trigger = createTrigger();
    try {
      signalQuit();
      long deadline = System.nanoTime() + startTimeoutMs * 1_000_000L;
      while (!Files.exists(socket)) {
        if (!target.alive()) {
          throw new AttachException("exited", "process " + target.pid + " exited during attach", "check why it stopped");
        }
        if (System.nanoTime() > deadline) {
          throw new AttachException("attach_disabled",
              "JVM " + target.pid + " did not start its attach listener within " + startTimeoutMs + " ms",
              "it may run with -XX:+DisableAttachMechanism (set through an argument file or the JDK's "
                  + "default options), or be hung; a thread dump went to its stdout");
        }
        sleep(10);
      }
    } finally {
      try {
        Files.deleteIfExists(trigger);
      } catch (IOException ignored) {
        // a left-over trigger file is harmless: HotSpot ignores it once the listener runs
      }
    }
  }

  /** Runs {@code properties} and parses the JVM's system properties. */
  public Properties systemProperties(long timeoutMs) throws AttachException {
    Response r = execute(timeoutMs, "properties", "", "", "");
    if (r.status != 0) {
      throw new AttachException("io", "properties command failed: " + r.body.strip(), "check the JVM's stderr");
    }
    Properties p = new Properties();
    try {
      p.load(new java.io.StringReader(r.body));
    } catch (IOException e) {
      throw new AttachException("io", "cannot parse the JVM's properties", "", e);
    }
    return p;
  }

  /**
   * Loads a java agent jar: {@code load instrument false <jar>=<args>}.
   *
   * @throws AttachException load_failed with the JVM's reason
   */
  public void loadAgent(String jarInTarget, String args, long timeoutMs) throws AttachException {
    if (jarInTarget.indexOf('=') >= 0) {
      throw new AttachException("bad_input", "agent path contains '=': " + jarInTarget, "move the jar");
    }
    Response r = execute(timeoutMs, "load", "instrument", "false", jarInTarget + "=" + args);
    String body = r.body.strip();
    if (r.status != 0) {
      throw new AttachException("load_failed", "the JVM refused to load the agent: " + body,
          "check the agent jar is readable by the JVM's user at " + jarInTarget);
    }
    // JDK 9+ answers "return code: N"; N != 0 means agentmain threw (stack trace on the JVM's stderr).
    String prefix = "return code: ";
    if (body.startsWith(prefix) && !body.substring(prefix.length()).strip().equals("0")) {
      throw new AttachException("load_failed", "agentmain failed in JVM " + target.pid + " (" + body + ")",
          "see the JVM's stderr for the agent's exception");
    }
    if (!body.isEmpty() && !body.startsWith(prefix)) {
      throw new AttachException("load_failed", "agent load failed: " + body, "see the JVM's stderr");
    }
  }

  record Response(int status, String body) {}

  Response execute(long timeoutMs, String cmd, String a1, String a2, String a3) throws AttachException {
    ByteArrayOutputStream req = new ByteArrayOutputStream();
    for (String s : new String[] {"1", cmd, a1, a2, a3}) {
      byte[] b = s.getBytes(StandardCharsets.UTF_8);
      if (b.length > MAX_ARG) {
        throw new AttachException("bad_input", "attach argument longer than " + MAX_ARG + " bytes", "shorten it");
      }
      req.writeBytes(b);
      req.write(0);
    }
    Timer watchdog = new Timer("demarc-attach-watchdog", true);
    try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      // A hung JVM must not hang the runner: close the channel when the time is up.
      watchdog.schedule(new TimerTask() {
        @Override
        public void run() {
          try {
            ch.close();
          } catch (IOException ignored) {
            // closing is all we can do
          }
        }
      }, timeoutMs);
      ch.connect(UnixDomainSocketAddress.of(target.attachSocket()));
      ch.write(ByteBuffer.wrap(req.toByteArray()));
      ByteArrayOutputStream resp = new ByteArrayOutputStream();
      ByteBuffer buf = ByteBuffer.allocate(8192);
      while (ch.read(buf) >= 0) {
        resp.write(buf.array(), 0, buf.position());
        buf.clear();
      }
      String text = resp.toString(StandardCharsets.UTF_8);
      int nl = text.indexOf('\n');
      String first = (nl < 0 ? text : text.substring(0, nl)).strip();
      try {
        return new Response(Integer.parseInt(first), nl < 0 ? "" : text.substring(nl + 1));
      } catch (NumberFormatException e) {
        throw new AttachException("io", "unexpected attach answer: " + text.strip(), "is this a HotSpot JVM?");
      }
    } catch (java.nio.channels.AsynchronousCloseException e) {
      throw new AttachException("timeout", "JVM " + target.pid + " did not answer '" + cmd + "' within " + timeoutMs + " ms",
          "the JVM may be overloaded or stopped (SIGSTOP?)", e);
    } catch (java.net.SocketException e) {
      if (!target.alive()) {
        throw new AttachException("exited", "process " + target.pid + " exited during attach", "check why it stopped", e);
      }
      throw new AttachException("permission", "cannot talk to " + target.attachSocket() + ": " + e.getMessage(),
          "run the helper as root or as the JVM's user (uid " + target.uid + ")", e);
    } catch (IOException e) {
      if (!target.alive()) {
        throw new AttachException("exited", "process " + target.pid + " exited during attach", "check why it stopped", e);
      }
      throw new AttachException("io", "attach I/O error: " + e, "", e);
    } finally {
      watchdog.cancel();
    }
  }

  private Path createTrigger() throws AttachException {
    String name = ".attach_pid" + target.nspid;
    // HotSpot looks in its working directory first, then in /tmp; the JDK client does the same.
    for (Path dir : new Path[] {target.cwd(), target.root().resolve("tmp")}) {
      Path f = dir.resolve(name);
      try {
        Files.deleteIfExists(f);
        Files.createFile(f);
        return f;
      } catch (IOException e) {
        // try the next place
      }
    }
    throw new AttachException("permission", "cannot create " + name + " in the JVM's working directory or /tmp",
        "run the helper as root or as the JVM's user (uid " + target.uid + ")");
  }

  private void signalQuit() throws AttachException {
    try {
      Process p = new ProcessBuilder("kill", "-QUIT", Long.toString(target.pid))
          .redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
      if (p.waitFor() != 0) {
        if (!target.alive()) {
          throw new AttachException("exited", "process " + target.pid + " exited during attach", "check why it stopped");
        }
        throw new AttachException("permission", "kill -QUIT " + target.pid + " failed: " + out,
            "run the helper as root or as the JVM's user (uid " + target.uid + ")");
      }
    } catch (IOException e) {
      throw new AttachException("io", "cannot run kill: " + e.getMessage(), "install procps or coreutils' kill", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AttachException("io", "interrupted", "");
    }
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
