import type { FastifyInstance, FastifyReply } from 'fastify';
import { ERROR_CODES, type ErrorCode } from '../../errors.js';
import type { ApiContext } from '../context.js';
import { decoyHash, verifyPassword } from './passwords.js';

interface TokenBody {
  grant_type: string;
  username: string;
  password: string;
  client_id?: string;
}

const bodySchema = {
  type: 'object',
  required: ['grant_type', 'username', 'password'],
  properties: {
    grant_type: { type: 'string', description: 'Must be `password` (RFC 6749 §4.3).' },
    username: { type: 'string', minLength: 1, maxLength: 254 },
    password: { type: 'string', minLength: 1, maxLength: 1024 },
    client_id: { type: 'string', maxLength: 100 },
    scope: { type: 'string', maxLength: 1000 },
  },
} as const;

const tokenSchema = {
  type: 'object',
  required: ['access_token', 'expires_in', 'token_type'],
  properties: {
    access_token: { type: 'string' },
    expires_in: { type: 'integer' },
    token_type: { type: 'string', const: 'Bearer' },
  },
} as const;

const oauthErrorSchema = {
  type: 'object',
  properties: {
    error: { type: 'string' },
    error_description: { type: 'string' },
    success: { type: 'boolean' },
    code: { type: 'string' },
    message: { type: 'string' },
  },
} as const;

// RFC 6749 §5.2: token errors carry `error` and `error_description`; the Homeport envelope
// fields ride along so scripts can treat every failure the same way.
const OAUTH_ERRORS = {
  invalid_grant: 'INVALID_GRANT',
  unsupported_grant_type: 'UNSUPPORTED_GRANT_TYPE',
  slow_down: 'TOO_MANY_ATTEMPTS',
} as const satisfies Record<string, ErrorCode>;

function oauthError(reply: FastifyReply, error: keyof typeof OAUTH_ERRORS, description: string) {
  const code = OAUTH_ERRORS[error];
  return reply.status(ERROR_CODES[code]).header('cache-control', 'no-store').send({
    error,
    error_description: description,
    success: false,
    code,
    message: description,
  });
}

/** `POST /public/auth/connect/token`: the OAuth2 resource-owner password grant. */
export function registerTokenRoute(app: FastifyInstance, ctx: ApiContext): void {
  app.post<{ Body: TokenBody }>(
    '/public/auth/connect/token',
    {
      schema: {
        tags: ['auth'],
        summary: 'Get a bearer token (OAuth2 password grant, form-encoded)',
        consumes: ['application/x-www-form-urlencoded'],
        body: bodySchema,
        response: { 200: tokenSchema, 400: oauthErrorSchema, 429: oauthErrorSchema },
      },
    },
    async (request, reply) => {
      const { grant_type, username, password } = request.body;
      if (grant_type !== 'password') {
        return oauthError(
          reply,
          'unsupported_grant_type',
          `grant_type '${grant_type}' is not supported here; use grant_type=password.`,
        );
      }

      const wait = ctx.throttle.retryAfter(username, request.ip);
      if (wait > 0) {
        void reply.header('retry-after', String(wait));
        return oauthError(
          reply,
          'slow_down',
          `Too many failed logins for '${username}' from this address; try again in ${wait} s.`,
        );
      }

      const credentials = await ctx.repo.getCredentials(username);
      const valid = await verifyPassword(
        password,
        credentials?.passwordHash ?? (await decoyHash()),
      );
      if (!credentials || !valid) {
        ctx.throttle.fail(username, request.ip);
        request.log.info({ username }, 'login refused: wrong username or password');
        return oauthError(reply, 'invalid_grant', 'The username or password is wrong.');
      }

      ctx.throttle.succeed(username, request.ip);
      const clientId = request.body.client_id ?? '';
      const { token, expiresIn } = await ctx.tokens.issue({ userId: credentials.userId, clientId });
      return reply
        .header('cache-control', 'no-store')
        .send({ access_token: token, expires_in: expiresIn, token_type: 'Bearer' });
    },
  );
}
