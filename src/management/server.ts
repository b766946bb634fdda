import { createServer, type Server, type TLSSocket } from 'node:tls';
import { Aedes, type AuthenticateError, type Client } from 'aedes';
import type { Logger } from '../log.js';

export interface ManagementServerOptions {
  host: string;
  port: number;
  /** The MS's TLS key and whole certificate chain (leaf, issuing CA, root), PEM. */
  key: string;
  cert: string;
  /** The trust store: device CA certificates (PEM) whose client certificates are accepted. */
  trustedCas: string;
  logger: Logger;
}

export interface ManagementServer {
  readonly port: number;
  readonly broker: Aedes;
  close(): Promise<void>;
}

/** The topic prefix a device may use; everything outside it is refused. */
export function deviceTopicPrefix(endpoint: string): string {
  return `homeport/devices/${endpoint}/`;
}

function peerCommonName(socket: TLSSocket): string | undefined {
  const cert = socket.getPeerX509Certificate();
  return cert?.subject
    .split('\n')
    .find((rdn) => rdn.startsWith('CN='))
    ?.slice(3);
}

function authError(message: string): AuthenticateError {
  // MQTT 3.1.1 §3.2.2.3: return code 5, "not authorized".
  return Object.assign(new Error(message), { returnCode: 5 });
}

/**
 * The Management Server: an MQTT 3.1.1 broker (aedes) behind TLS that requires a client
 * certificate chaining to the trust store. The MQTT client id must equal the certificate's CN,
 * and a device may publish and subscribe only under its own topic prefix.
 *
 * @example
 *   const ms = await startManagementServer({ host, port: 8883, key, cert, trustedCas, logger });
 *   await ms.close();
 */
export async function startManagementServer(
  options: ManagementServerOptions,
): Promise<ManagementServer> {
  const log = options.logger;
  const endpoints = new WeakMap<object, string>();

  const broker = await Aedes.createBroker({
    authenticate: (client, _username, _password, done) => {
      const endpoint = endpoints.get(client.conn);
      if (!endpoint || endpoint !== client.id) {
        log.info(
          { clientId: client.id, cn: endpoint },
          'MQTT connect refused: client id is not the certificate CN',
        );
        done(authError(`client id must equal the certificate CN`), false);
        return;
      }
      done(null, true);
    },
    authorizePublish: (client, packet, callback) => {
      if (client && !packet.topic.startsWith(deviceTopicPrefix(client.id))) {
        callback(new Error(`topic ${packet.topic} is outside ${deviceTopicPrefix(client.id)}`));
        return;
      }
      callback(null);
    },
    authorizeSubscribe: (client, subscription, callback) => {
      if (!subscription.topic.startsWith(deviceTopicPrefix(client.id))) {
        callback(new Error(`subscription ${subscription.topic} is outside the device prefix`));
        return;
      }
      callback(null, subscription);
    },
  });
  broker.on('clientError', (client: Client, err: Error) =>
    log.debug({ clientId: client.id, err: err.message }, 'MQTT client error'),
  );

  const server: Server = createServer({
    key: options.key,
    cert: options.cert,
    ca: options.trustedCas,
    requestCert: true,
    // Refusals are decided below, so that each one is logged with its reason: with
    // rejectUnauthorized the handshake would fail silently.
    rejectUnauthorized: false,
    noDelay: true,
  });
  const sockets = new Set<TLSSocket>();
  server.on('secureConnection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    if (!socket.authorized) {
      log.info(
        { remote: socket.remoteAddress, reason: String(socket.authorizationError) },
        'MQTT connection refused: client certificate not trusted',
      );
      socket.destroy();
      return;
    }
    const cn = peerCommonName(socket);
    if (cn) endpoints.set(socket, cn);
    broker.handle(socket);
  });
  server.on('tlsClientError', (err, socket) =>
    log.debug({ remote: socket.remoteAddress, err: err.message }, 'TLS handshake failed'),
  );

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;

  return {
    port,
    broker,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      sockets.forEach((socket) => socket.destroy());
      await closed;
    },
  };
}
