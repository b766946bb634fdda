import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import type { TLSSocket } from 'node:tls';
import type { Logger } from '../log.js';
import type { TlsClientCredential } from './https-client.js';
import { AgentStoppedError, type AgentTimers } from './timers.js';

export interface MqttSessionOptions {
  /** `mqtts://host:port`, the Server URI of the MS account (`/0/1` resource 0). */
  url: string;
  /** The MS trust anchor (`/0/1` resource 5), PEM. */
  caPem: string;
  /** The operational key and certificate. */
  credential: TlsClientCredential;
  /** The endpoint name: MQTT client id and topic prefix. */
  endpoint: string;
  keepaliveSeconds: number;
  connectTimeoutMs: number;
  signal: AbortSignal;
  timers: AgentTimers;
  log: Logger;
}

/** A server-initiated operation as it arrives on `dm/<MAC>/req/<id>`. */
export interface IncomingRequest {
  id: string;
  payload: Buffer;
}

/** The topics of one device (protocol.md §4). */
export function deviceTopics(endpoint: string) {
  const prefix = `dm/${endpoint}`;
  return {
    status: `${prefix}/status`,
    register: `${prefix}/register`,
    update: `${prefix}/update`,
    notify: `${prefix}/notify`,
    requests: `${prefix}/req/+`,
    response: (id: string) => `${prefix}/rsp/${id}`,
    requestId: (topic: string) =>
      topic.startsWith(`${prefix}/req/`) ? topic.slice(prefix.length + 5) : undefined,
  };
}

export const ONLINE = JSON.stringify({ state: 'online' });
export const OFFLINE = JSON.stringify({ state: 'offline' });
// How long a clean close waits for the broker before it drops the connection.
const CLOSE_GRACE_MS = 2000;

/**
 * One MQTT 3.1.1 session with the Management Server over mutual TLS (protocol.md §4): client
 * id = endpoint, clean session, keep-alive 60 s, and a retained `{"state":"offline"}` Will on
 * the status topic. The library's own reconnect is off: the agent decides when to reconnect.
 *
 * @example
 *   const session = await MqttSession.connect(options); // resolves on CONNACK
 *   session.onRequest((request) => ...);
 *   const why = await session.closed; // the Error that ended it, or undefined
 */
export class MqttSession {
  readonly topics: ReturnType<typeof deviceTopics>;
  /** Resolves when the connection is gone, with the error that ended it if any. */
  readonly closed: Promise<Error | undefined>;
  private ending = false;

  private constructor(
    private readonly client: MqttClient,
    private readonly options: MqttSessionOptions,
    closed: Promise<Error | undefined>,
  ) {
    this.topics = deviceTopics(options.endpoint);
    this.closed = closed;
  }

  /** Connects and resolves once the MS accepted the session (CONNACK 0). */
  static connect(options: MqttSessionOptions): Promise<MqttSession> {
    const topics = deviceTopics(options.endpoint);
    const client = connect(options.url, clientOptions(options, topics.status));
    let lastError: Error | undefined;
    client.on('error', (err) => {
      lastError = err;
    });
    const closed = new Promise<Error | undefined>((resolve) => {
      client.once('close', () => {
        client.end(true);
        resolve(lastError);
      });
    });

    return new Promise((resolve, reject) => {
      const onAbort = () => {
        client.end(true);
        reject(
          options.signal.reason instanceof Error ? options.signal.reason : new AgentStoppedError(),
        );
      };
      if (options.signal.aborted) return onAbort();
      options.signal.addEventListener('abort', onAbort, { once: true });

      client.once('connect', () => {
        options.signal.removeEventListener('abort', onAbort);
        resolve(new MqttSession(client, options, closed));
      });
      void closed.then((err) => {
        options.signal.removeEventListener('abort', onAbort);
        reject(err ?? new Error('the Management Server closed the connection before CONNACK'));
      });
    });
  }

  /** The local IP address of the connection, for `/4/0/4`. */
  get localAddress(): string | undefined {
    return (this.client.stream as TLSSocket | undefined)?.localAddress;
  }

  /** Publishes and waits for PUBACK (QoS 1); fails if the connection closes first. */
  async publish(topic: string, payload: string, qos: 0 | 1, retain = false): Promise<void> {
    const sent = this.client.publishAsync(topic, payload, { qos, retain });
    await Promise.race([
      sent,
      this.closed.then((err) => Promise.reject(err ?? new Error('connection closed'))),
    ]);
  }

  /** Subscribes with QoS 1 and waits for SUBACK. */
  async subscribe(topic: string): Promise<void> {
    const granted = this.client.subscribeAsync(topic, { qos: 1 });
    const grants = await Promise.race([
      granted,
      this.closed.then((err) => Promise.reject(err ?? new Error('connection closed'))),
    ]);
    // MQTT 3.1.1 §3.9.3: 0x80 is a refused subscription.
    if (grants.some((grant) => grant.qos === 0x80))
      throw new Error(`the MS refused the subscription to ${topic}`);
  }

  /** Calls `handler` for each message on the device's request topic. */
  onRequest(handler: (request: IncomingRequest) => void): void {
    this.client.on('message', (topic, payload) => {
      const id = this.topics.requestId(topic);
      if (id !== undefined && id !== '' && !id.includes('/')) handler({ id, payload });
    });
  }

  /**
   * Ends the session cleanly: a retained offline status (the Will is not sent on a clean
   * DISCONNECT, MQTT 3.1.1 §3.14.4), then DISCONNECT. Gives up waiting after 2 s.
   */
  async close(): Promise<void> {
    if (this.ending) return this.closed.then(() => undefined);
    this.ending = true;

    const { timers } = this.options;
    let handle: unknown;
    const grace = new Promise<void>((resolve) => {
      handle = timers.after(CLOSE_GRACE_MS, resolve);
    });
    const clean = async () => {
      await this.publish(this.topics.status, OFFLINE, 1, true).catch(() => undefined);
      await this.client.endAsync(false);
    };
    await Promise.race([clean(), grace]);
    timers.cancel(handle);
    this.client.end(true);
    await this.closed;
  }

  /** Drops the connection without DISCONNECT, as a power cut would: the broker sends the Will. */
  destroy(): void {
    this.ending = true;
    this.client.end(true);
  }

  /** Whether close() or destroy() was called. */
  get isEnding(): boolean {
    return this.ending;
  }
}

function clientOptions(options: MqttSessionOptions, statusTopic: string): IClientOptions {
  return {
    protocolVersion: 4, // MQTT 3.1.1
    clientId: options.endpoint,
    clean: true,
    keepalive: options.keepaliveSeconds,
    reconnectPeriod: 0,
    connectTimeout: options.connectTimeoutMs,
    resubscribe: false,
    ca: options.caPem,
    cert: options.credential.certPem,
    key: options.credential.keyPem,
    // Verify the MS certificate and that it names the host (mqtt.js sets SNI for names).
    rejectUnauthorized: true,
    will: { topic: statusTopic, payload: Buffer.from(OFFLINE), qos: 1, retain: true },
  };
}
