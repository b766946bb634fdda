import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { HomeportError } from '../errors.js';
import { ApiClient, fetchDeploymentInfo } from './api-client.js';
import { configPath, PROFILE_NAME, saveLogin } from './profiles.js';

interface LoginFlags {
  url: string;
  username: string;
  password?: string;
  passwordStdin?: boolean;
  ca?: string;
  json?: boolean;
}

const help = readFileSync(new URL('../../src/cli/help/login.txt', import.meta.url), 'utf8');

export function registerLoginCommand(program: Command): void {
  program
    .command('login')
    .description('Log in to a deployment and keep it as a server profile.')
    .argument(
      '<name>',
      'profile name: 1 to 64 letters, digits, dots, dashes or underscores',
      parseProfileName,
    )
    .requiredOption('--url <url>', 'the API gateway, https://HOST:PORT', parseApiUrl)
    .requiredOption('--username <user>', 'user name')
    .addOption(
      new Option(
        '--password <password>',
        'password (other local users can see it in ps)',
      ).conflicts('passwordStdin'),
    )
    .option('--password-stdin', 'read the password from the first line of standard input')
    .option('--ca <file>', "PEM file of the CA to trust (the deployment's pki/server-root.pem)")
    .option('--json', 'print the result as one JSON object')
    .addHelpText('after', help)
    .action((name: string, flags: LoginFlags) => runLogin(name, flags));
}

/**
 * Log in: read the password and CA, check the server is a Homeport deployment (before sending
 * it a password), get a token, save the profile as the default.
 */
async function runLogin(name: string, flags: LoginFlags): Promise<void> {
  const password = await readPassword(flags);
  const ca = flags.ca === undefined ? undefined : await readCa(flags.ca);
  const api = new ApiClient({ name, baseUrl: flags.url, ca });

  try {
    const info = await fetchDeploymentInfo(api);
    const token = await api.requestToken(flags.username, password);
    const file = configPath();
    await saveLogin(
      {
        name,
        url: flags.url,
        username: flags.username,
        ...(ca !== undefined && { ca }),
        token: token.accessToken,
        tokenExpiresAt: token.expiresAt.toISOString(),
        password,
      },
      file,
    );
    report(name, info.name, flags, token.expiresAt, file);
  } finally {
    api.close();
  }
}

function report(
  name: string,
  deployment: string,
  flags: LoginFlags,
  expiresAt: Date,
  file: string,
) {
  if (flags.json) {
    const result = {
      server: name,
      deployment,
      url: flags.url,
      username: flags.username,
      token_expires_at: expiresAt.toISOString(),
      config: file,
    };
    console.log(JSON.stringify(result));
    return;
  }
  console.log(
    `Logged in to ${name} (${deployment}) as ${flags.username}; token valid until ` +
      `${expiresAt.toISOString()}.`,
  );
  console.log(`Saved in ${file}; ${name} is now the default server.`);
}

/** Parses the profile name argument. */
export function parseProfileName(value: string): string {
  if (PROFILE_NAME.test(value)) return value;
  throw new InvalidArgumentError(
    `'${value}' cannot name a profile; use 1 to 64 letters, digits, dots, dashes or underscores.`,
  );
}

/** Parses `--url`: an https:// origin, since the token and password travel over it. */
export function parseApiUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError(`'${value}' is not a URL; give https://HOST:8443.`);
  }
  if (url.protocol !== 'https:') {
    throw new InvalidArgumentError(
      `'${value}' is not an https:// URL; the API is served over HTTPS only (https://HOST:8443).`,
    );
  }
  if (url.pathname !== '/' || url.search || url.hash || url.username || url.password) {
    throw new InvalidArgumentError(
      `'${value}' has a path, query or credentials in it; give only https://HOST:PORT.`,
    );
  }
  return url.origin;
}

async function readPassword(flags: LoginFlags): Promise<string> {
  if (flags.password !== undefined) return flags.password;
  if (!flags.passwordStdin) {
    throw new HomeportError(
      'VALIDATION',
      'Cannot log in without a password: pass --password-stdin and pipe it in, or --password.',
    );
  }

  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const password = Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
  if (password === '') {
    throw new HomeportError(
      'VALIDATION',
      'Cannot log in: --password-stdin read an empty password; pipe the password in.',
    );
  }
  return password;
}

/** Reads `--ca` and keeps its PEM text, so the profile keeps working if the file moves. */
async function readCa(file: string): Promise<string> {
  const text = await readFile(file, 'utf8').catch((err: Error) => {
    throw new HomeportError('PEM_INVALID', `Cannot read the CA file ${file}: ${err.message}.`);
  });
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
  try {
    if (blocks.length === 0) throw new Error('it holds no -----BEGIN CERTIFICATE----- block');
    for (const block of blocks) new X509Certificate(block);
  } catch (err) {
    throw new HomeportError(
      'PEM_INVALID',
      `The CA file ${file} is not a PEM certificate (${(err as Error).message}); pass the ` +
        "deployment's pki/server-root.pem.",
    );
  }
  return `${blocks.join('\n')}\n`;
}
