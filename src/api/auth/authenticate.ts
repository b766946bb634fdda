import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HomeportError } from '../../errors.js';
import type { ApiContext } from '../context.js';
import { AccessContext, type Permission } from '../permissions.js';

declare module 'fastify' {
  interface FastifyRequest {
    access?: AccessContext;
  }
}

// Routes under /api that anyone may read: the deployment's public facts and its documentation.
const PUBLIC_PREFIXES = ['/api/info', '/api/docs', '/api/openapi.json'];

function isPublic(url: string): boolean {
  const path = url.split('?')[0] ?? '';
  return (
    !path.startsWith('/api/') || PUBLIC_PREFIXES.some((p) => path === p || path.startsWith(`${p}/`))
  );
}

/** Requires `Authorization: Bearer <token>` on every `/api` route that is not public. */
export function registerAuthentication(app: FastifyInstance, ctx: ApiContext): void {
  app.addHook('onRequest', async (request) => {
    if (isPublic(request.url)) return;

    const header = request.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match?.[1]) {
      throw new HomeportError(
        'UNAUTHENTICATED',
        'This route needs a bearer token: get one from POST /public/auth/connect/token and send ' +
          "it as 'Authorization: Bearer <token>'.",
      );
    }
    const claims = await ctx.tokens.verify(match[1]);
    const access = claims && (await AccessContext.load(ctx.repo, claims.userId));
    if (!access) {
      throw new HomeportError(
        'UNAUTHENTICATED',
        'The bearer token is invalid or expired (tokens last 2 hours); log in again.',
      );
    }
    request.access = access;
  });
}

/** The caller's access, which the authentication hook has set on every protected route. */
export function accessOf(request: FastifyRequest): AccessContext {
  if (!request.access)
    throw new HomeportError('UNAUTHENTICATED', 'This route needs a bearer token.');
  return request.access;
}

/** Throws 403 unless the caller holds `permission` in `companyId`. */
export function requirePermission(
  request: FastifyRequest,
  permission: Permission,
  companyId: number,
): AccessContext {
  const access = accessOf(request);
  if (!access.has(permission, companyId))
    throw permissionNotHeld(permission, `company ${companyId}`);
  return access;
}

/** Throws 403 unless the caller holds `permission` in at least one company. */
export function requireAnywhere(request: FastifyRequest, permission: Permission): AccessContext {
  const access = accessOf(request);
  if (!access.hasAnywhere(permission)) throw permissionNotHeld(permission, 'any company');
  return access;
}

export function requireSysAdmin(request: FastifyRequest, what: string): AccessContext {
  const access = accessOf(request);
  if (!access.isSysAdmin) {
    throw new HomeportError('FORBIDDEN', `Cannot ${what}: only a SysAdmin may do that.`);
  }
  return access;
}

export function permissionNotHeld(permission: Permission, where: string): HomeportError {
  return new HomeportError(
    'PERMISSION_NOT_HELD',
    `This needs the ${permission} permission in ${where}, which your user does not hold.`,
  );
}
