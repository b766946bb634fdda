import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { ApiClient, fetchDeploymentInfo, isApiError } from './api-client.js';
import { configPath, defaultProfileName, readProfiles, type ServerProfile } from './profiles.js';

/** How long `servers` waits for each deployment's /api/info. */
const INFO_TIMEOUT_MS = 5_000;

interface ServersFlags {
  json?: boolean;
}

/** One line of `homeport servers`; also its `--json` shape. */
interface ServerRow {
  name: string;
  default: boolean;
  url: string;
  username: string;
  reachable: boolean;
  deployment: string | null;
  services: { api: string; bootstrap: string; management: string; content: string } | null;
  server_root_fingerprint: string | null;
  token_expires_at: string | null;
  error: string | null;
}

const help = readFileSync(new URL('../../src/cli/help/servers.txt', import.meta.url), 'utf8');

export function registerServersCommand(program: Command): void {
  program
    .command('servers')
    .description("List the server profiles and where each deployment's services are.")
    .option('--json', 'print a JSON array')
    .addHelpText('after', help)
    .action((flags: ServersFlags) => runServers(flags));
}

async function runServers(flags: ServersFlags): Promise<void> {
  const file = configPath();
  const profiles = await readProfiles(file);
  const defaultName = defaultProfileName(profiles);
  const names = Object.keys(profiles.servers).sort();
  const rows = await Promise.all(
    names.map((name) => describeServer({ name, ...profiles.servers[name] }, name === defaultName)),
  );

  if (flags.json) {
    console.log(JSON.stringify(rows, null, 2));
    return;
  }
  if (rows.length === 0) {
    console.error(
      `No server profiles in ${file}; add one with: homeport login NAME --url https://HOST:8443 ` +
        '--username USER --password-stdin',
    );
    return;
  }
  console.log(formatTable(rows));
}

/** Asks the deployment for its /api/info; a failure becomes the row's error, never a throw. */
async function describeServer(profile: ServerProfile, isDefault: boolean): Promise<ServerRow> {
  const row: ServerRow = {
    name: profile.name,
    default: isDefault,
    url: profile.url,
    username: profile.username,
    reachable: false,
    deployment: null,
    services: null,
    server_root_fingerprint: null,
    token_expires_at: profile.tokenExpiresAt ?? null,
    error: null,
  };
  const api = new ApiClient({
    name: profile.name,
    baseUrl: profile.url,
    ca: profile.ca,
    timeoutMs: INFO_TIMEOUT_MS,
  });

  try {
    const info = await fetchDeploymentInfo(api);
    const { api: gateway, bootstrap, management, content } = info.services;
    row.reachable = true;
    row.deployment = info.name;
    row.services = {
      api: gateway.url,
      bootstrap: bootstrap.url,
      management: management.url,
      content: content.url,
    };
    row.server_root_fingerprint = info.server_root_fingerprint;
  } catch (err) {
    row.error = isApiError(err) ? err.reason : (err as Error).message;
  } finally {
    api.close();
  }
  return row;
}

const HEADER = ['', 'NAME', 'DEPLOYMENT', 'API', 'BOOTSTRAP', 'MANAGEMENT', 'CONTENT'];

function formatTable(rows: ServerRow[]): string {
  const cells = rows.map((row) => {
    const start = [row.default ? '*' : '', row.name, row.deployment ?? '-', row.url];
    if (!row.services) return [...start, `unreachable: ${row.error}`];
    const { bootstrap, management, content } = row.services;
    return [...start, bootstrap, management, content];
  });

  // An unreachable row's reason runs on past the columns instead of widening them.
  const widths = HEADER.map((title, i) => {
    const sized = cells.filter((c) => c.length === HEADER.length || i < c.length - 1);
    return Math.max(title.length, ...sized.map((c) => c[i]?.length ?? 0));
  });
  const line = (values: string[]) =>
    values
      .map((value, i) => (i === values.length - 1 ? value : value.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const hasDefault = rows.some((row) => row.default);
  return [
    line(HEADER),
    ...cells.map(line),
    ...(hasDefault ? ['', '* the default server, used when --server is not given'] : []),
  ].join('\n');
}
