import type { Logger } from '../log.js';
import { bootstrapServerOf } from './bootstrap-flow.js';
import { managementAccount, type ManagementAccount } from './bootstrap-ops.js';
import { MqttSession, ONLINE, type IncomingRequest } from './mqtt-session.js';
import {
  executePath,
  objectTree,
  planWrite,
  readPath,
  type ExecuteAction,
  type OperationResponse,
  type RuntimeValues,
} from './objects.js';
import type { DeviceStore } from './state.js';
import { AgentStoppedError, type AgentTimers } from './timers.js';
import { SECURITY, SERVER } from './types.js';

/** LwM2M version the device registers with. */
export const LWM2M_VERSION = '1.1';
/** The objects the device implements, listed in Register. */
export const REGISTERED_OBJECTS = ['/0', '/1', '/3', '/4'];
const DEFAULT_LIFETIME_SECONDS = 300;

export interface ManagementClientOptions {
  session: MqttSession;
  store: DeviceStore;
  timers: AgentTimers;
  log: Logger;
  notifyIntervalMs: number;
  runtime: () => RuntimeValues;
  /** Called after the answer to an Execute that needs the agent to act has been sent. */
  onAction: (action: ExecuteAction) => void;
}

/** What {@link connectAndRegister} needs. */
export interface ConnectOptions {
  store: DeviceStore;
  account: ManagementAccount;
  /** The Server URI of the MS account. */
  server: string;
  signal: AbortSignal;
  timers: AgentTimers;
  log: Logger;
  connectTimeoutMs: number;
  notifyIntervalMs: number;
  runtime: (session: MqttSession) => RuntimeValues;
  /** Called as soon as the session exists, so that it can be dropped while registering. */
  onSession: (session: MqttSession) => void;
  onAction: (action: ExecuteAction) => void;
}

/**
 * Connects to the MS of the account with the operational credential, verifying the MS against
 * the account's trust anchor (`/0/1` resource 5), and registers. Resolves once registered; a
 * failure at any point (TCP, TLS, CONNACK, Register) rejects and leaves nothing open.
 *
 * @example
 *   const { session, client } = await connectAndRegister({ store, account, server, ... });
 */
export async function connectAndRegister(
  options: ConnectOptions,
): Promise<{ session: MqttSession; client: ManagementClient }> {
  const { store, signal } = options;
  const credential = store.operational;
  if (!credential) throw new Error('Cannot connect: the device has no operational certificate.');
  const session = await MqttSession.connect({
    url: options.server,
    caPem: String(options.account.security[SECURITY.serverPublicKey]),
    credential,
    endpoint: store.endpoint,
    keepaliveSeconds: 60, // protocol.md §4
    connectTimeoutMs: options.connectTimeoutMs,
    signal,
    timers: options.timers,
    log: options.log,
  });
  options.onSession(session);

  const client = new ManagementClient({
    session,
    store,
    timers: options.timers,
    log: options.log,
    notifyIntervalMs: options.notifyIntervalMs,
    runtime: () => options.runtime(session),
    onAction: options.onAction,
  });
  // Registering waits for PUBACKs; a stop meanwhile must not wait for a silent broker.
  const onAbort = () => session.destroy();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    await client.start();
  } catch (err) {
    client.stop();
    session.destroy();
    throw signal.aborted ? new AgentStoppedError() : err;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
  return { session, client };
}

/**
 * The device side of the management interface once connected (protocol.md §4): Register,
 * periodic Update before the lifetime runs out, periodic Notify of the Device object, and
 * answers to Read, Write, Execute and Observe on `dm/<MAC>/rsp/<id>`.
 *
 * @example
 *   const client = new ManagementClient({ session, store, timers, log, ...rest });
 *   await client.start(); // subscribed, online, registered
 *   client.stop();
 */
export class ManagementClient {
  private readonly cancels: (() => void)[] = [];
  private readonly observed = new Set<string>();

  constructor(private readonly options: ManagementClientOptions) {}

  /**
   * Subscribes to requests first, so that nothing the MS sends in answer to Register is lost,
   * then publishes the retained online status and registers (LwM2M Core §6.2.1).
   */
  async start(): Promise<void> {
    const { session } = this.options;
    session.onRequest((request) => void this.answer(request));
    await session.subscribe(session.topics.requests);
    await session.publish(session.topics.status, ONLINE, 1, true);
    await session.publish(session.topics.register, JSON.stringify(this.registration()), 1);

    this.schedule();
  }

  /** Stops the periodic Update and Notify. */
  stop(): void {
    for (const cancel of this.cancels.splice(0)) cancel();
  }

  /** The Register payload; `bootstrap_server` is the Server URI of `/0/0`. */
  registration(): Record<string, unknown> {
    return {
      lifetime: this.lifetime(),
      version: LWM2M_VERSION,
      objects: REGISTERED_OBJECTS,
      bootstrap_server: bootstrapServerOf(this.options.store.instances).url,
    };
  }

  private lifetime(): number {
    const server = managementAccount(this.options.store.instances)?.server;
    const value = server?.[SERVER.lifetime];
    return typeof value === 'number' && value > 0 ? value : DEFAULT_LIFETIME_SECONDS;
  }

  private schedule(): void {
    this.stop();
    const { timers } = this.options;
    this.cancels.push(timers.every(this.options.notifyIntervalMs, () => void this.notify()));
    // LwM2M Core §6.2.2: Update before the registration lifetime runs out.
    this.cancels.push(
      timers.every(timers.seconds(this.lifetime() * 0.9), () => void this.update()),
    );
  }

  private async notify(): Promise<void> {
    const { session, runtime } = this.options;
    const tree = objectTree(this.source(), runtime());
    const paths = ['/3/0', ...[...this.observed].filter((p) => p !== '/3/0')];
    const payload = paths.flatMap((path) => readPath(tree, path).payload ?? []);
    await session
      .publish(session.topics.notify, JSON.stringify(payload), 0)
      .catch((err: unknown) => {
        this.options.log.debug({ err }, 'Notify not sent');
      });
  }

  private async update(): Promise<void> {
    const { session } = this.options;
    await session
      .publish(session.topics.update, JSON.stringify({ lifetime: this.lifetime() }), 1)
      .catch((err: unknown) => this.options.log.debug({ err }, 'Update not sent'));
  }

  private async answer(request: IncomingRequest): Promise<void> {
    const { session, log } = this.options;
    const { response, action } = await this.perform(request.payload);
    log.trace({ id: request.id, code: response.code }, 'answered');

    try {
      await session.publish(session.topics.response(request.id), JSON.stringify(response), 1);
    } catch (err) {
      log.debug({ err, id: request.id }, 'answer not delivered');
      return;
    }
    if (action) this.options.onAction(action);
  }

  private async perform(
    payload: Buffer,
  ): Promise<{ response: OperationResponse; action?: ExecuteAction }> {
    let request: { op?: unknown; path?: unknown; value?: unknown };
    try {
      request = JSON.parse(payload.toString('utf8')) as typeof request;
    } catch {
      return { response: { code: '4.00' } };
    }
    const path = typeof request.path === 'string' ? request.path : '';
    this.options.log.debug({ op: request.op, path }, 'server request');

    try {
      switch (request.op) {
        case 'read':
          return { response: readPath(this.tree(), path) };
        case 'observe':
          return { response: this.observe(path) };
        case 'write':
          return { response: await this.write(path, request.value) };
        case 'execute': {
          const { code, action } = executePath(this.tree(), path);
          return { response: { code }, ...(action && { action }) };
        }
        default:
          return { response: { code: '4.05' } };
      }
    } catch (err) {
      this.options.log.warn({ err, path }, 'request failed');
      return { response: { code: '5.00' } };
    }
  }

  private observe(path: string): OperationResponse {
    const response = readPath(this.tree(), path);
    // Observed values travel with each periodic Notify (LwM2M Core §6.4.1).
    if (response.code === '2.05') this.observed.add(path);
    return response;
  }

  private async write(path: string, value: unknown): Promise<OperationResponse> {
    const { store } = this.options;
    const before = this.lifetime();
    const planned = planWrite(store.instances, path, value);
    if (planned.code !== '2.04' || !planned.instances) return { code: planned.code };

    await store.saveInstances(planned.instances);
    if (this.lifetime() !== before) {
      this.schedule();
      void this.update();
    }
    return { code: '2.04' };
  }

  private tree() {
    return objectTree(this.source(), this.options.runtime());
  }

  private source() {
    const { store } = this.options;
    return {
      instances: store.instances,
      identity: store.device.identity,
      manufacturer: store.device.manufacturer,
    };
  }
}
