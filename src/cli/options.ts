// Option parsing shared by every raftbench command front-end (sim, the benchmarks): commander
// with a real --help, value parsers that name the option and the accepted range, and one
// convention for exit codes — 0 after --help, 2 for a usage error, 1 for a failure at run time.

import { Command, CommanderError, InvalidArgumentError } from 'commander';

export { Command, InvalidArgumentError };

/** A commander value parser for an integer in [min, max]; the error names the option. */
export function integerOption(name: string, min: number, max: number): (value: string) => number {
  return (value: string) => {
    const parsed = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
      throw new InvalidArgumentError(`${name} must be an integer in [${min}, ${max}], got '${value}'`);
    }
    return parsed;
  };
}

/** A parser for a comma-separated list of integers in [min, max], e.g. `--threads 1,2,4`. */
export function integerListOption(name: string, min: number, max: number): (value: string) => number[] {
  const one = integerOption(name, min, max);
  return (value: string) => value.split(',').map((part) => one(part.trim()));
}

export type ParsedOptions<T> = { readonly ok: true; readonly options: T } | { readonly ok: false; readonly exitCode: number };

/**
 * Parses `argv` (the user's arguments only) with `program`. On --help commander prints the help
 * and this returns exit code 0; on a usage error commander prints the reason and this returns 2.
 */
export function parseOptions<T>(program: Command, argv: readonly string[]): ParsedOptions<T> {
  program.exitOverride().configureOutput({
    writeOut: (text) => process.stdout.write(text),
    writeErr: (text) => process.stderr.write(text),
  });
  try {
    program.parse([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      const helpShown = error.code === 'commander.helpDisplayed' || error.code === 'commander.help';
      return { ok: false, exitCode: helpShown ? 0 : 2 };
    }
    throw error;
  }
  return { ok: true, options: program.opts() as T };
}

/** Runs a command's main and sets the exit code: its own, or 1 with the stack on an unexpected error. */
export function runMain(name: string, main: () => Promise<number>): void {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(`${name}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      process.exitCode = 1;
    },
  );
}
