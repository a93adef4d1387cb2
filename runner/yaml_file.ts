/**
 * Reading a YAML file against a zod schema, with errors that name the file and the field.
 *
 * @module
 */

import { load as parseYaml } from "js-yaml";
import type { z } from "zod";

/** A manifest or meta file is broken: says which file, which field, and what is accepted. */
export class ManifestError extends Error {
  override name = "ManifestError";
  constructor(
    readonly file: string,
    readonly field: string,
    detail: string,
    options?: ErrorOptions,
  ) {
    super(`${file}: field "${field}" ${detail}`, options);
  }
}

/**
 * Parse `file` as YAML and validate it.
 *
 * @throws {ManifestError} on unreadable files, YAML syntax errors and schema violations.
 */
export async function parseYamlFile<S extends z.ZodTypeAny>(
  file: string,
  schema: S,
): Promise<z.output<S>> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    throw new ManifestError(file, "(file)", `cannot be read: ${(e as Error).message}`, {
      cause: e,
    });
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new ManifestError(file, "(yaml)", `is not valid YAML: ${(e as Error).message}`, {
      cause: e,
    });
  }
  const r = schema.safeParse(doc);
  if (!r.success) {
    const issue = r.error.issues[0];
    const field = issue.path.length ? issue.path.join(".") : "(root)";
    throw new ManifestError(file, field, describeIssue(issue));
  }
  return r.data;
}

function describeIssue(issue: z.ZodIssue): string {
  switch (issue.code) {
    case "invalid_enum_value":
      return `is "${issue.received}"; accepted: ${issue.options.join(", ")}`;
    case "invalid_type":
      return issue.received === "undefined"
        ? `is missing (expected ${issue.expected})`
        : `has type ${issue.received}; expected ${issue.expected}`;
    case "unrecognized_keys":
      return `has unknown key(s) ${issue.keys.join(", ")}`;
    case "invalid_union_discriminator":
      return `is not accepted; accepted: ${issue.options.join(", ")}`;
    default:
      return `is invalid: ${issue.message}`;
  }
}
