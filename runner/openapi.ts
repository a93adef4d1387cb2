/**
 * The OpenAPI 3.1 document of the config API, derived from the manifests.
 *
 * @module
 */

import type { LoadedManifest, ParamSpec } from "./manifest.ts";

function paramJsonSchema(p: ParamSpec): Record<string, unknown> {
  switch (p.type) {
    case "integer":
    case "number":
      return {
        type: p.type,
        minimum: p.min,
        maximum: p.max,
        default: p.default,
        description: p.description,
      };
    case "boolean":
      return { type: "boolean", default: p.default, description: p.description };
    case "string":
      return { type: "string", enum: p.values, default: p.default, description: p.description };
    case "string_list":
      return {
        type: "array",
        items: { type: "string", enum: p.values },
        default: p.default,
        description: p.description,
      };
  }
}

const selector = {
  type: "object",
  additionalProperties: false,
  properties: {
    proc_id: { type: "array", items: { type: "integer", minimum: 1 } },
    proc_name: {
      type: "array",
      items: {
        type: "object",
        properties: {
          comm: { type: "string", description: "regular expression on /proc/<pid>/comm" },
          cmdline: { type: "string", description: "substring of /proc/<pid>/cmdline" },
        },
      },
    },
    container_id: { type: "array", items: { type: "string", pattern: "^[0-9a-f]{12,64}$" } },
    pod_id: { type: "array", items: { type: "string" } },
  },
};

const answer = {
  type: "object",
  properties: {
    result: { type: "string", enum: ["success", "failed"] },
    message: { type: "string" },
  },
};

/** Build the document. */
export function openApiDocument(
  manifests: LoadedManifest[],
  version: string,
): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  for (const { manifest: m } of manifests) {
    const body = {
      type: "object",
      additionalProperties: false,
      properties: {
        cmd: {
          type: "object",
          properties: {
            probe: {
              type: "array",
              items: {
                type: "string",
                enum: m.subprobes.filter((s) => s.supported).map((s) => s.name),
              },
            },
          },
        },
        snoopers: selector,
        blacklist: selector,
        params: {
          type: "object",
          additionalProperties: false,
          properties: Object.fromEntries(
            Object.entries(m.params).map(([k, p]) => [k, paramJsonSchema(p)]),
          ),
        },
        state: { type: "string", enum: ["running", "stopped"] },
      },
    };
    for (const path of m.paths) {
      paths[path] = {
        get: {
          summary: `Current config and status of the ${m.name} probe`,
          responses: { "200": { description: "config", content: { "application/json": {} } } },
        },
        put: {
          summary: `Configure the ${m.name} probe: ${m.description}`,
          requestBody: {
            content: {
              "application/json": { schema: body },
              "application/x-www-form-urlencoded": {
                schema: {
                  type: "object",
                  properties: { json: { type: "string", description: "the JSON document" } },
                },
              },
            },
          },
          responses: {
            "200": { description: "accepted", content: { "application/json": { schema: answer } } },
            "400": {
              description: "rejected; nothing changed",
              content: { "application/json": { schema: answer } },
            },
          },
        },
      };
    }
  }
  paths["/probes"] = {
    get: {
      summary: "Probes, sub-probes and params",
      responses: { "200": { description: "list" } },
    },
  };
  paths["/api/v1/samples"] = {
    get: {
      summary: "Recent samples of one meta table",
      parameters: [
        { name: "table", in: "query", required: true, schema: { type: "string" } },
        {
          name: "since",
          in: "query",
          schema: { type: "string", description: "epoch ms, ISO time, or a duration like 5m" },
        },
        {
          name: "limit",
          in: "query",
          schema: { type: "integer", minimum: 1, maximum: 10000, default: 1000 },
        },
      ],
      responses: { "200": { description: "rows" } },
    },
  };
  return { openapi: "3.1.0", info: { title: "demarc config API", version }, paths };
}
