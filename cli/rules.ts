#!/usr/bin/env node
// The `rules` command line: yargs wiring only. Each command lives in cli/commands/ and returns an
// exit code: 0 ok, 1 rule or device errors, 2 usage or environment errors.
import { compilerVersion } from '../contract/manifest.js';
import { colorWanted, DEFAULT_MAX_ERRORS, output } from './output.js';
import { escapeUnprintable } from './format.js';
import type { SetExit } from './commands/shared.js';
import { createRequire } from 'node:module';
import type { Argv, CommandModule } from 'yargs';

export const EXIT_OK = 0;
export const EXIT_RULE_ERRORS = 1;
export const EXIT_USAGE = 2;

/**
 * yargs from its CommonJS build, one file: its ES module build is some forty modules, and loading them
 * was the largest part of a command's start-up (bench/flash.ts).
 */
function loadYargs(): (args: string[]) => Argv {
  return createRequire(import.meta.url)('yargs/yargs');
}

type CommandFactory = (setExit: SetExit) => CommandModule<any, any>;

/**
 * Every command, in the order `rules --help` lists them, and how to load the file that wires it. A new
 * command adds one line here. A run loads only the command it names (see commandsToLoad): most of
 * `rules flash`'s start-up was loading every other command's libraries.
 */
const COMMANDS: [name: string, load: () => Promise<CommandFactory>][] = [
  ['build', async () => (await import('./commands/build.js')).buildCommand],
  ['check', async () => (await import('./commands/check.js')).checkCommand],
  ['test', async () => (await import('./commands/test.js')).testCommand],
  ['run', async () => (await import('./commands/run.js')).runCommand],
  ['inspect', async () => (await import('./commands/inspect.js')).inspectCommand],
  ['targets', async () => (await import('./commands/targets.js')).targetsCommand],
  ['verify', async () => (await import('./commands/verify.js')).verifyCommand],
  ['keygen', async () => (await import('./commands/keygen.js')).keygenCommand],
  ['bundle', async () => (await import('./commands/bundle.js')).bundleCommand],
  ['flash', async () => (await import('./commands/flash.js')).flashCommand],
  ['device', async () => (await import('./commands/device.js')).deviceCommand],
  ['ports', async () => (await import('./commands/ports.js')).portsCommand],
  ['board', async () => (await import('./commands/board.js')).boardCommand],
  ['agent', async () => (await import('./commands/agent.js')).agentCommand],
  ['push', async () => (await import('./commands/push.js')).pushCommand],
  ['status', async () => (await import('./commands/status.js')).statusCommand],
  ['demo', async () => (await import('./commands/demo.js')).demoCommand],
];

/**
 * The commands this run needs: only the one named when nothing before it could change how yargs reads
 * the arguments (just --color and --max-errors N), otherwise all of them (--help, completion, no
 * command, an unknown one), so that help, errors and strict parsing stay exactly what they are with
 * every command registered. `rules --version` alone needs none.
 */
function commandsToLoad(argv: string[], names: string[]): string[] {
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-v')) return [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--color' || arg === '--no-color') {
      if (argv[i + 1] === 'true' || argv[i + 1] === 'false') i++;
      continue;
    }
    if (arg === '--max-errors') { i++; continue; }
    if (/^--(no-)?color=|^--max-errors=/.test(arg)) continue;
    return names.includes(arg) && !argv.includes('--get-yargs-completions') ? [arg] : names;
  }
  return names;
}
/**
 * Whether the arguments may ask for help (--help, -h in a cluster, a last word `help`), erring towards yes.
 * yargs lays out a command's help on every run, after starting its handler, in case the handler shows
 * it; unwrapped, that costs a fraction. Help is only ever shown when asked for (failures print one line).
 */
function mayAskForHelp(argv: string[]): boolean {
  return argv.some((arg) => arg === 'help' || arg.startsWith('--help') || /^-[^-]*h/.test(arg));
}

class UsageFailure extends Error {}

/** An option given twice (`-t stm32 -t rpi`) arrives as an array: refused unless the option is a list. */
function repeatedOption(argv: Record<string, unknown>, lists: Set<string>, booleans: Set<string>): string | null {
  for (const [key, value] of Object.entries(argv)) {
    if (key === '_' || key === '$0' || key.length === 1 || /[A-Z]/.test(key) || !Array.isArray(value)) continue;
    if (lists.has(key) || booleans.has(key)) continue;
    return `--${key} was given ${value.length} times (${value.map((v) => escapeUnprintable(String(v))).join(', ')}); give it once`;
  }
  return null;
}

async function main(argv: string[]): Promise<number> {
  let exitCode = EXIT_OK;
  const setExit = (code: number) => { exitCode = code; };
  const wanted = commandsToLoad(argv, COMMANDS.map(([name]) => name));
  // The command's files are read while yargs loads.
  const loading = Promise.all(COMMANDS.filter(([name]) => wanted.includes(name)).map(([, load]) => load()));
  const yargs = loadYargs();
  const factories = await loading;
  let parser = yargs(argv)
    .scriptName('rules')
    .usage('$0 <command> [options]\n\nCompile IoT rules to WebAssembly, check them against a device target, and run them on wasm3.');
  for (const command of factories) parser = parser.command(command(setExit));
  parser = parser
    .completion('completion', 'print a shell completion script (bash, zsh): rules completion >> ~/.bashrc')
    .option('color', { type: 'boolean', describe: 'colour the output (default: on a terminal, unless NO_COLOR is set)' })
    .option('max-errors', { type: 'number', default: DEFAULT_MAX_ERRORS, describe: 'diagnostics shown per file before "and N more" (0: all)' })
    .middleware((args) => {
      const options = (parser as unknown as { getOptions(): { array: string[]; boolean: string[] } }).getOptions();
      const lists = new Set<string>(options.array);
      const booleans = new Set<string>(options.boolean);
      const repeated = repeatedOption(args, lists, booleans);
      if (repeated) throw new UsageFailure(repeated);
      const max = args['max-errors'] as number;
      if (!Number.isInteger(max) || max < 0) throw new UsageFailure('--max-errors must be a whole number, 0 or more');
      output.maxErrors = max;
      output.color = colorWanted(args.color as boolean | undefined);
    }, true)
    .demandCommand(1, `name a command: ${COMMANDS.map(([name]) => name).join(', ')}`)
    .strict()
    .help()
    .alias('h', 'help')
    .version(compilerVersion())
    .alias('v', 'version')
    .wrap(mayAskForHelp(argv) ? Math.min(100, process.stdout.columns ?? 100) : null)
    .exitProcess(false)
    .fail((message, error) => {
      // A message means yargs refused the options (or a check said why); an error alone is a bug.
      if (!message && error && error.name !== 'YError' && !(error instanceof UsageFailure)) throw error;
      // Throwing stops yargs from running the command with half-validated options.
      throw error instanceof UsageFailure ? error : new UsageFailure(message ?? error?.message ?? 'invalid usage');
    });
  try {
    await parser.parseAsync();
  } catch (e) {
    if (!(e instanceof UsageFailure)) throw e;
    // Bad options are the user's to fix: a message and exit code 2, never a stack trace.
    process.stderr.write(`rules: ${escapeUnprintable(e.message)} (see rules --help)\n`);
    return EXIT_USAGE;
  }
  return exitCode;
}

// `rules targets | head` closes the pipe early: that is not an error worth a stack trace.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

// The arguments after `node rules.js` (yargs' hideBin, without loading yargs before the command's files).
main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (error: unknown) => {
    // A bug in rules itself: one line, and the stack only when asked for (RULES_DEBUG=1).
    const detail = process.env.RULES_DEBUG ? `\n${(error as Error)?.stack ?? String(error)}` : '';
    process.stderr.write(`rules: internal error: ${(error as Error)?.message ?? String(error)}${detail}\n` +
      'Please report this, with the command you ran (RULES_DEBUG=1 shows the details).\n');
    process.exitCode = EXIT_USAGE;
  },
);
