import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { createLogger } from '../log.js';
import type { MoveState } from '../move/index.js';
import { parseHost } from './options.js';

interface DemoFlags {
  data: string;
  devices: number;
  move: number;
  hosts: [string, string];
  json?: boolean;
}

const help = readFileSync(new URL('../../src/cli/help/demo.txt', import.meta.url), 'utf8');

function count(max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > max) {
      throw new Error(`'${value}' is not a whole number from 1 to ${max}.`);
    }
    return n;
  };
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('Two deployments, a simulated fleet, and a move between them.')
    .option('--data <dir>', 'demo data directory (made fresh)', './homeport-demo')
    .option('--devices <n>', 'devices in the factory', count(5000), 50)
    .option('--move <n>', 'devices to move to the second deployment', count(5000), 10)
    .option('--hosts <a,b>', 'the two deployments’ addresses', parseHosts, [
      '127.0.0.1',
      '127.0.0.2',
    ])
    .option('--json', 'one JSON line per step on stdout instead of text')
    .addHelpText('after', help)
    .action((flags: DemoFlags) => runDemoCommand(flags));
}

function parseHosts(value: string): [string, string] {
  const [a, b, ...rest] = value.split(',');
  if (!a || !b || rest.length > 0) throw new Error(`'${value}' is not two addresses, a,b.`);
  return [parseHost(a), parseHost(b)];
}

async function runDemoCommand(flags: DemoFlags): Promise<void> {
  if (flags.move > flags.devices) throw new Error('--move cannot be more than --devices.');
  const { runDemo, DEMO_PASSWORD } = await import('../demo/demo.js');
  const say = flags.json
    ? (line: string) => console.log(JSON.stringify({ event: 'step', message: line.trim() }))
    : (line: string) => console.error(line);
  const bar = flags.json
    ? undefined
    : new cliProgress.SingleBar(
        {
          format: '  move [{bar}] {value}/{total} arrived | {moving} moving | {failed} failed',
          // Without a terminal the bar is printed as a line every second.
          noTTYOutput: true,
          notTTYSchedule: 1000,
          hideCursor: true,
        },
        cliProgress.Presets.shades_classic,
      );
  const states = new Map<string, MoveState>();
  const onMoveState = (device: string, state: MoveState) => {
    if (bar && !bar.isActive) bar.start(flags.move, 0, { moving: 0, failed: 0 });
    if (!bar && state !== 'arrived' && state !== 'failed') return;
    states.set(device, state);
    const all = [...states.values()];
    const arrived = all.filter((s) => s === 'arrived').length;
    const failed = all.filter((s) => s === 'failed').length;
    if (bar) bar.update(arrived, { moving: all.length - arrived - failed, failed });
    else say(`${device}: ${state}`);
  };

  const demo = await runDemo({
    dataDir: flags.data,
    devices: flags.devices,
    moved: flags.move,
    hosts: flags.hosts,
    logger: createLogger({ level: process.env.HOMEPORT_LOG_LEVEL ?? 'warn', destination: 2 }),
    say: (line) => {
      if (bar?.isActive) return;
      say(line);
    },
    onMoveState,
  }).finally(() => bar?.stop());

  const { report, servers, configFile } = demo;
  const second = servers[1].deployment;
  const online = await second.repo.listDevices({ isOnline: true, page: 1, pageSize: 1000 });
  const lines = [
    `Moved ${report.arrived} of ${flags.move} devices in ${report.seconds.toFixed(1)} s; ` +
      `${online.total} devices are online on server2:`,
    ...online.items.map((d) => `  ${d.mac}  ${d.alias}`),
    '',
    'The demo keeps running until Ctrl-C:',
    ...servers.map(
      ({ name, deployment }) =>
        `  ${name}: ${deployment.info.services.api.url}/api/docs  (admin / ${DEMO_PASSWORD})`,
    ),
    `  CLI profiles: HOMEPORT_CONFIG=${configFile} homeport servers`,
  ];
  if (flags.json) {
    console.log(
      JSON.stringify({ event: 'ready', moved: report.devices, online_on_server2: online.total }),
    );
  } else {
    console.error(lines.join('\n'));
  }

  const stop = () => {
    void demo.stop().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
