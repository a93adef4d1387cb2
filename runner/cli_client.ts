/**
 * The CLI's client side of the config API (`demarc probes|get|set`).
 *
 * @module
 */

/** The API answered with an error, or could not be reached. */
export class ApiClientError extends Error {
  override name = "ApiClientError";
}

/**
 * Send one request to a running demarc and return the parsed JSON answer.
 *
 * @throws {ApiClientError} when the agent is unreachable or answers a non-2xx status.
 */
export async function apiRequest(
  api: string,
  method: string,
  path: string,
  body?: string,
): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(new URL(path, api), {
      method,
      body,
      headers: body ? { "content-type": "application/json" } : undefined,
    });
  } catch (e) {
    throw new ApiClientError(
      `cannot reach demarc at ${api}: ${
        (e as Error).message
      } (is \`demarc run\` running? see --api)`,
    );
  }
  const text = await res.text();
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new ApiClientError(`${method} ${path}: HTTP ${res.status}: ${text.slice(0, 200)}`);
  }
  if (!res.ok) {
    throw new ApiClientError(
      `${method} ${path}: ${(doc as { message?: string }).message ?? `HTTP ${res.status}`}`,
    );
  }
  return doc;
}

interface ProbeListing {
  name: string;
  paths: string[];
  state: string;
  subprobes: Array<{ name: string; supported: boolean; description: string }>;
  params: Record<
    string,
    { type: string; default: unknown; min?: number; max?: number; unit?: string }
  >;
}

/** Print `GET /probes` for people at a terminal (or as JSON). */
export function printProbes(doc: unknown, json: boolean): void {
  if (json) {
    console.log(JSON.stringify(doc, null, 2));
    return;
  }
  for (const p of doc as ProbeListing[]) {
    console.log(`${p.name}  (${p.paths.join(", ")})  ${p.state}`);
    for (const s of p.subprobes) {
      console.log(
        `  ${s.name.padEnd(18)} ${s.supported ? "" : "[not supported] "}${s.description}`,
      );
    }
    for (const [k, v] of Object.entries(p.params)) {
      const range = v.min !== undefined ? ` ${v.min}..${v.max}` : "";
      console.log(
        `  param ${k}: ${v.type}${range}${v.unit ? ` ${v.unit}` : ""}, default ${
          JSON.stringify(v.default)
        }`,
      );
    }
  }
}
