import { request as httpsRequest } from 'node:https';
import { ADMIN_PASSWORD, startTestDeployment, type TestDeployment } from '../helpers/deployment.js';
import type { Reply } from '../helpers/http.js';

export const PASSWORD = 'a-long-enough-password';

export interface World {
  d: TestDeployment;
  admin: string;
  companies: { a: number; a1: number; b: number };
  users: Record<'viewer' | 'manager' | 'nobody', { id: number; token: string }>;
}

/**
 * A deployment with companies A (parent of A1) and B, and three users: `viewer` may view
 * companies and users in A, `manager` may also create companies and users and edit users in A,
 * `nobody` belongs to no company.
 */
export async function makeWorld(options: { host?: string } = {}): Promise<World> {
  const d = await startTestDeployment(options);
  const admin = await d.login('admin', ADMIN_PASSWORD);
  const company = async (name: string, parent_id?: number) => {
    const r = await d.api('POST', '/api/companies', { token: admin, json: { name, parent_id } });
    if (r.status !== 201) throw new Error(r.text);
    return r.body.data.id as number;
  };
  const a = await company('Company A');
  const a1 = await company('Company A1', a);
  const b = await company('Company B');

  const user = async (name: string, permissions: string[] | undefined) => {
    const email = `${name}@example.com`;
    const r = await d.api('POST', '/api/users', {
      token: admin,
      json: {
        email,
        first_name: name,
        last_name: 'Tester',
        password: PASSWORD,
        ...(permissions && { companies: [{ company: { id: a }, permissions }] }),
      },
    });
    if (r.status !== 201) throw new Error(r.text);
    return { id: r.body.data.id as number, token: await d.login(email, PASSWORD) };
  };
  const users = {
    viewer: await user('viewer', ['ViewCompany', 'ViewUsers']),
    manager: await user('manager', [
      'ViewCompany',
      'CreateCompany',
      'ViewUsers',
      'CreateUser',
      'EditUser',
    ]),
    nobody: await user('nobody', undefined),
  };
  return { d, admin, companies: { a, a1, b }, users };
}

/**
 * Creates a user holding `permissions` in `companyId` (none: in no company) and logs them in.
 *
 * @example
 *   const editor = await addUser(w, 'editor', w.companies.a, ['ViewDevice', 'EditDevice']);
 */
export async function addUser(
  w: World,
  name: string,
  companyId: number | undefined,
  permissions: string[],
): Promise<{ id: number; token: string }> {
  const email = `${name}@example.com`;
  const r = await w.d.api('POST', '/api/users', {
    token: w.admin,
    json: {
      email,
      first_name: name,
      last_name: 'Tester',
      password: PASSWORD,
      ...(companyId !== undefined && { companies: [{ company: { id: companyId }, permissions }] }),
    },
  });
  if (r.status !== 201) throw new Error(r.text);
  return { id: r.body.data.id as number, token: await w.d.login(email, PASSWORD) };
}

/** A JSON request with extra headers (If-Match and the like), which the plain client lacks. */
export function requestWithHeaders(
  d: TestDeployment,
  method: string,
  path: string,
  options: { token: string; json?: unknown; headers?: Record<string, string> },
): Promise<Reply> {
  const headers: Record<string, string> = {
    authorization: `Bearer ${options.token}`,
    ...options.headers,
  };
  const payload = options.json === undefined ? undefined : JSON.stringify(options.json);
  if (payload !== undefined) headers['content-type'] = 'application/json';
  const url = new URL(path, d.deployment.info.services.api.url);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { method, headers, ca: d.serverRoot }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const body: unknown = text ? JSON.parse(text) : undefined;
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}
