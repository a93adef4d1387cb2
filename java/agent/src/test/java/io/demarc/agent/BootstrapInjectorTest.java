package io.demarc.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The sweep of core jars that JVMs killed during their first attach left in their temp dir. */
class BootstrapInjectorTest {
  @TempDir Path dir;

  @Test
  void jarsOfJvmsThatAreGoneAreDeletedAndTheRestKept() throws Exception {
    long gone = exitedPid();
    long alive = ProcessHandle.current().pid();
    Path orphan = jar("demarc-core-" + gone + "-123.jar", 120);
    Path young = jar("demarc-core-" + gone + "-456.jar", 5);
    Path live = jar("demarc-core-" + alive + "-789.jar", 120);
    Path older = jar("demarc-core-4711.jar", 120); // no pid field: an older agent's name
    Path other = jar("demarc-corex-" + gone + "-1.jar", 120);

    assertEquals(1, BootstrapInjector.sweepOrphans(dir));

    assertFalse(Files.exists(orphan), "a jar of a JVM that is gone, made 2 minutes ago, is deleted");
    assertTrue(Files.exists(young), "a jar younger than a minute is kept (its JVM may be attaching)");
    assertTrue(Files.exists(live), "a jar of a live pid is kept");
    assertTrue(Files.exists(older), "a name without a pid is not the sweep's");
    assertTrue(Files.exists(other), "only core jars are swept");
  }

  @Test
  void aMissingDirectoryIsNoError() {
    assertEquals(0, BootstrapInjector.sweepOrphans(dir.resolve("absent")));
  }

  @Test
  void thePidIsReadFromTheName() {
    assertEquals(123, BootstrapInjector.pidOf("demarc-core-123-98765.jar"));
    assertEquals(-1, BootstrapInjector.pidOf("demarc-core-98765.jar"));
    assertEquals(-1, BootstrapInjector.pidOf("demarc-core-x1-2.jar"));
    assertEquals(-1, BootstrapInjector.pidOf("demarc-core--2.jar"));
  }

  private Path jar(String name, long ageSeconds) throws Exception {
    Path p = Files.writeString(dir.resolve(name), "not a jar");
    Files.setLastModifiedTime(p, FileTime.from(Instant.now().minusSeconds(ageSeconds)));
    return p;
  }

  /** The pid of a process that has exited (and been reaped). */
  private static long exitedPid() throws Exception {
    Process p = new ProcessBuilder("true").start();
    assertTrue(p.waitFor(10, TimeUnit.SECONDS));
    long pid = p.pid();
    assertFalse(ProcessHandle.of(pid).isPresent(), "pid " + pid + " was reused at once");
    return pid;
  }
}
