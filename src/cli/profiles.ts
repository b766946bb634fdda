import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { HomeportError } from '../errors.js';
import { ensurePrivateDirectory, PRIVATE_KEY_MODE, writeFileAtomic } from '../pki/files.js';
import { ApiClient, isApiError } from './api-client.js';

/**
 * The server profiles of `homeport login`: one entry per deployment the operator works with,
 * kept in one JSON file readable by its owner only (mode 0600, like a netrc), because it holds
 * the token and the password that renews it.
 *
 * @example
 *   const profile = await resolveProfile(flags.server); // --server, else the default
 *   const api = await clientFor(profile);               // logs in again if the token expired
 *   const { data } = await api.get('/api/companies');
 */
export interface ServerProfile {
  name: string;
  /** The API gateway, `https://host:port`. */
  url: string;
  username: string;
  /** The pinned CA (PEM); absent = Node's default CAs. */
  ca?: string;
  token?: string;
  /** ISO 8601. */
  tokenExpiresAt?: string;
  password?: string;
}

type StoredProfile = Omit<ServerProfile, 'name'>;

export interface ProfileFile {
  version: 1;
  /** The profile logged in to last: the default when there are several. */
  last?: string;
  servers: Record<string, StoredProfile>;
}

/** Profile names: safe in a file, a shell and a table. */
export const PROFILE_NAME = /^[A-Za-z0-9._-]{1,64}$/;

/** A token this close to its expiry is renewed before use rather than risked. */
export const TOKEN_RENEW_MARGIN_MS = 60_000;

const LOGIN_HINT = 'homeport login NAME --url https://HOST:8443 --username USER --password-stdin';

/** `$HOMEPORT_CONFIG`, else `$XDG_CONFIG_HOME/homeport/config.json` (`~/.config` by default). */
export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HOMEPORT_CONFIG) return env.HOMEPORT_CONFIG;
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'homeport', 'config.json');
}

/** Reads the profile file; a missing file is an empty one. */
export async function readProfiles(file = configPath()): Promise<ProfileFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      return { version: 1, servers: noPrototype() };
    }
    throw new HomeportError('PROFILES_INVALID', `Cannot read ${file}: ${(err as Error).message}.`, {
      cause: err,
    });
  }

  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw invalidFile(file, `it is not JSON (${(err as Error).message})`);
  }
  return checkProfileFile(parsed, file);
}

let writing: Promise<unknown> = Promise.resolve();

/**
 * Reads the file afresh, applies `change` and writes it back atomically with mode 0600.
 * Updates made by this process run one at a time, so parallel token renewals keep each other.
 *
 * @example
 *   await updateProfiles(file, (p) => void (p.last = 'server2'));
 */
export function updateProfiles(
  file: string,
  change: (profiles: ProfileFile) => void,
): Promise<ProfileFile> {
  const next = writing.then(async () => {
    const profiles = await readProfiles(file);
    change(profiles);
    // The default directory is ours alone; a directory named in $HOMEPORT_CONFIG is left as it
    // is, except that a missing one is created with mode 0700.
    if (file === configPath({ ...process.env, HOMEPORT_CONFIG: '' })) {
      await ensurePrivateDirectory(dirname(file));
    }
    await writeFileAtomic(file, `${JSON.stringify(profiles, null, 2)}\n`, PRIVATE_KEY_MODE);
    return profiles;
  });
  writing = next.catch(() => undefined);
  return next;
}

/** Saves a profile after a login and makes it the default (`last`). */
export async function saveLogin(profile: ServerProfile, file = configPath()): Promise<void> {
  const { name, ...stored } = profile;
  await updateProfiles(file, (profiles) => {
    profiles.servers[name] = stored;
    profiles.last = name;
  });
}

/** The profile used when none is named: the only one, else the one logged in to last. */
export function defaultProfileName(profiles: ProfileFile): string | undefined {
  const names = Object.keys(profiles.servers);
  if (names.length === 1) return names[0];
  const { last } = profiles;
  return last !== undefined && Object.hasOwn(profiles.servers, last) ? last : undefined;
}

/**
 * The profile named `name`, or the default one when `name` is undefined.
 *
 * @example
 *   await resolveProfile('server2'); // throws PROFILE_NOT_FOUND listing the known names
 */
export async function resolveProfile(name?: string, file = configPath()): Promise<ServerProfile> {
  const profiles = await readProfiles(file);
  const names = Object.keys(profiles.servers);
  if (names.length === 0) {
    throw new HomeportError(
      'PROFILE_NOT_FOUND',
      `There are no server profiles in ${file} yet; log in first: ${LOGIN_HINT}.`,
    );
  }

  const chosen = name ?? defaultProfileName(profiles);
  if (chosen === undefined) {
    throw new HomeportError(
      'PROFILE_NOT_FOUND',
      `There are several server profiles (${names.join(', ')}) and none is the default; ` +
        'choose one with --server NAME.',
    );
  }
  const stored = profiles.servers[chosen];
  if (!stored) {
    throw new HomeportError(
      'PROFILE_NOT_FOUND',
      `There is no server profile '${chosen}'; known profiles: ${names.join(', ')}. ` +
        `Add it with: homeport login ${chosen} --url https://HOST:8443 --username USER --password-stdin.`,
    );
  }
  return { name: chosen, ...stored };
}

/**
 * An API client for the profile, with a valid token: one that expires within a minute is
 * renewed first, and a 401 from the server renews it once more. New tokens are saved.
 *
 * @example
 *   const api = await clientFor(await resolveProfile('server1'));
 *   try { await api.get('/api/companies'); } finally { api.close(); }
 */
export async function clientFor(
  profile: ServerProfile,
  options: { file?: string; timeoutMs?: number } = {},
): Promise<ApiClient> {
  const file = options.file ?? configPath();
  const client: ApiClient = new ApiClient({
    name: profile.name,
    baseUrl: profile.url,
    ca: profile.ca,
    timeoutMs: options.timeoutMs,
    renewToken: () => logInAgain(client, profile, file),
  });
  const fresh = tokenIsFresh(profile);
  client.setToken(fresh ? fresh : await logInAgain(client, profile, file));
  return client;
}

function tokenIsFresh(profile: ServerProfile, now = Date.now()): string | undefined {
  const expiresAt = Date.parse(profile.tokenExpiresAt ?? '');
  if (!profile.token || Number.isNaN(expiresAt)) return undefined;
  return expiresAt - TOKEN_RENEW_MARGIN_MS > now ? profile.token : undefined;
}

async function logInAgain(client: ApiClient, profile: ServerProfile, file: string) {
  const again = `homeport login ${profile.name} --url ${profile.url} --username ${profile.username} --password-stdin`;
  if (profile.password === undefined) {
    throw new HomeportError(
      'LOGIN_REQUIRED',
      `The token for ${profile.name} has expired and no password is stored; log in again: ${again}.`,
    );
  }

  const issued = await client.requestToken(profile.username, profile.password).catch((err) => {
    if (!isApiError(err, 'INVALID_GRANT')) throw err;
    throw new HomeportError(
      'LOGIN_REQUIRED',
      `Cannot log in to ${profile.name} again as ${profile.username}: ${err.reason} ` +
        `If the password changed, log in again: ${again}.`,
      { cause: err },
    );
  });

  await updateProfiles(file, (profiles) => {
    const stored = profiles.servers[profile.name];
    // Save only into the same profile; it may have been replaced by another login meanwhile.
    if (!stored || stored.url !== profile.url || stored.username !== profile.username) return;
    stored.token = issued.accessToken;
    stored.tokenExpiresAt = issued.expiresAt.toISOString();
  });
  return issued.accessToken;
}

function checkProfileFile(parsed: unknown, file: string): ProfileFile {
  if (!isRecord(parsed)) throw invalidFile(file, 'it is not a JSON object');
  if (parsed.version !== 1) {
    throw invalidFile(file, `its version is ${JSON.stringify(parsed.version)}, expected 1`);
  }
  if (parsed.last !== undefined && typeof parsed.last !== 'string') {
    throw invalidFile(file, "'last' must be a profile name");
  }
  if (!isRecord(parsed.servers)) throw invalidFile(file, "'servers' must be an object");

  const servers = noPrototype();
  for (const [name, entry] of Object.entries(parsed.servers)) {
    servers[name] = checkProfile(name, entry, file);
  }
  return { version: 1, ...(parsed.last !== undefined && { last: parsed.last }), servers };
}

function checkProfile(name: string, entry: unknown, file: string): StoredProfile {
  const where = `servers.${name}`;
  if (!PROFILE_NAME.test(name)) throw invalidFile(file, `'${name}' is not a valid profile name`);
  if (!isRecord(entry)) throw invalidFile(file, `${where} must be an object`);
  for (const field of ['url', 'username'] as const) {
    if (typeof entry[field] !== 'string' || entry[field] === '') {
      throw invalidFile(file, `${where}.${field} must be a non-empty string`);
    }
  }
  for (const field of ['ca', 'token', 'tokenExpiresAt', 'password'] as const) {
    if (entry[field] !== undefined && typeof entry[field] !== 'string') {
      throw invalidFile(file, `${where}.${field} must be a string`);
    }
  }
  return entry as unknown as StoredProfile;
}

function invalidFile(file: string, why: string): HomeportError {
  return new HomeportError(
    'PROFILES_INVALID',
    `Cannot use the server profiles in ${file}: ${why}. Fix the file, or move it away and log ` +
      "in again with 'homeport login'.",
  );
}

/** Profile names such as `constructor` or `__proto__` must stay plain keys. */
function noPrototype(): Record<string, StoredProfile> {
  return Object.create(null) as Record<string, StoredProfile>;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
