import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ApiClient,
  ApiError,
  fetchDeploymentInfo,
  isPreconditionFailed,
} from '../../src/cli/api-client.js';
import { ADMIN_PASSWORD, startTestDeployment, type TestDeployment } from '../helpers/deployment.js';

let d: TestDeployment;
let url: string;

beforeAll(async () => {
  d = await startTestDeployment({ host: '127.0.0.214', name: 'Client Target' });
  url = d.deployment.info.services.api.url;
});
afterAll(async () => {
  await d.stop();
});

async function loggedIn(): Promise<ApiClient> {
  const api = new ApiClient({ name: 'target', baseUrl: url, ca: d.serverRoot });
  api.setToken((await api.requestToken('admin', ADMIN_PASSWORD)).accessToken);
  return api;
}

async function failure(promise: Promise<unknown>): Promise<ApiError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApiError);
  return err as ApiError;
}

describe('ApiClient', () => {
  it("refuses a wrong password with the server's code, status and message", async () => {
    const api = new ApiClient({ name: 'target', baseUrl: url, ca: d.serverRoot });
    const err = await failure(api.requestToken('admin', 'wrong'));
    expect(err).toMatchObject({ code: 'INVALID_GRANT', status: 400, server: 'target' });
    expect(err.reason).toBe('The username or password is wrong.');
    api.close();
  });

  it('unwraps the envelope and turns success:false into an ApiError naming the server', async () => {
    const api = await loggedIn();
    const info = await fetchDeploymentInfo(api);
    expect(info.name).toBe('Client Target');
    expect(info.server_root_fingerprint).toBe(d.deployment.info.serverRootFingerprint);

    const err = await failure(api.get('/api/management/devices/00:00:00:00:00:99'));
    expect(err).toMatchObject({ code: 'DEVICE_NOT_FOUND', status: 404, server: 'target' });
    expect(err.message).toMatch(/^target: GET \/api\/management\/devices\/00:00:00:00:00:99: /);
    api.close();
  });

  it('makes a stale conditional PUT come back as {updated: false}, a 412', async () => {
    const api = await loggedIn();
    const read = await api.getWithEtag<{ certs: string }>('/api/manufacturers');
    const certs = Buffer.from(d.serverRoot).toString('base64');

    const first = await api.putIfMatch('/api/manufacturers', read.etag, { certs });
    expect(first.updated).toBe(true);
    const stale = await api.putIfMatch('/api/manufacturers', read.etag, { certs: read.data.certs });
    expect(stale.updated).toBe(false);
    if (!stale.updated) {
      expect(isPreconditionFailed(stale.error)).toBe(true);
      expect(stale.error.code).toBe('PRECONDITION_FAILED');
    }
    const again = await api.getWithEtag('/api/manufacturers');
    expect(again.etag).not.toBe(read.etag);
    api.close();
  });

  it('renews a refused token once for all the requests that met it, then retries them', async () => {
    let renewals = 0;
    const fresh = (await loggedIn()).requestToken('admin', ADMIN_PASSWORD);
    const api = new ApiClient({
      name: 'target',
      baseUrl: url,
      ca: d.serverRoot,
      token: 'revoked',
      renewToken: async () => {
        renewals++;
        return (await fresh).accessToken;
      },
    });
    const replies = await Promise.all([1, 2, 3].map(() => api.get('/api/companies')));
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(renewals).toBe(1);
    api.close();
  });

  it('gives up on a server that never answers after the timeout', async () => {
    const sockets: Socket[] = [];
    const silent = createServer((socket) => sockets.push(socket));
    silent.listen(0, '127.0.0.214');
    await once(silent, 'listening');
    const { port } = silent.address() as AddressInfo;

    const api = new ApiClient({
      name: 'silent',
      baseUrl: `https://127.0.0.214:${port}`,
      timeoutMs: 300,
    });
    const err = await failure(api.get('/api/info'));
    expect(err).toMatchObject({ code: 'SERVER_UNREACHABLE', status: 0, server: 'silent' });
    expect(err.reason).toContain('no answer within 300 ms');
    api.close();
    sockets.forEach((s) => s.destroy());
    silent.close();
  });
});
