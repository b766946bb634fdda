import formbody from '@fastify/formbody';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { Logger } from '../log.js';
import { registerAuthentication } from './auth/authenticate.js';
import { registerTokenRoute } from './auth/token-route.js';
import type { ApiContext } from './context.js';
import { errorHandler } from './envelope.js';
import { registerCommandRoutes } from './routes/commands.js';
import { registerCompanyRoutes } from './routes/companies.js';
import { registerDeviceManagementServerRoutes } from './routes/device-management-server.js';
import { registerDeviceRoutes } from './routes/devices.js';
import { registerIdentityRoutes } from './routes/identity.js';
import { registerInfoRoute } from './routes/info.js';
import { registerManagementServerRoutes } from './routes/management-servers.js';
import { registerTrustStoreRoutes } from './routes/trust-stores.js';
import { registerUserRoutes } from './routes/users.js';
import { validatorCompiler } from './validation.js';

export interface ApiAppOptions {
  logger: Logger;
  /** TLS key and certificate chain (PEM); omit for plain HTTP in unit tests. */
  tls?: { key: string; cert: string };
}

/**
 * Builds the API gateway: the OAuth2 token endpoint, the `/api` routes, and the OpenAPI
 * document (`/api/openapi.json`) with Swagger UI (`/api/docs`). It does not listen.
 *
 * @example
 *   const app = await buildApiApp(ctx, { logger, tls: { key, cert } });
 *   await app.listen({ host: '127.0.0.1', port: 8443 });
 */
export async function buildApiApp(
  ctx: ApiContext,
  options: ApiAppOptions,
): Promise<FastifyInstance> {
  const serverOptions: FastifyServerOptions = {
    loggerInstance: options.logger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
    trustProxy: false,
    ...(options.tls && { https: { ...options.tls, noDelay: true } }),
  };
  const app = Fastify(serverOptions) as unknown as FastifyInstance;

  app.setValidatorCompiler(validatorCompiler);
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({
      success: false,
      code: 'ROUTE_NOT_FOUND',
      message: `There is no route ${request.method} ${request.url.split('?')[0]}; /api/docs lists them.`,
    }),
  );
  app.addHook('onResponse', async (request, reply) => {
    request.log.debug({ req: request, res: reply, ms: reply.elapsedTime }, 'request done');
  });

  await app.register(formbody);
  await registerDocs(app);
  registerAuthentication(app, ctx);
  registerTokenRoute(app, ctx);
  registerInfoRoute(app, ctx);
  registerCompanyRoutes(app, ctx);
  registerUserRoutes(app, ctx);
  registerIdentityRoutes(app, ctx);
  registerDeviceRoutes(app, ctx);
  registerCommandRoutes(app, ctx);
  registerTrustStoreRoutes(app, ctx);
  registerManagementServerRoutes(app, ctx);
  registerDeviceManagementServerRoutes(app, ctx);
  return app;
}

async function registerDocs(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Homeport API',
        version: '1',
        description:
          'Device management: companies, users, devices, bootstrap and moves between deployments. ' +
          'Get a token from POST /public/auth/connect/token and send it as a bearer token.',
      },
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/api/docs' });
  app.get('/api/openapi.json', { schema: { hide: true } }, () => app.swagger());
}
