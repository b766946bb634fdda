import { readFileSync } from 'node:fs';
import { InvalidArgumentError } from 'commander';
import { isIP } from 'node:net';

/** Parses a TCP port flag: a whole number from 0 (any free port) to 65535. */
export function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) {
    throw new InvalidArgumentError(`'${value}' is not a port; give a number from 0 to 65535.`);
  }
  return port;
}

const HOSTNAME =
  /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/** Parses a host flag: an IP address or a DNS name that devices can reach. */
export function parseHost(value: string): string {
  if (value === '0.0.0.0' || value === '::') {
    throw new InvalidArgumentError(
      `'${value}' listens everywhere but cannot go into certificates or be given to devices; ` +
        'pass the address or name that devices will use.',
    );
  }
  if (isIP(value) || HOSTNAME.test(value)) return value;
  throw new InvalidArgumentError(`'${value}' is neither an IP address nor a host name.`);
}

/** Parses `--database`: a PostgreSQL URL (SQLite in the data directory is the default). */
export function parseDatabaseUrl(value: string): string {
  if (/^postgres(ql)?:\/\//.test(value)) return value;
  throw new InvalidArgumentError(
    `'${value}' is not a PostgreSQL URL; use postgres://USER@HOST:PORT/DB, or leave --database out for SQLite.`,
  );
}

/** Reads a PEM file named by a flag, with an error that names the file. */
export function readPemFile(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new InvalidArgumentError(`cannot read '${file}': ${(err as Error).message}`);
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----')) {
    throw new InvalidArgumentError(`'${file}' holds no PEM certificate.`);
  }
  return text;
}

/** A parser for a flag that takes a positive number (fractions allowed). */
export function parsePositive(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n <= 0) {
      throw new InvalidArgumentError(`${flag} takes a number above 0, not '${value}'.`);
    }
    return n;
  };
}
