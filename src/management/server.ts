import { randomBytes, type X509Certificate } from 'node:crypto';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { Aedes, type AuthenticateError, type Client } from 'aedes';
import { serialKey, subjectAttribute } from '../bootstrap/authenticate.js';
import type { Logger } from '../log.js';
import type { Repository } from '../store/index.js';
import { CommandDispatcher } from './commands.js';
import { Presence } from './presence.js';
import { devicePrefix, parseTopic, topics } from './topics.js';
import { chainsTo, parseCertificates } from './trust.js';

export interface ManagementServerOptions {
  host: string;
  port: number;
  /** The MS's TLS key and whole certificate chain (leaf, issuing CA, root), PEM. */
  key: string;
  cert: string;
  /** The trust store: CA certificates (PEM) whose client certificates are accepted. */
  trustedCas: readonly string[];
  repo: Repository;
  logger: Logger;
}

export interface ManagementServer {
  readonly port: number;
  /** Swaps the trust store for new handshakes and drops connections it no longer trusts. */
  applyTrust(pems: readonly string[]): void;
  /** Delivers the device's open commands if it is connected. */
  commandsQueued(mac: string): void;
  isConnected(mac: string): boolean;
  /** Drops every connection whose certificate names this device. */
  disconnect(mac: string): void;
  close(): Promise<void>;
}

// What the TLS layer established about a connection, for the MQTT layer to check.
interface Peer {
  cn: string;
  certificate: X509Certificate;
}

function authError(message: string): AuthenticateError {
  // MQTT 3.1.1 §3.2.2.3: return code 5, "not authorized".
  return Object.assign(new Error(message), { returnCode: 5 });
}

function tlsRefusal(code: string): string {
  if (code === 'CERT_HAS_EXPIRED') return 'expired certificate';
  if (code.startsWith('UNABLE_TO_') || code === 'SELF_SIGNED_CERT_IN_CHAIN') return 'unknown CA';
  return code;
}

/**
 * The Management Server (docs/protocol.md §4): an MQTT 3.1.1 broker (aedes) behind TLS that
 * requires a client certificate chaining to the trust store. The client id must equal the
 * certificate CN and a device registered here whose certificate is not revoked; a device may
 * publish and subscribe only under its own topic prefix.
 *
 * @example
 *   const ms = await startManagementServer({ host, port: 8883, key, cert, trustedCas, repo, logger });
 *   ms.applyTrust(newCas);
 */
export async function startManagementServer(
  options: ManagementServerOptions,
): Promise<ManagementServer> {
  const { repo, logger: log } = options;
  const peers = new WeakMap<object, Peer>();
  const sockets = new Set<TLSSocket>();

  const refuse = (
    client: Client,
    reason: string,
    done: (e: AuthenticateError, ok: false) => void,
  ) => {
    log.info({ clientId: client.id, reason }, 'MQTT connection refused');
    done(authError(reason), false);
  };

  const broker = await Aedes.createBroker({
    authenticate: (client, _username, _password, done) => {
      const peer = peers.get(client.conn);
      if (!peer || peer.cn !== client.id) {
        refuse(client, `CN mismatch: the certificate is for '${peer?.cn ?? '?'}'`, done);
        return;
      }
      checkDevice(repo, peer).then(
        (reason) => (reason ? refuse(client, reason, done) : done(null, true)),
        (err: unknown) => {
          log.error({ err, clientId: client.id }, 'could not check a device');
          done(authError('internal error'), false);
        },
      );
    },
    authorizePublish: (client, packet, callback) => {
      const allowed = !client || packet.topic.startsWith(devicePrefix(client.id));
      callback(allowed ? null : new Error(`topic ${packet.topic} is outside the device's prefix`));
    },
    authorizeSubscribe: (client, subscription, callback) => {
      if (subscription.topic.startsWith(devicePrefix(client.id))) {
        callback(null, subscription);
        return;
      }
      // MQTT 3.1.1 §3.9.3: refuse this one subscription with return code 0x80 (aedes sends it
      // for a null subscription) rather than dropping the whole connection.
      log.debug({ clientId: client.id, topic: subscription.topic }, 'subscription refused');
      callback(null, null);
    },
  });

  const publish = (mac: string, id: string, payload: object) =>
    new Promise<void>((resolve, reject) => {
      broker.publish(
        {
          cmd: 'publish',
          topic: topics.request(mac, id),
          payload: JSON.stringify(payload),
          qos: 1,
          retain: false,
          dup: false,
        },
        (err) => (err ? reject(err) : resolve()),
      );
    });
  const dispatcher = new CommandDispatcher(repo, publish, log);
  const presence = new Presence(repo, log);
  await repo.setAllDevicesOffline(new Date().toISOString());

  broker.on('client', (client) => presence.connected(client.id, client));
  broker.on('clientDisconnect', (client) => presence.disconnected(client.id, client));
  broker.on('clientError', (client, err) =>
    log.debug({ clientId: client.id, err: err.message }, 'MQTT client error'),
  );
  broker.on('publish', (packet, client) => {
    if (!client) return;
    const topic = parseTopic(packet.topic);
    if (!topic || topic.mac !== client.id) return;
    handleDevicePublish(topic, packet.payload.toString(), client.id).catch((err: unknown) =>
      log.warn({ err, mac: client.id, topic: packet.topic }, 'could not handle a device message'),
    );
  });

  async function handleDevicePublish(
    topic: { kind: string; id?: string },
    text: string,
    mac: string,
  ) {
    log.trace({ mac, kind: topic.kind }, 'device message');
    if (topic.kind === 'register') {
      const body = JSON.parse(text) as { bootstrap_server?: unknown };
      const uri = typeof body.bootstrap_server === 'string' ? body.bootstrap_server : null;
      await presence.registered(mac, uri);
      await dispatcher.deliver(mac);
    } else if (topic.kind === 'rsp' && topic.id) {
      const body = JSON.parse(text) as { code?: unknown };
      await dispatcher.onResponse(
        mac,
        topic.id,
        typeof body.code === 'string' ? body.code : '5.00',
      );
    } else if (topic.kind === 'update' || topic.kind === 'notify') {
      await presence.heard(mac);
    }
  }

  let context = { key: options.key, cert: options.cert, ca: [...options.trustedCas] };
  const server: Server = createServer({
    ...context,
    requestCert: true,
    // Refusals are decided below, so that each one is logged with its reason: with
    // rejectUnauthorized the handshake would fail silently.
    rejectUnauthorized: false,
    noDelay: true,
  });
  server.on('secureConnection', (socket) => {
    const certificate = socket.getPeerX509Certificate();
    if (!socket.authorized || !certificate) {
      const reason = certificate
        ? tlsRefusal(String(socket.authorizationError))
        : 'no client certificate';
      log.info({ remote: socket.remoteAddress, reason }, 'MQTT connection refused');
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    peers.set(socket, { cn: subjectAttribute(certificate, 'CN') ?? '', certificate });
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
    applyTrust: (pems) => {
      context = { ...context, ca: [...pems] };
      server.setSecureContext(context);
      // Tickets issued under the old store would resume sessions it trusted: new keys void them.
      server.setTicketKeys(randomBytes(48));
      const anchors = parseCertificates(pems);
      for (const socket of sockets) {
        const peer = peers.get(socket);
        if (peer && !chainsTo(peer.certificate, anchors)) {
          log.info(
            { clientId: peer.cn },
            'disconnecting a device the new trust store does not trust',
          );
          socket.destroy();
        }
      }
    },
    commandsQueued: (mac) => {
      if (presence.isConnected(mac)) void dispatcher.deliver(mac);
    },
    isConnected: (mac) => presence.isConnected(mac),
    disconnect: (mac) => {
      for (const socket of sockets) {
        if (peers.get(socket)?.cn !== mac) continue;
        log.info({ clientId: mac }, 'disconnecting a device that was revoked or deleted');
        socket.destroy();
      }
    },
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      sockets.forEach((socket) => socket.destroy());
      await closed;
      await presence.flush();
    },
  };
}

/** Why a verified certificate may still not connect, or undefined if it may. */
async function checkDevice(repo: Repository, peer: Peer): Promise<string | undefined> {
  const device = await repo.getDevice(peer.cn);
  if (!device) return `unregistered: no device ${peer.cn} is registered here`;
  const issued = await repo.getCertificate(serialKey(peer.certificate.serialNumber));
  if (issued?.revokedAt)
    return `revoked: certificate ${issued.serial} was revoked at ${issued.revokedAt}`;
  return undefined;
}
