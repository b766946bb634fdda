import { ADMIN_PASSWORD, startTestDeployment, type TestDeployment } from '../helpers/deployment.js';

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
export async function makeWorld(): Promise<World> {
  const d = await startTestDeployment();
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
