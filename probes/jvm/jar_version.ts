/**
 * Reading the agent jar's version (`Implementation-Version` in `META-INF/MANIFEST.MF`), so the
 * runner tells the agent which version it expects without a constant that drifts from the pom.
 *
 * @module
 */

/** The jar is unreadable or has no version in its manifest. */
export class JarVersionError extends Error {
  override name = "JarVersionError";
}

const EOCD_SIG = 0x06054b50;
const CEN_SIG = 0x02014b50;
const LOC_SIG = 0x04034b50;

/**
 * The `Implementation-Version` of a jar's manifest.
 *
 * @param jar path of the jar
 * @returns the version string
 * @throws {JarVersionError} when the file is not a zip, has no manifest, or no version in it
 */
export async function jarVersion(jar: string): Promise<string> {
  const bytes = await Deno.readFile(jar).catch((e) => {
    throw new JarVersionError(
      `cannot read ${jar}: ${e.message} (hint: run \`deno task build --java-only\`)`,
      { cause: e },
    );
  });
  const manifest = await readEntry(bytes, "META-INF/MANIFEST.MF", jar);
  const m = /^Implementation-Version:\s*(\S+)\s*$/m.exec(manifest.replace(/\r\n /g, ""));
  if (!m) throw new JarVersionError(`${jar}: META-INF/MANIFEST.MF has no Implementation-Version`);
  return m[1];
}

async function readEntry(zip: Uint8Array, name: string, jar: string): Promise<string> {
  const v = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 65535); i--) {
    if (v.getUint32(i, true) === EOCD_SIG) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) {
    throw new JarVersionError(`${jar} is not a zip/jar file (no end of central directory)`);
  }
  const entries = v.getUint16(eocd + 10, true);
  let at = v.getUint32(eocd + 16, true);
  const dec = new TextDecoder();
  for (let n = 0; n < entries; n++) {
    if (v.getUint32(at, true) !== CEN_SIG) break;
    const method = v.getUint16(at + 10, true);
    const size = v.getUint32(at + 20, true);
    const nameLen = v.getUint16(at + 28, true);
    const extraLen = v.getUint16(at + 30, true);
    const commentLen = v.getUint16(at + 32, true);
    const local = v.getUint32(at + 42, true);
    if (dec.decode(zip.subarray(at + 46, at + 46 + nameLen)) === name) {
      if (v.getUint32(local, true) !== LOC_SIG) break;
      const start = local + 30 + v.getUint16(local + 26, true) + v.getUint16(local + 28, true);
      const data = zip.slice(start, start + size);
      if (method === 0) return dec.decode(data);
      if (method !== 8) throw new JarVersionError(`${jar}: ${name} uses zip method ${method}`);
      const inflated = new Blob([data]).stream().pipeThrough(
        new DecompressionStream("deflate-raw"),
      );
      return await new Response(inflated).text();
    }
    at += 46 + nameLen + extraLen + commentLen;
  }
  throw new JarVersionError(`${jar} has no ${name}`);
}
