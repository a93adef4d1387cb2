package io.demarc.agent;

import java.lang.instrument.Instrumentation;
import java.lang.reflect.InvocationTargetException;

/**
 * Entry point named in the manifest (Agent-Class and Premain-Class). It only puts the agent's
 * core on the boot class path, then hands over to {@link Installer}; it touches no other agent
 * class itself, so nothing of the core is ever loaded by the system class loader first.
 */
public final class AgentMain {
  private AgentMain() {}

  public static void premain(String args, Instrumentation inst) throws Exception {
    agentmain(args, inst);
  }

  public static void agentmain(String args, Instrumentation inst) throws Exception {
    BootstrapInjector.ensure(inst);
    Class<?> installer = Class.forName("io.demarc.agent.Installer", true, AgentMain.class.getClassLoader());
    try {
      installer.getMethod("run", String.class, Instrumentation.class).invoke(null, args, inst);
    } catch (InvocationTargetException e) {
      // Let the real reason reach the JVM's stderr (and a non-zero attach return code).
      if (e.getCause() instanceof Exception ex) throw ex;
      throw e;
    }
  }
}
