#!/usr/bin/env node
// The `rules` command line: yargs wiring only. Each command lives in cli/commands/ and returns an
// exit code: 0 ok, 1 rule or device errors, 2 usage or environment errors.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { boardCommand } from './commands/board.js';
import { buildCommand } from './commands/build.js';
import { checkCommand } from './commands/check.js';
import { inspectCommand } from './commands/inspect.js';
import { targetsCommand } from './commands/targets.js';
import { testCommand } from './commands/test.js';
import { runCommand } from './commands/run.js';
import { keygenCommand } from './commands/keygen.js';
import { bundleCommand } from './commands/bundle.js';
import { flashCommand } from './commands/flash.js';
import { deviceCommand } from './commands/device.js';
import { portsCommand } from './commands/ports.js';
import { agentCommand } from './commands/agent.js';
import { pushCommand } from './commands/push.js';
import { statusCommand } from './commands/status.js';
import { demoCommand } from './commands/demo.js';
import { compilerVersion } from '../compiler/index.js';

export const EXIT_OK = 0;
export const EXIT_RULE_ERRORS = 1;
export const EXIT_USAGE = 2;

class UsageFailure extends Error {}

async function main(argv: string[]): Promise<number> {
  let exitCode = EXIT_OK;
  const setExit = (code: number) => { exitCode = code; };
  const parser = yargs(argv)
    .scriptName('rules')
    .usage('$0 <command> [options]\n\nCompile IoT rules to WebAssembly, check them against a device target, and run them on wasm3.')
    .version(compilerVersion())
    .command(buildCommand(setExit))
    .command(checkCommand(setExit))
    .command(testCommand(setExit))
    .command(runCommand(setExit))
    .command(inspectCommand(setExit))
    .command(targetsCommand(setExit))
    .command(keygenCommand(setExit))
    .command(bundleCommand(setExit))
    .command(flashCommand(setExit))
    .command(deviceCommand(setExit))
    .command(portsCommand(setExit))
    .command(boardCommand(setExit))
    .command(agentCommand(setExit))
    .command(pushCommand(setExit))
    .command(statusCommand(setExit))
    .command(demoCommand(setExit))
    .demandCommand(1, 'name a command (rules --help lists them)')
    .strict()
    .help()
    .wrap(Math.min(100, process.stdout.columns ?? 100))
    .exitProcess(false)
    .fail((message, error) => {
      if (error && error.name !== 'YError') throw error;
      // Throwing stops yargs from running the command with half-validated options.
      throw new UsageFailure(message ?? error?.message ?? 'invalid usage');
    });
  try {
    await parser.parseAsync();
  } catch (e) {
    if (!(e instanceof UsageFailure)) throw e;
    // Bad options are the user's to fix: a message and exit code 2, never a stack trace.
    process.stderr.write(`rules: ${e.message}\nRun \`rules --help\` for usage.\n`);
    return EXIT_USAGE;
  }
  return exitCode;
}

// `rules targets | head` closes the pipe early: that is not an error worth a stack trace.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

main(hideBin(process.argv)).then(
  (code) => { process.exitCode = code; },
  (error: unknown) => {
    process.stderr.write(`rules: internal error: ${(error as Error)?.stack ?? String(error)}\nPlease report this.\n`);
    process.exitCode = EXIT_USAGE;
  },
);
