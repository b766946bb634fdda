import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BootstrapPolicy } from '../../src/bootstrap/config.js';
import { silentLogger, type Logger } from '../../src/log.js';
import { startDeployment, type Deployment } from '../../src/server/deployment.js';
import { httpsClient, type Client } from './http.js';

export const ADMIN_PASSWORD = 'admin-password-for-tests';

export interface TestDeployment {
  deployment: Deployment;
  dataDir: string;
  serverRoot: string;
  api: Client;
  /** Logs in and returns a bearer token. */
  login(username: string, password: string): Promise<string>;
  stop(): Promise<void>;
}

/** Starts a real deployment on free ports of `host`, in a fresh temporary data directory. */
export async function startTestDeployment(
  options: {
    host?: string;
    dataDir?: string;
    name?: string;
    databaseUrl?: string;
    manufacturerCas?: string[];
    bootstrapPolicy?: Partial<BootstrapPolicy>;
    logger?: Logger;
  } = {},
): Promise<TestDeployment> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'homeport-test-')));
  const deployment = await startDeployment({
    dataDir,
    host: options.host ?? '127.0.0.1',
    ports: { api: 0, bootstrap: 0, management: 0, content: 0 },
    adminPassword: ADMIN_PASSWORD,
    logger: options.logger ?? silentLogger(),
    ...(options.manufacturerCas && { manufacturerCas: options.manufacturerCas }),
    ...(options.bootstrapPolicy && { bootstrapPolicy: options.bootstrapPolicy }),
    ...(options.name !== undefined && { name: options.name }),
    ...(options.databaseUrl !== undefined && { databaseUrl: options.databaseUrl }),
  });
  const serverRoot = await readFile(join(dataDir, 'pki', 'server-root.pem'), 'utf8');
  const api = httpsClient(deployment.info.services.api.url, serverRoot);
  return {
    deployment,
    dataDir,
    serverRoot,
    api,
    login: async (username, password) => {
      const reply = await api('POST', '/public/auth/connect/token', {
        form: { username, password, grant_type: 'password', client_id: 'tests' },
      });
      if (reply.status !== 200) throw new Error(`login as ${username} failed: ${reply.text}`);
      return reply.body.access_token as string;
    },
    stop: async () => {
      await deployment.close();
      if (!options.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
