import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HomeportError } from '../../errors.js';
import type { Membership, Repository, User } from '../../store/index.js';
import { hashPassword } from '../auth/passwords.js';
import { accessOf, permissionNotHeld, requireAnywhere } from '../auth/authenticate.js';
import type { ApiContext } from '../context.js';
import { envelopeSchema, failureSchema, ok, paged, pagedSchema } from '../envelope.js';
import { PERMISSIONS, isPermission, type AccessContext, type Permission } from '../permissions.js';
import { bearer, idParams, pagingQuery, userSchema } from './schemas.js';

interface MembershipInput {
  company: { id: number };
  permissions: string[];
}

interface CreateBody {
  email: string;
  first_name: string;
  last_name: string;
  password: string;
  is_sysadmin?: boolean;
  companies?: MembershipInput[];
}

const membershipInput = {
  type: 'object',
  additionalProperties: false,
  required: ['company', 'permissions'],
  properties: {
    company: {
      type: 'object',
      required: ['id'],
      properties: { id: { type: 'integer', minimum: 1 }, name: { type: 'string' } },
    },
    permissions: {
      type: 'array',
      uniqueItems: true,
      items: { type: 'string', description: `One of: ${PERMISSIONS.join(', ')}` },
    },
  },
} as const;

const errors = { 400: failureSchema, 401: failureSchema, 403: failureSchema, 404: failureSchema };

async function present(repo: Repository, user: User) {
  const memberships = await repo.getMemberships(user.id);
  return {
    id: user.id,
    email: user.email,
    first_name: user.firstName,
    last_name: user.lastName,
    is_sysadmin: user.isSysAdmin,
    companies: memberships.map((m) => ({
      company: { id: m.companyId, name: m.companyName },
      permissions: m.permissions,
    })),
    created_at: user.createdAt,
  };
}

/** `/api/users`: accounts and what each may do in each company. */
export function registerUserRoutes(app: FastifyInstance, { repo }: ApiContext): void {
  app.get<{ Querystring: { email?: string; search?: string; page: number; pageSize: number } }>(
    '/api/users',
    {
      schema: {
        tags: ['users'],
        summary: 'List users in companies where you hold ViewUsers',
        security: bearer,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            email: { type: 'string', maxLength: 254 },
            search: { type: 'string', maxLength: 200 },
            ...pagingQuery,
          },
        },
        response: { 200: pagedSchema(userSchema), ...errors },
      },
    },
    async (request) => {
      const visible = requireAnywhere(request, 'ViewUsers').companiesWith('ViewUsers');
      const { email, search, page, pageSize } = request.query;
      const { items, total } = await repo.listUsers({
        ...(email !== undefined && { email }),
        ...(search !== undefined && { search }),
        ...(visible !== 'all' && { companyIds: visible }),
        page,
        pageSize,
      });
      return paged(await Promise.all(items.map((u) => present(repo, u))), total);
    },
  );

  // A static path: Fastify's router prefers it to '/api/users/:id' whatever the order.
  app.get(
    '/api/users/me',
    {
      schema: {
        tags: ['users'],
        summary: 'Read your own user: companies, permissions and is_sysadmin (any user)',
        description: 'The same shape as GET /api/users/{id}; tools check permissions with it.',
        security: bearer,
        response: { 200: envelopeSchema(userSchema), 401: failureSchema, 404: failureSchema },
      },
    },
    async (request) => {
      const access = accessOf(request);
      const user = await repo.getUser(access.userId);
      if (!user) throw userNotFound(access.userId);
      return ok(await present(repo, user));
    },
  );

  app.get<{ Params: { id: number } }>(
    '/api/users/:id',
    {
      schema: {
        tags: ['users'],
        summary: 'Read one user (yourself, or ViewUsers in one of their companies)',
        security: bearer,
        params: idParams,
        response: { 200: envelopeSchema(userSchema), ...errors },
      },
    },
    async (request) => {
      const user = await repo.getUser(request.params.id);
      if (!user) throw userNotFound(request.params.id);
      const access = accessOf(request);
      const memberships = await repo.getMemberships(user.id);
      const allowed =
        access.userId === user.id ||
        access.isSysAdmin ||
        memberships.some((m) => access.has('ViewUsers', m.companyId));
      if (!allowed) throw permissionNotHeld('ViewUsers', `a company of user ${user.id}`);
      return ok(await present(repo, user));
    },
  );

  app.post<{ Body: CreateBody }>(
    '/api/users',
    {
      schema: {
        tags: ['users'],
        summary: 'Create a user (CreateUser in each company given; SysAdmin for none)',
        security: bearer,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['email', 'first_name', 'last_name', 'password'],
          properties: {
            email: { type: 'string', format: 'email', maxLength: 254 },
            first_name: { type: 'string', maxLength: 100 },
            last_name: { type: 'string', maxLength: 100 },
            password: { type: 'string', minLength: 10, maxLength: 1024 },
            is_sysadmin: { type: 'boolean' },
            companies: { type: 'array', items: membershipInput },
          },
        },
        response: { 201: envelopeSchema(userSchema), ...errors, 409: failureSchema },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const access = accessOf(request);
      const memberships = await checkMemberships(repo, body.companies ?? []);
      checkCreate(access, body, memberships);
      checkGrants(access, [], memberships, 'CreateUser');

      const passwordHash = await hashPassword(body.password);
      const user = await repo.transaction(async (tx) => {
        const created = await tx.createUser({
          email: body.email,
          firstName: body.first_name,
          lastName: body.last_name,
          passwordHash,
          isSysAdmin: body.is_sysadmin ?? false,
        });
        await tx.setMemberships(created.id, memberships);
        await tx.appendAudit({
          actor: access.email,
          action: 'user.create',
          subject: `user:${created.id}`,
          detail: { email: created.email, isSysAdmin: created.isSysAdmin, memberships },
        });
        return created;
      });
      return reply.status(201).send(ok(await present(repo, user)));
    },
  );

  app.put<{ Params: { id: number }; Body: { id?: number; companies: MembershipInput[] } }>(
    '/api/users/:id/companies',
    {
      preValidation: wrapBareList,
      schema: {
        tags: ['users'],
        summary: "Replace a user's full list of companies and permissions",
        description:
          'Send every company the user should belong to, with the permissions held there. ' +
          'Changing a company needs EditUser in it, and granting a permission needs holding it.',
        security: bearer,
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['companies'],
          properties: {
            id: { type: 'integer' },
            companies: { type: 'array', items: membershipInput },
          },
        },
        response: { 200: envelopeSchema(userSchema), ...errors },
      },
    },
    async (request) => {
      const user = await repo.getUser(request.params.id);
      if (!user) throw userNotFound(request.params.id);
      if (request.body.id !== undefined && request.body.id !== user.id) {
        throw new HomeportError(
          'VALIDATION',
          `Invalid request: body field 'id' (${request.body.id}) does not match the user in the path (${user.id}).`,
        );
      }
      const access = accessOf(request);
      const wanted = await checkMemberships(repo, request.body.companies);
      const current = await repo.getMemberships(user.id);
      checkGrants(access, current, wanted, 'EditUser');

      await repo.transaction(async (tx) => {
        await tx.setMemberships(user.id, wanted);
        await tx.appendAudit({
          actor: access.email,
          action: 'user.companies',
          subject: `user:${user.id}`,
          detail: { memberships: wanted },
        });
      });
      return ok(await present(repo, user));
    },
  );
}

// The notebooks send `{id, companies: [...]}`; a bare list is accepted too.
function wrapBareList(request: FastifyRequest, _reply: unknown, done: () => void) {
  if (Array.isArray(request.body)) request.body = { companies: request.body };
  done();
}

type Wanted = { companyId: number; permissions: Permission[] };

async function checkMemberships(repo: Repository, input: MembershipInput[]): Promise<Wanted[]> {
  const seen = new Set<number>();
  const out: Wanted[] = [];
  for (const [i, entry] of input.entries()) {
    const id = entry.company.id;
    if (seen.has(id)) {
      throw new HomeportError(
        'VALIDATION',
        `Invalid request: companies[${i}] repeats company ${id}.`,
      );
    }
    seen.add(id);
    const unknown = entry.permissions.filter((p) => !isPermission(p));
    if (unknown.length > 0) {
      throw new HomeportError(
        'UNKNOWN_PERMISSION',
        `Invalid request: companies[${i}].permissions has unknown name(s) ${unknown.join(', ')}; ` +
          `known: ${PERMISSIONS.join(', ')}.`,
      );
    }
    if (!(await repo.getCompany(id))) {
      throw new HomeportError(
        'COMPANY_NOT_FOUND',
        `Company ${id} (companies[${i}].company.id) does not exist.`,
      );
    }
    out.push({ companyId: id, permissions: entry.permissions.filter(isPermission) });
  }
  return out;
}

function checkCreate(access: AccessContext, body: CreateBody, memberships: Wanted[]): void {
  if (body.is_sysadmin && !access.isSysAdmin) {
    throw new HomeportError('FORBIDDEN', 'Cannot create a SysAdmin: only a SysAdmin may do that.');
  }
  if (memberships.length === 0 && !access.isSysAdmin) {
    throw permissionNotHeld(
      'CreateUser',
      'a company (name one in `companies`; only a SysAdmin creates users outside companies)',
    );
  }
}

/**
 * Nobody can grant a permission they do not hold: every company whose entry changes needs
 * `manage` (CreateUser or EditUser) there, and every permission added needs holding it there.
 */
function checkGrants(
  access: AccessContext,
  current: Membership[],
  wanted: Wanted[],
  manage: Permission,
): void {
  const before = new Map(current.map((m) => [m.companyId, new Set(m.permissions)]));
  const after = new Map(wanted.map((m) => [m.companyId, new Set<string>(m.permissions)]));

  for (const companyId of new Set([...before.keys(), ...after.keys()])) {
    const old = before.get(companyId) ?? new Set<string>();
    const next = after.get(companyId);
    const changed =
      !next ||
      !before.has(companyId) ||
      next.size !== old.size ||
      [...next].some((p) => !old.has(p));
    if (!changed) continue;
    if (!access.has(manage, companyId)) throw permissionNotHeld(manage, `company ${companyId}`);
    for (const p of next ?? []) {
      if (!old.has(p) && isPermission(p) && !access.has(p, companyId)) {
        throw permissionNotHeld(p, `company ${companyId}, so you cannot grant it`);
      }
    }
  }
}

function userNotFound(id: number): HomeportError {
  return new HomeportError('USER_NOT_FOUND', `User ${id} does not exist.`);
}
