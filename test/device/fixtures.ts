import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  createServer as createNetServer,
  type AddressInfo,
  type Server as NetServer,
} from 'node:net';
import { join } from 'node:path';
import {
  createServer as createTlsServer,
  type Server as TlsServer,
  type TLSSocket,
} from 'node:tls';
import { Aedes, type AedesPublishPacket } from 'aedes';
import mqtt, { type MqttClient } from 'mqtt';
import { runFactory } from '../../src/device/factory.js';
import {
  createIssuingCa,
  createRootCa,
  encodeCertsOnly,
  fromBase64Body,
  issueServerCertificate,
  signCsr,
  toBase64Lines,
  toPemBundle,
  type Issuer,
  type ServerCredential,
} from '../../src/pki/index.js';

/** The PKIs of a test deployment: server root and issuing CA, device root and issuing CA. */
export interface TestPki {
  serverRoot: Issuer;
  serverIssuing: Issuer;
  serverRootPem: string;
  deviceRoot: Issuer;
  deviceIssuing: Issuer;
  deviceChainPem: string;
}

export async function makeTestPki(): Promise<TestPki> {
  const serverRoot = await createRootCa({ commonName: 'Test Server Root', validityDays: 30 });
  const serverIssuing = await createIssuingCa(serverRoot, {
    commonName: 'Test Server CA',
    validityDays: 30,
  });
  const deviceRoot = await createRootCa({ commonName: 'Test Device Root', validityDays: 30 });
  const deviceIssuing = await createIssuingCa(deviceRoot, {
    commonName: 'Test Device CA',
    validityDays: 30,
  });
  return {
    serverRoot,
    serverIssuing,
    serverRootPem: toPemBundle([serverRoot.cert]),
    deviceRoot,
    deviceIssuing,
    deviceChainPem: toPemBundle([deviceIssuing.cert, deviceRoot.cert]),
  };
}

export function serverCredential(pki: TestPki, hosts: string[]): Promise<ServerCredential> {
  return issueServerCertificate(pki.serverIssuing, {
    commonName: 'Test Server',
    hosts,
    validityDays: 30,
  });
}

/** A factory output with `count` devices; returns its folder and the manufacturer CA PEM. */
export async function makeFactory(dir: string, count: number, macPrefix = '02:48:50') {
  const outDir = join(dir, 'factory');
  await runFactory({ outDir, count, macPrefix });
  return { outDir, manufacturerCaPem: await readFile(join(outDir, 'manufacturer-ca.pem'), 'utf8') };
}

/** What the test BS saw of one request. */
export interface SeenRequest {
  method: string;
  path: string;
  ep?: string;
  /** 'factory' when the client certificate was issued by the manufacturer CA. */
  credential: 'factory' | 'operational' | 'none' | 'untrusted';
  cn?: string;
  contentType?: string;
  body: string;
}

export interface TestBootstrapServerOptions {
  host: string;
  pki: TestPki;
  manufacturerCaPem: string;
  credential: ServerCredential;
  /** The Management Server the devices are sent to, and its trust anchor (default: server root). */
  msUrl: () => string;
  msCaPem?: () => string;
  /** Decides per Bootstrap-Request: undefined answers normally. */
  intercept?: (
    request: SeenRequest,
  ) => { status: number; headers?: Record<string, string>; body: unknown } | undefined;
  /** Extra operations sent before Bootstrap-Finish. */
  extraOperations?: unknown[];
  serverLifetime?: Record<string, unknown>;
}

export interface TestBootstrapServer {
  url: string;
  seen: SeenRequest[];
  close(): Promise<void>;
}

/**
 * A small Bootstrap Server written from docs/protocol.md §3 for the device tests: it asks for a
 * client certificate, trusts the manufacturer CA (factory certificates) and the device CA
 * (operational certificates), answers `/bs` with the operations for the MS, and EST
 * simpleenroll/simplereenroll with a certificate signed by the device issuing CA.
 */
export async function startTestBootstrapServer(
  options: TestBootstrapServerOptions,
): Promise<TestBootstrapServer> {
  const seen: SeenRequest[] = [];
  const server: HttpsServer = createHttpsServer(
    {
      key: options.credential.keyPem,
      cert: options.credential.chainPem,
      ca: [options.manufacturerCaPem, options.pki.deviceChainPem],
      requestCert: true,
      rejectUnauthorized: false,
    },
    (req, res) => void handle(options, seen, req, res),
  );
  server.listen(0, options.host);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://${options.host}:${port}`,
    seen,
    close: () => closeServer(server),
  };
}

async function handle(
  options: TestBootstrapServerOptions,
  seen: SeenRequest[],
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const url = new URL(req.url ?? '/', 'https://bs');
  const socket = req.socket as TLSSocket;
  const peer = socket.getPeerX509Certificate();
  const cn = peer?.subject
    .split('\n')
    .find((l) => l.startsWith('CN='))
    ?.slice(3);
  const manufacturer = new X509Certificate(options.manufacturerCaPem);
  const credential: SeenRequest['credential'] = !peer
    ? 'none'
    : !socket.authorized
      ? 'untrusted'
      : peer.checkIssued(manufacturer)
        ? 'factory'
        : 'operational';
  const request: SeenRequest = {
    method: req.method ?? '',
    path: url.pathname,
    credential,
    body: Buffer.concat(chunks).toString('utf8'),
    ...(url.searchParams.get('ep') !== null && { ep: url.searchParams.get('ep') ?? '' }),
    ...(cn !== undefined && { cn }),
    ...(req.headers['content-type'] !== undefined && { contentType: req.headers['content-type'] }),
  };
  seen.push(request);

  const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, {
      'content-type': typeof body === 'string' ? 'application/pkcs7-mime' : 'application/json',
      ...headers,
    });
    res.end(text);
  };
  const refuse = (status: number, code: string, message: string) =>
    send(status, { success: false, code, message });

  if (credential === 'none') return refuse(401, 'DEVICE_CERT_REQUIRED', 'no client certificate');
  if (credential === 'untrusted') return refuse(403, 'DEVICE_CERT_UNTRUSTED', 'unknown issuer');

  const intercepted = options.intercept?.(request);
  if (intercepted) return send(intercepted.status, intercepted.body, intercepted.headers);

  if (req.method === 'POST' && url.pathname === '/bs') {
    if (request.ep !== cn) return refuse(403, 'DEVICE_CERT_MISMATCH', 'CN differs from ep');
    return send(200, bootstrapAnswer(options, credential === 'operational'));
  }
  if (req.method === 'POST' && /^\/\.well-known\/est\/simple(re)?enroll$/.test(url.pathname)) {
    const cert = await signCsr(options.pki.deviceIssuing, fromBase64Body(request.body), {
      profile: 'device-client',
      endpoint: cn ?? '',
    });
    return send(200, toBase64Lines(encodeCertsOnly([cert])), {
      'content-type': 'application/pkcs7-mime; smime-type=certs-only',
    });
  }
  return refuse(404, 'ROUTE_NOT_FOUND', 'no such route');
}

function bootstrapAnswer(options: TestBootstrapServerOptions, reenroll: boolean) {
  return {
    operations: [
      { op: 'delete', path: '/0/1' },
      { op: 'delete', path: '/1/0' },
      {
        op: 'write',
        path: '/0/1',
        value: {
          '0': options.msUrl(),
          '1': false,
          '2': 4,
          '5': options.msCaPem?.() ?? options.pki.serverRootPem,
          '10': 1,
        },
      },
      {
        op: 'write',
        path: '/1/0',
        value: {
          '0': 1,
          '1': 300,
          '16': true,
          '17': 2,
          '18': 1,
          '19': 2,
          '20': 2,
          ...options.serverLifetime,
        },
      },
      ...(options.extraOperations ?? []),
      { op: 'finish' },
    ],
    est: { path: '/.well-known/est', reenroll },
  };
}

/** A TLS MQTT broker like the MS (client certificate from the device CA, client id = CN). */
export interface TestBroker {
  url: string;
  broker: Aedes;
  published: AedesPublishPacket[];
  /** Closed device connections, and whether the device sent DISCONNECT first. */
  disconnects: { id: string; clean: boolean }[];
  /** A plain-TCP MQTT client on the same broker, to watch and send requests as the MS would. */
  observer: MqttClient;
  close(): Promise<void>;
  /** Drops every device connection, as an MS restart would. */
  dropClients(): void;
}

export async function startTestBroker(
  host: string,
  pki: TestPki,
  credential: ServerCredential,
): Promise<TestBroker> {
  const broker = await Aedes.createBroker({
    authenticate: (client, _u, _p, done) => {
      const socket = client.conn as TLSSocket;
      if (typeof socket.getPeerX509Certificate !== 'function') return done(null, true);
      const cn = socket
        .getPeerX509Certificate()
        ?.subject.split('\n')
        .find((l) => l.startsWith('CN='));
      if (cn === `CN=${client.id}`) return done(null, true);
      done(Object.assign(new Error('client id is not the CN'), { returnCode: 5 as const }), false);
    },
  });
  const published: AedesPublishPacket[] = [];
  broker.on('publish', (packet, client) => {
    if (client) published.push(packet);
  });
  const disconnects: { id: string; clean: boolean }[] = [];
  broker.on('clientDisconnect', (client) => {
    // aedes marks a client that sent DISCONNECT (MQTT 3.1.1 §3.14.4), the case without a Will.
    disconnects.push({
      id: client.id,
      clean: (client as unknown as { _disconnected: boolean })._disconnected,
    });
  });
  const sockets = new Set<TLSSocket>();
  const tlsServer: TlsServer = createTlsServer(
    {
      key: credential.keyPem,
      cert: credential.chainPem,
      ca: pki.deviceChainPem,
      requestCert: true,
      rejectUnauthorized: true,
    },
    (socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      broker.handle(socket);
    },
  );
  tlsServer.listen(0, host);
  await once(tlsServer, 'listening');
  const plain: NetServer = createNetServer((socket) => broker.handle(socket));
  plain.listen(0, host);
  await once(plain, 'listening');

  const observer = mqtt.connect(`mqtt://${host}:${(plain.address() as AddressInfo).port}`, {
    clientId: 'test-observer',
    protocolVersion: 4,
    reconnectPeriod: 0,
  });
  await new Promise<void>((resolve, reject) => {
    observer.once('connect', () => resolve());
    observer.once('error', reject);
  });

  return {
    url: `mqtts://${host}:${(tlsServer.address() as AddressInfo).port}`,
    broker,
    published,
    disconnects,
    observer,
    dropClients: () => {
      for (const socket of sockets) socket.destroy();
    },
    close: async () => {
      await observer.endAsync(true);
      for (const socket of sockets) socket.destroy();
      await Promise.all([closeServer(tlsServer), closeServer(plain)]);
      await new Promise<void>((resolve) => broker.close(() => resolve()));
    },
  };
}

function closeServer(server: HttpsServer | TlsServer | NetServer): Promise<void> {
  if ('closeAllConnections' in server) server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
