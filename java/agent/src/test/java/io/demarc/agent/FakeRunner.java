package io.demarc.agent;

import io.demarc.agent.core.Frames;
import io.demarc.agent.core.Json;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * The runner's side of PROTOCOL.md, for tests: listens on a unix socket, checks the secret in
 * HELLO, answers with CONFIG and keeps every frame it receives.
 */
final class FakeRunner implements AutoCloseable {
  final Path socket;
  final String secret;
  final String config;
  final List<Map<String, Object>> hellos = new CopyOnWriteArrayList<>();
  final List<Map<String, Object>> metrics = new CopyOnWriteArrayList<>();
  final List<Map<String, Object>> spans = new CopyOnWriteArrayList<>();
  final List<Map<String, Object>> byes = new CopyOnWriteArrayList<>();
  final LinkedBlockingQueue<String> events = new LinkedBlockingQueue<>();
  /** What went wrong on the runner's side (a frame it could not read). */
  final List<String> errors = new CopyOnWriteArrayList<>();
  private ServerSocketChannel server;
  private volatile SocketChannel current;
  private Thread acceptor;

  FakeRunner(Path socket, String secret, String config) throws IOException {
    this.socket = socket;
    this.secret = secret;
    this.config = config;
    listen();
  }

  void listen() throws IOException {
    Files.deleteIfExists(socket);
    server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    server.bind(UnixDomainSocketAddress.of(socket));
    ServerSocketChannel s = server;
    acceptor = new Thread(() -> accept(s), "fake-runner");
    acceptor.setDaemon(true);
    acceptor.start();
  }

  /** Like a runner restart: drop the connection and stop listening. */
  void stop() throws IOException {
    server.close();
    SocketChannel c = current;
    if (c != null) c.close();
    Files.deleteIfExists(socket);
  }

  String args() {
    return "socket=" + socket + ";secret=" + secret + ";version=" + TestJars.VERSION;
  }

  void send(int type, String json) throws IOException {
    ByteBuffer b = Frames.encode(type, json);
    while (b.hasRemaining()) current.write(b);
  }

  private void accept(ServerSocketChannel s) {
    try {
      while (true) {
        SocketChannel c = s.accept();
        Thread t = new Thread(() -> serve(c), "fake-runner-conn");
        t.setDaemon(true);
        t.start();
      }
    } catch (IOException e) {
      // closed
    }
  }

  @SuppressWarnings("unchecked")
  private void serve(SocketChannel c) {
    Frames.Decoder dec = new Frames.Decoder();
    ByteBuffer buf = ByteBuffer.allocate(65536);
    try (c) {
      while (c.read(buf) >= 0) {
        buf.flip();
        dec.feed(buf);
        buf.clear();
        for (Frames.Frame f = dec.next(); f != null; f = dec.next()) {
          Map<String, Object> m = (Map<String, Object>) Json.parse(f.json());
          switch (f.type()) {
            case Frames.HELLO -> {
              if (!secret.equals(m.get("secret"))) return; // bad secret: close without answering
              hellos.add(m);
              current = c;
              ByteBuffer b = Frames.encode(Frames.CONFIG, config);
              while (b.hasRemaining()) c.write(b);
            }
            case Frames.METRICS -> metrics.add(m);
            case Frames.SPANS -> spans.add(m);
            case Frames.BYE -> byes.add(m);
            default -> { }
          }
          events.add(Integer.toString(f.type()));
        }
      }
    } catch (IOException e) {
      // connection gone
    } catch (RuntimeException e) {
      errors.add(e.toString());
    }
    events.add("closed");
  }

  /** All rows received so far. */
  @SuppressWarnings("unchecked")
  List<Map<String, Object>> rows() {
    List<Map<String, Object>> out = new ArrayList<>();
    for (Map<String, Object> m : metrics) out.addAll((List<Map<String, Object>>) m.get("rows"));
    return out;
  }

  /** Sum of a numeric row field over rows matching the filter. */
  long sum(String field, Predicate<Map<String, Object>> filter) {
    long s = 0;
    for (Map<String, Object> r : rows()) {
      if (filter.test(r)) s += ((Number) r.get(field)).longValue();
    }
    return s;
  }

  long total(String field) {
    long s = 0;
    for (Map<String, Object> m : metrics) s += ((Number) m.get(field)).longValue();
    return s;
  }

  /**
   * Waits for the first METRICS frame; when none comes, fails saying how far the agent got (the
   * frames seen, and the agent's threads in the child JVMs) so that a rare failure can be read.
   */
  void awaitFirstMetrics(String what) throws InterruptedException {
    if (await(10_000, () -> !metrics.isEmpty())) return;
    throw new AssertionError(what + ": no METRICS frame came; HELLO frames " + hellos.size() + ", frame types "
        + events + ", runner errors " + errors + "\n" + agentThreads());
  }

  /** The stacks of the agent's threads in this JVM's child JVMs (jcmd Thread.print). */
  static String agentThreads() {
    StringBuilder sb = new StringBuilder();
    Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
    for (ProcessHandle child : ProcessHandle.current().children().toList()) {
      try {
        Process p = new ProcessBuilder(jcmd.toString(), Long.toString(child.pid()), "Thread.print")
            .redirectErrorStream(true).start();
        String dump = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        p.waitFor(10, TimeUnit.SECONDS);
        sb.append("child ").append(child.pid()).append(":\n");
        for (String stanza : dump.split("\n\n")) {
          if (stanza.contains("demarc") || stanza.contains("Attach Listener")) sb.append(stanza).append("\n");
        }
      } catch (IOException e) {
        sb.append("child ").append(child.pid()).append(": jcmd failed: ").append(e).append('\n');
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    return sb.toString();
  }

  /**
   * Waits until the condition holds (checked every 50 ms). Every caller waits for something that
   * must happen, so the limit is stretched 3x: on a loaded host an attach and retransformation
   * took over 10 s; a passing test never waits longer for it.
   */
  static boolean await(long timeoutMs, java.util.function.BooleanSupplier cond) throws InterruptedException {
    long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(3 * timeoutMs);
    while (System.nanoTime() < end) {
      if (cond.getAsBoolean()) return true;
      Thread.sleep(50);
    }
    return cond.getAsBoolean();
  }

  @Override
  public void close() throws IOException {
    stop();
  }
}
