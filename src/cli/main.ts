import { Command, CommanderError } from 'commander';
import { HomeportError } from '../errors.js';
import { registerDemoCommand } from './demo.js';
import { registerDeviceCommand } from './device.js';
import { registerDevicesCommand } from './devices.js';
import { registerFactoryCommand } from './factory.js';
import { registerLoginCommand } from './login.js';
import { registerMoveCommand } from './move.js';
import { registerServerCommand } from './server.js';
import { registerServersCommand } from './servers.js';
import { registerSimulateCommand } from './simulate.js';

/**
 * The `homeport` command: a thin dispatcher, one file per subcommand.
 *
 * @example
 *   await main(['node', 'homeport', 'server', '--host', '127.0.0.2']);
 */
export async function main(argv: string[]): Promise<void> {
  const program = new Command('homeport')
    .description('Homeport: self-hosted device management for routers and gateways.')
    .showHelpAfterError('(run with --help for usage and examples)')
    .exitOverride();
  registerServerCommand(program);
  registerDemoCommand(program);
  registerLoginCommand(program);
  registerServersCommand(program);
  registerDevicesCommand(program);
  registerMoveCommand(program);
  registerFactoryCommand(program);
  registerDeviceCommand(program);
  registerSimulateCommand(program);

  try {
    await program.parseAsync(argv);
  } catch (err) {
    process.exitCode = reportError(err);
  }
}

/** Prints what went wrong and what to do, never a stack trace; returns the exit status. */
export function reportError(err: unknown): number {
  if (err instanceof CommanderError) {
    return err.exitCode;
  }
  if (err instanceof HomeportError) {
    console.error(`homeport: ${err.message}`);
    return 1;
  }
  const message = err instanceof Error ? err.message : String(err);
  console.error(`homeport: ${message}`);
  return 1;
}
