package io.demarc.agent.core;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The agent's only I/O: one daemon thread that connects to the runner's unix socket, says HELLO,
 * sends METRICS (and SPANS) once per report period and reconnects with backoff when the runner
 * goes away; a second daemon thread per connection reads CONFIG and DETACH. Application threads
 * never touch the socket. While disconnected, counters keep accumulating and are sent as one
 * longer period after reconnecting; frames lost in a failed write are counted as dropped.
 */
public final class Reporter {
  private static final long BACKOFF_MIN_MS = 500;
  private static final long BACKOFF_MAX_MS = 5000;

  private final String socketPath;
  private final String secret;
  private final String agentVersion;
  private final Supplier<String> instrumentations;
  private final Runnable onDetachFrame;
  private final Consumer<Config> onConfig;
  /** Wakes so far: a wait that sees it move returns early. */
  private final AtomicLong wakes = new AtomicLong();
  private final Thread sender;

  private volatile boolean stopping;
  private volatile String stopReason = "stopped";
  private volatile boolean detachRequested;
  private volatile boolean configured;
  private volatile boolean connectionLost;
  private volatile SocketChannel channel;
  private Thread reader;
  private long droppedFrames;
  private long framesSent;
  private long internalErrorsReported;
  private long periodStartMs = System.currentTimeMillis();
  /** The same moment on the monotonic clock: reports are due by it, so a wall-clock step cannot delay one. */
  private long periodStartNanos = System.nanoTime();
  /** The instrumentations list the runner last got (HELLO or INSTRUMENTATIONS); sender thread only. */
  private String instrumentationsSent;

  public Reporter(String socketPath, String secret, String agentVersion, Supplier<String> instrumentations,
      Runnable onDetachFrame) {
    this(socketPath, secret, agentVersion, instrumentations, onDetachFrame, c -> {});
  }

  /**
   * {@code onConfig} runs on the reader thread with each valid CONFIG before it takes effect
   * (the installer re-installs its hooks there when the disabled set changed).
   */
  public Reporter(String socketPath, String secret, String agentVersion, Supplier<String> instrumentations,
      Runnable onDetachFrame, Consumer<Config> onConfig) {
    this.onConfig = onConfig;
    this.socketPath = socketPath;
    this.secret = secret;
    this.agentVersion = agentVersion;
    this.instrumentations = instrumentations;
    this.onDetachFrame = onDetachFrame;
    this.sender = new Thread(this::run, "demarc-agent-sender");
    sender.setDaemon(true);
  }

  public void start() {
    sender.start();
  }

  public String socketPath() {
    return socketPath;
  }

  public long framesSent() {
    return framesSent;
  }

  /** Sends BYE, closes and ends both threads; waits for them unless called from the sender. */
  public void stop(String reason) {
    stopReason = reason;
    stopping = true;
    wake();
    if (Thread.currentThread() != sender) {
      try {
        sender.join(5000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** Ends the sender's current wait (it then looks at the flags set before this call). */
  private void wake() {
    wakes.incrementAndGet();
    LockSupport.unpark(sender);
  }

  /**
   * Waits up to {@code ns} or until woken, adding the queued calls to their rows whenever callers
   * ask for it ({@link Recorder#drainPending}: they unpark this thread every
   * {@link Recorder#DRAIN_BATCH} calls, so a busy JVM's calls are added in batches of that many,
   * with the rows warm, and an idle JVM's thread sleeps until its report). Parking, not a
   * monitor: a caller's unpark takes no lock the sender may hold. {@code seen} is the wake count
   * read before the caller looked at the flags and the config: a wake after that ends the wait,
   * however early.
   */
  private void waitDraining(long ns, long seen) throws InterruptedException {
    long end = System.nanoTime() + ns;
    for (long left = end - System.nanoTime(); left > 0 && wakes.get() == seen && !stopping;
        left = end - System.nanoTime()) {
      LockSupport.parkNanos(this, left);
      if (Thread.interrupted()) throw new InterruptedException();
      Recorder.drainPending();
    }
  }

  private void run() {
    long backoff = BACKOFF_MIN_MS;
    Recorder.drainedBy(sender);
    try {
      while (!stopping) {
        if (channel == null && !connect()) {
          sleep(backoff);
          backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
          continue;
        }
        backoff = BACKOFF_MIN_MS;
        try {
          if (!step()) return;
        } catch (InterruptedException e) {
          throw e;
        } catch (Throwable e) {
          // One bad period must not end reporting for the JVM's life: count it, pause, go on.
          Recorder.internalError(e);
          sleep(BACKOFF_MIN_MS);
        }
      }
      bye(stopReason);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (Throwable t) {
      Recorder.internalError(t);
    } finally {
      Recorder.drainerGone(sender);
      disconnect();
    }
  }

  /** One wait and what follows it on a connected channel; false once detached. */
  private boolean step() throws InterruptedException {
    // The wake count first, then what the reader sets before it wakes us (the config, the flags):
    // read the other way round, a CONFIG applied in between was missed and its wake spent, and the
    // first report waited out the previous period (60 s before any CONFIG).
    long seen = wakes.get();
    long periodNs = Recorder.config().reportPeriodMs() * 1_000_000L;
    // Until the first CONFIG there is nothing to send: sleep until the reader wakes us.
    long waitNs = configured ? periodStartNanos + periodNs - System.nanoTime() : periodNs;
    if (waitNs > 0 && !stopping && !detachRequested && !connectionLost) {
      waitDraining(Math.min(waitNs, periodNs), seen);
    }
    if (detachRequested) {
      bye("detach");
      onDetachFrame.run();
      return false;
    }
    if (connectionLost) {
      disconnect();
      return true;
    }
    // After a CONFIG (which may have disabled or enabled some) and at each report: classes of
    // a library loaded since make its instrumentation active.
    if (!stopping && configured) sendInstrumentationsIfChanged();
    if (!stopping && configured && System.nanoTime() - periodStartNanos >= periodNs) flush();
    return true;
  }

  private boolean connect() {
    SocketChannel ch = null;
    try {
      ch = SocketChannel.open(StandardProtocolFamily.UNIX);
      ch.connect(UnixDomainSocketAddress.of(socketPath));
      connectionLost = false;
      configured = false;
      channel = ch;
      write(Frames.HELLO, hello());
      SocketChannel readFrom = ch;
      reader = new Thread(() -> read(readFrom), "demarc-agent-reader");
      reader.setDaemon(true);
      reader.start();
      return true;
    } catch (IOException | RuntimeException e) {
      if (ch != null) {
        try {
          ch.close();
        } catch (IOException ignored) {
          // nothing more to do
        }
      }
      channel = null;
      return false;
    }
  }

  private String hello() {
    StringBuilder sb = new StringBuilder("{");
    Json.key(sb, "secret");
    Json.string(sb, secret);
    Json.key(sb, "pid").append(ProcessHandle.current().pid());
    Json.key(sb, "agentVersion");
    Json.string(sb, agentVersion);
    Json.key(sb, "jvm").append('{');
    Json.key(sb, "vendor");
    Json.string(sb, System.getProperty("java.vm.vendor", ""));
    Json.key(sb, "version");
    Json.string(sb, System.getProperty("java.version", ""));
    sb.append('}');
    String list = instrumentations.get();
    instrumentationsSent = list;
    Json.key(sb, "instrumentations").append(list);
    return sb.append('}').toString();
  }

  /** INSTRUMENTATIONS when the list differs from what the runner has (PROTOCOL.md). */
  private void sendInstrumentationsIfChanged() {
    String list;
    try {
      list = instrumentations.get();
    } catch (RuntimeException e) {
      Recorder.internalError(e);
      return;
    }
    if (list.equals(instrumentationsSent)) return;
    StringBuilder sb = new StringBuilder(list.length() + 24).append('{');
    Json.key(sb, "instrumentations").append(list);
    if (write(Frames.INSTRUMENTATIONS, sb.append('}').toString())) instrumentationsSent = list;
  }

  private void read(SocketChannel ch) {
    Frames.Decoder dec = new Frames.Decoder();
    ByteBuffer buf = ByteBuffer.allocate(8192);
    try {
      while (ch.read(buf) >= 0) {
        buf.flip();
        dec.feed(buf);
        buf.clear();
        for (Frames.Frame f = dec.next(); f != null; f = dec.next()) {
          if (f.type() == Frames.CONFIG) {
            try {
              Config c = Config.parse(f.json());
              onConfig.accept(c);
              Recorder.configure(c);
              // Measuring starts with the first CONFIG: its histogram bounds are the runner's.
              Recorder.activate(true);
              configured = true;
              wake();
            } catch (RuntimeException | LinkageError e) {
              Recorder.internalError(e); // a bad CONFIG keeps the previous one
            }
          } else if (f.type() == Frames.DETACH) {
            detachRequested = true;
            wake();
            return;
          }
        }
      }
    } catch (IOException e) {
      // closed by us or by the runner: the sender reconnects unless it is stopping
    } catch (RuntimeException | Error e) {
      // a frame this reader cannot take: counted, and the connection starts over (HELLO, CONFIG)
      Recorder.internalError(e);
    }
    connectionLost = true;
    wake();
  }

  private void flush() {
    long now = System.currentTimeMillis();
    Aggregator.Flush f = Recorder.flush(Recorder.config().bytes());
    long errors = Recorder.internalErrors();
    StringBuilder sb = new StringBuilder(f.rowsJson().length() + 160).append('{');
    Json.key(sb, "periodStartMs").append(periodStartMs);
    Json.key(sb, "periodEndMs").append(now);
    Json.key(sb, "rows").append(f.rowsJson());
    Json.key(sb, "overflowRows").append(f.overflowedCalls());
    Json.key(sb, "droppedFrames").append(droppedFrames);
    Json.key(sb, "internalErrors").append(errors - internalErrorsReported);
    String lastError = Recorder.takeLastInternalError();
    if (lastError != null) {
      Json.key(sb, "lastInternalError");
      Json.string(sb, lastError);
    }
    sb.append('}');
    periodStartMs = now;
    periodStartNanos = System.nanoTime();
    long droppedBefore = droppedFrames;
    if (write(Frames.METRICS, sb.toString())) {
      droppedFrames -= droppedBefore;
      internalErrorsReported = errors;
    }
    String spans = Recorder.spans().drain();
    if (spans != null) write(Frames.SPANS, spans);
    InFlight.sweep();
    BodyWait.sweep();
  }

  private void bye(String reason) {
    if (channel == null) return;
    StringBuilder sb = new StringBuilder("{");
    Json.key(sb, "reason");
    Json.string(sb, reason);
    write(Frames.BYE, sb.append('}').toString());
  }

  /** Writes one frame; on failure counts it as dropped and marks the connection lost. */
  private boolean write(int type, String json) {
    SocketChannel ch = channel;
    if (ch == null) {
      droppedFrames++;
      return false;
    }
    try {
      ByteBuffer b = Frames.encode(type, json);
      while (b.hasRemaining()) ch.write(b);
      framesSent++;
      return true;
    } catch (IOException | RuntimeException e) {
      droppedFrames++;
      connectionLost = true;
      return false;
    }
  }

  private void disconnect() {
    SocketChannel ch = channel;
    channel = null;
    if (ch != null) {
      try {
        ch.close();
      } catch (IOException ignored) {
        // already gone
      }
    }
    Thread r = reader;
    if (r != null && r != Thread.currentThread()) {
      try {
        r.join(2000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    reader = null;
  }

  private void sleep(long ms) throws InterruptedException {
    long seen = wakes.get();
    if (!stopping) waitDraining(ms * 1_000_000L, seen);
  }
}
