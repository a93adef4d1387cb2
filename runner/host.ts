/**
 * Host identity for the constant labels of every series.
 *
 * @module
 */

export interface HostIdentity {
  machineId: string;
  hostname: string;
}

/** `/etc/machine-id` (or D-Bus's copy) and the host name; `unknown` where absent. */
export function hostIdentity(): HostIdentity {
  let machineId = "unknown";
  for (const f of ["/etc/machine-id", "/var/lib/dbus/machine-id"]) {
    try {
      const id = Deno.readTextFileSync(f).trim();
      if (id) {
        machineId = id;
        break;
      }
    } catch {
      // try the next one
    }
  }
  return { machineId, hostname: Deno.hostname() };
}
