/**
 * Subcommands, options and help on top of `node:util`'s parseArgs: what the CLI needs of a
 * command-line library, without one (the npm CLI libraries are CommonJS, and loading Deno's
 * CommonJS layer costs the agent ~8 MB of RSS for good).
 *
 * @module
 */

import { parseArgs } from "node:util";

/** A bad command line: printed with the command's usage, exit 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** One `--flag <value>` or `--flag` (boolean) option. */
export interface OptionSpec {
  /** Placeholder of the value, e.g. "port"; absent for a boolean flag. */
  value?: string;
  help: string;
  default?: string;
  /** Turns the text into the value, throwing an Error whose message says what is accepted. */
  parse?: (text: string) => unknown;
}

/** A subcommand: `name <arg> ...` with options, and what it does. */
export interface CommandSpec {
  name: string;
  /** Required positional arguments, by name. */
  args?: string[];
  help: string;
  options?: Record<string, OptionSpec>;
  /** Options come keyed in camelCase (`--api-port` as `apiPort`). */
  action: (args: string[], options: Record<string, unknown>) => unknown;
}

/** A program: its commands, and what `--help` and `--version` print. */
export interface ProgramSpec {
  name: string;
  help: string;
  version: string;
  commands: CommandSpec[];
}

/** What a command line asks for: a command to run, or text to print (help, version). */
export type Parsed =
  | { kind: "run"; command: CommandSpec; args: string[]; options: Record<string, unknown> }
  | { kind: "print"; text: string };

const camel = (flag: string) => flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** Parse `argv` (without the program name) against `p`. @throws {UsageError} */
export function parseCommandLine(p: ProgramSpec, argv: string[]): Parsed {
  const [first, ...rest] = argv;
  if (first === undefined || first === "-h" || first === "--help" || first === "help") {
    return { kind: "print", text: programHelp(p) };
  }
  if (first === "-V" || first === "--version") return { kind: "print", text: p.version };
  const command = p.commands.find((c) => c.name === first);
  if (!command) {
    throw new UsageError(
      `unknown command '${first}'; commands: ${p.commands.map((c) => c.name).join(", ")}`,
    );
  }
  const specs = command.options ?? {};
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {
    help: { type: "boolean", short: "h" },
  };
  for (const [flag, o] of Object.entries(specs)) {
    options[flag] = { type: o.value ? "string" : "boolean" };
  }
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(`${command.name}: ${(e as Error).message.split(/\.( |\n)/)[0]}`);
  }
  if (parsed.values.help) return { kind: "print", text: commandHelp(p, command) };
  const want = command.args ?? [];
  if (parsed.positionals.length !== want.length) {
    throw new UsageError(
      `${command.name} takes ${want.map((a) => `<${a}>`).join(" ") || "no arguments"}, got ${
        parsed.positionals.length ? parsed.positionals.map((a) => `'${a}'`).join(" ") : "none"
      }`,
    );
  }
  const values: Record<string, unknown> = {};
  for (const [flag, o] of Object.entries(specs)) {
    const given = parsed.values[flag] as string | boolean | undefined;
    if (typeof given === "boolean" || (given === undefined && !o.value)) {
      values[camel(flag)] = given ?? false;
      continue;
    }
    const text = given ?? o.default;
    if (text === undefined) continue;
    try {
      values[camel(flag)] = o.parse ? o.parse(text) : text;
    } catch (e) {
      throw new UsageError(
        `option '--${flag} <${o.value}>' argument '${text}' is invalid: ${(e as Error).message}`,
      );
    }
  }
  return { kind: "run", command, args: parsed.positionals, options: values };
}

function table(rows: [string, string][]): string {
  const width = Math.max(...rows.map(([l]) => l.length));
  return rows.map(([l, r]) => `  ${l.padEnd(width)}  ${r}`).join("\n");
}

function usage(c: CommandSpec): string {
  return [c.name, ...(c.args ?? []).map((a) => `<${a}>`), "[options]"].join(" ");
}

/** `demarc --help`. */
export function programHelp(p: ProgramSpec): string {
  return `Usage: ${p.name} <command> [options]\n\n${p.help}\n\nOptions:\n${
    table([["-V, --version", "print the version"], ["-h, --help", "print this help"]])
  }\n\nCommands:\n${table(p.commands.map((c) => [usage(c), c.help]))}\n\n` +
    `'${p.name} <command> --help' prints a command's options.`;
}

/** `demarc <command> --help`. */
export function commandHelp(p: ProgramSpec, c: CommandSpec): string {
  const rows: [string, string][] = Object.entries(c.options ?? {}).map(([flag, o]) => [
    o.value ? `--${flag} <${o.value}>` : `--${flag}`,
    o.default === undefined ? o.help : `${o.help} (default: ${o.default})`,
  ]);
  rows.push(["-h, --help", "print this help"]);
  return `Usage: ${p.name} ${usage(c)}\n\n${c.help}\n\nOptions:\n${table(rows)}`;
}
