import { EventEmitter } from 'node:events';
import { silentLogger, type Logger } from '../log.js';
import {
  bootstrapBackoffSeconds,
  retryAfterSeconds,
  retryPolicy,
  RetrySchedule,
  type Random,
} from './backoff.js';
import { BootstrapServerError } from './bootstrap-client.js';
import {
  bootstrapServerOf,
  chooseCredential,
  runBootstrap,
  type BootstrapOutcome,
} from './bootstrap-flow.js';
import { managementAccount, type ManagementAccount } from './bootstrap-ops.js';
import type { ConcurrencyGate } from './gate.js';
import { connectAndRegister, type ManagementClient } from './management-client.js';
import type { MqttSession } from './mqtt-session.js';
import type { ExecuteAction, RuntimeValues } from './objects.js';
import { DeviceStore, type BootstrapAccount, type DeviceStoreOptions } from './state.js';
import { AgentStoppedError, AgentTimers, isAbortError, type TimerFunctions } from './timers.js';
import { SECURITY, type AgentState, type BootstrapReason } from './types.js';

export interface DeviceAgentOptions {
  /** The device folder made by `homeport factory`; the state is kept there too. */
  folder: string;
  /** The bootstrap-server account for a first start (`/0/0`). */
  bootstrap?: BootstrapAccount;
  logger?: Logger;
  /** Multiplies every protocol time (backoff, Retry-After, hold-off, lifetime). Default 1. */
  timeScale?: number;
  /** Notify period. Default 60 s × timeScale. */
  notifyIntervalMs?: number;
  /** MQTT CONNECT to CONNACK limit. Default 30 s. */
  connectTimeoutMs?: number;
  /** Limit for each HTTPS request to the BS. Default 30 s. */
  requestTimeoutMs?: number;
  /** Bounds how many devices bootstrap or connect at once (the simulator shares one). */
  gate?: ConcurrencyGate;
  random?: Random;
  timerFunctions?: TimerFunctions;
  firmwareVersion?: string;
  /**
   * Renew (bootstrap with reason `expiring`) when less than this part of the operational
   * certificate's life is left. Default 0.2.
   */
  renewBefore?: number;
  /** Passed to the state store; a test throws from it to simulate a power cut. */
  beforeSaveStep?: DeviceStoreOptions['beforeStep'];
}

/** A change of the agent's state, as emitted with 'state'. */
export interface StateChange {
  endpoint: string;
  state: AgentState;
  previous: AgentState;
  reason?: BootstrapReason;
  server?: string;
  delayMs?: number;
  error?: string;
}

/** Counters of what an agent did, for the simulator and benchmarks. */
export interface AgentStats {
  bootstraps: number;
  bootstrapFailures: number;
  connects: number;
  connectFailures: number;
  /** ms from start() to the first time online. */
  firstOnlineMs?: number;
}

export interface DeviceAgentEvents {
  state: [StateChange];
  bootstrapped: [BootstrapOutcome & { reason: BootstrapReason }];
}

type Next =
  { step: 'bootstrap'; reason: BootstrapReason; failedServer?: string } | { step: 'manage' };
type OnlineExit =
  { kind: 'lost'; error?: Error } | { kind: ExecuteAction | 'expiring' | 'stopped' };

/**
 * Runs one device as docs/protocol.md describes: bootstrap (Bootstrap-Request, EST, atomic
 * save), the MQTT session with the MS (Register, Notify, answers to Read/Write/Execute), the
 * jittered retries of §5 and the way back to the BS. Emits 'state' on each change. A device
 * restarted on the same folder resumes: with an MS account and a valid operational
 * certificate it connects, otherwise it bootstraps again with its bootstrap account.
 *
 * @example
 *   const agent = new DeviceAgent({ folder, bootstrap: { url, caPem }, logger });
 *   agent.on('state', (change) => console.log(change.state));
 *   await agent.start();
 *   await agent.stop();
 */
export class DeviceAgent extends EventEmitter<DeviceAgentEvents> {
  readonly stats: AgentStats = {
    bootstraps: 0,
    bootstrapFailures: 0,
    connects: 0,
    connectFailures: 0,
  };
  readonly timers: AgentTimers;
  private current: AgentState = 'idle';
  private store: DeviceStore | undefined;
  private log: Logger;
  private readonly controller = new AbortController();
  private loop: Promise<void> | undefined;
  private session: MqttSession | undefined;
  private killed = false;
  private preferFactory = false;
  private startedAt = 0;
  private exitOnline: ((exit: OnlineExit) => void) | undefined;

  constructor(private readonly options: DeviceAgentOptions) {
    super();
    this.timers = new AgentTimers(options.timeScale ?? 1, options.timerFunctions);
    this.log = options.logger ?? silentLogger();
  }

  get state(): AgentState {
    return this.current;
  }

  /** The endpoint name (MAC), known once started. */
  get endpoint(): string | undefined {
    return this.store?.endpoint;
  }

  /** The device's state store, once started. */
  get deviceStore(): DeviceStore | undefined {
    return this.store;
  }

  /** Opens the device folder (creating its state on a first start) and starts running. */
  async start(): Promise<void> {
    if (this.loop) throw new Error('Cannot start a device agent twice.');
    this.startedAt = Date.now();
    this.store = await DeviceStore.open(this.options.folder, {
      logger: this.options.logger ?? silentLogger(),
      ...(this.options.bootstrap && { bootstrap: this.options.bootstrap }),
      ...(this.options.beforeSaveStep && { beforeStep: this.options.beforeSaveStep }),
    });
    this.log = this.log.child({ ep: this.store.endpoint });
    this.loop = this.run(this.store);
  }

  /** Stops cleanly: offline status and DISCONNECT, no timer left. */
  async stop(): Promise<void> {
    this.controller.abort(new AgentStoppedError());
    this.exitOnline?.({ kind: 'stopped' });
    await this.loop;
    this.timers.clearAll();
    this.setState('stopped');
  }

  /** Stops as a power cut would: no DISCONNECT, so the MS publishes the Will. */
  async kill(): Promise<void> {
    this.killed = true;
    this.session?.destroy();
    await this.stop();
  }

  private get notifyIntervalMs(): number {
    return this.options.notifyIntervalMs ?? this.timers.seconds(60);
  }

  private get signal(): AbortSignal {
    return this.controller.signal;
  }

  private async run(store: DeviceStore): Promise<void> {
    let next = this.firstStep(store);
    let failures = 0;
    while (!this.signal.aborted) {
      try {
        next =
          next.step === 'bootstrap' ? await this.bootstrap(store, next) : await this.manage(store);
        failures = 0;
      } catch (err) {
        if (isAbortError(err) || this.signal.aborted) break;
        // Not a protocol failure (those are handled in the steps): a disk error, a bug.
        this.log.error({ err }, 'device step failed; retrying');
        const delay = bootstrapBackoffSeconds(failures++, this.random);
        await this.backOff(delay, err).catch(() => undefined);
        next = this.firstStep(store);
      }
    }
  }

  /** Where a (re)started device begins: with its MS if it can, else at its BS. */
  private firstStep(store: DeviceStore): Next {
    const operational = store.operational;
    const account = managementAccount(store.instances);
    if (!account || !operational) return { step: 'bootstrap', reason: 'initial' };

    const expired = new Date(operational.cert.validTo) <= new Date();
    return expired ? { step: 'bootstrap', reason: 'expiring' } : { step: 'manage' };
  }

  private async bootstrap(
    store: DeviceStore,
    next: Extract<Next, { step: 'bootstrap' }>,
  ): Promise<Next> {
    const body = {
      reason: next.reason,
      ...(next.failedServer && { failed_server: next.failedServer }),
    };
    // LwM2M Core §E.1 resource 11: wait before a client-initiated bootstrap.
    const holdOffMs = this.timers.seconds(bootstrapServerOf(store.instances).holdOffSeconds);
    if (holdOffMs > 0) await this.timers.sleep(holdOffMs, this.signal);

    let failures = 0;
    for (;;) {
      const chosen = chooseCredential(store, new Date(), this.preferFactory);
      this.setState('bootstrapping', { reason: next.reason });
      try {
        const outcome = await this.gated(() =>
          runBootstrap(
            {
              store,
              log: this.log,
              signal: this.signal,
              requestTimeoutMs: this.options.requestTimeoutMs ?? 30_000,
              onEnrolling: () => this.setState('enrolling', { reason: next.reason }),
            },
            chosen,
            body,
          ),
        );
        this.stats.bootstraps++;
        this.preferFactory = false;
        this.log.debug({ reason: next.reason, ms: outcome.managementServer }, 'bootstrapped');
        this.emit('bootstrapped', { ...outcome, reason: next.reason });
        return { step: 'manage' };
      } catch (err) {
        if (isAbortError(err) || this.signal.aborted) throw err;
        this.stats.bootstrapFailures++;
        if (chosen.kind === 'operational' && isCredentialRefusal(err)) {
          // protocol.md §3: without a usable operational certificate, the factory one.
          this.log.debug({ err }, 'operational certificate refused; trying the factory one');
          this.preferFactory = true;
          continue;
        }
        const retryAfter = err instanceof BootstrapServerError ? err.retryAfterSeconds : undefined;
        const delay =
          retryAfter === undefined
            ? bootstrapBackoffSeconds(failures++, this.random)
            : retryAfterSeconds(retryAfter, this.random);
        await this.backOff(delay, err);
      }
    }
  }

  private async manage(store: DeviceStore): Promise<Next> {
    const newSchedule = () =>
      new RetrySchedule(retryPolicy(managementAccount(store.instances)?.server), this.random);
    let schedule = newSchedule();
    for (;;) {
      const account = managementAccount(store.instances);
      if (!account || !store.operational) return { step: 'bootstrap', reason: 'initial' };
      const server = String(account.security[SECURITY.serverUri]);

      const exit = await this.connectAndServe(store, account, server);
      if (exit.kind === 'stopped') throw new AgentStoppedError();
      if (exit.kind === 'reboot') continue;
      if (exit.kind === 'bootstrap-trigger') return { step: 'bootstrap', reason: 'triggered' };
      if (exit.kind === 'expiring') return { step: 'bootstrap', reason: 'expiring' };
      // A registered session that dropped starts a fresh schedule, with the current 17 to 20.
      if (exit.kind === 'lost' && exit.error === undefined) schedule = newSchedule();

      // protocol.md §5: retries within 17 to 20, then back to the BS if 16 says so.
      const step = schedule.next();
      if (!step && schedule.policy.bootstrapOnFailure) {
        return { step: 'bootstrap', reason: 'registration-failure', failedServer: server };
      }
      if (!step) schedule.reset();
      const delay = step?.delaySeconds ?? schedule.policy.sequenceDelaySeconds;
      await this.backOff(delay, exit.kind === 'lost' ? exit.error : undefined, server);
    }
  }

  /**
   * Connects and registers (a failure is `lost` with its error), then serves the session until
   * it ends; `lost` without error means a session that was registered and then dropped.
   */
  private async connectAndServe(
    store: DeviceStore,
    account: ManagementAccount,
    server: string,
  ): Promise<OnlineExit> {
    this.setState('connecting', { server });
    let session: MqttSession;
    let client: ManagementClient;
    try {
      ({ session, client } = await this.gated(() => this.connect(store, account, server)));
    } catch (err) {
      this.session = undefined;
      if (isAbortError(err) || this.signal.aborted) return { kind: 'stopped' };
      this.stats.connectFailures++;
      this.log.debug({ err, server }, 'could not connect to the Management Server');
      return { kind: 'lost', error: err instanceof Error ? err : new Error(String(err)) };
    }

    this.stats.connects++;
    this.stats.firstOnlineMs ??= Date.now() - this.startedAt;
    const exit = await this.serve(store, session);
    client.stop();
    if (exit.kind !== 'lost' && !this.killed) await session.close();
    else session.destroy();
    this.session = undefined;
    return exit.kind === 'lost' ? { kind: 'lost' } : exit;
  }

  private connect(store: DeviceStore, account: ManagementAccount, server: string) {
    return connectAndRegister({
      store,
      account,
      server,
      signal: this.signal,
      timers: this.timers,
      log: this.log,
      connectTimeoutMs: this.options.connectTimeoutMs ?? 30_000,
      notifyIntervalMs: this.notifyIntervalMs,
      runtime: (session) => this.runtime(session),
      onSession: (session) => (this.session = session),
      onAction: (action) => this.exitOnline?.({ kind: action }),
    });
  }

  private serve(store: DeviceStore, session: MqttSession): Promise<OnlineExit> {
    this.setState('online', {
      server: String(managementAccount(store.instances)?.security[SECURITY.serverUri]),
    });
    return new Promise<OnlineExit>((resolve) => {
      const stopChecking = this.timers.every(this.notifyIntervalMs, () => {
        if (this.needsRenewal(store)) finish({ kind: 'expiring' });
      });
      const finish = (exit: OnlineExit) => {
        stopChecking();
        this.exitOnline = undefined;
        resolve(exit);
      };
      this.exitOnline = finish;
      void session.closed.then(() => finish({ kind: 'lost' }));
      if (this.signal.aborted) finish({ kind: 'stopped' });
    });
  }

  private needsRenewal(store: DeviceStore): boolean {
    const cert = store.operational?.cert;
    if (!cert) return false;
    const from = Date.parse(cert.validFrom);
    const to = Date.parse(cert.validTo);
    return to - Date.now() < (to - from) * (this.options.renewBefore ?? 0.2);
  }

  private runtime(session: MqttSession): RuntimeValues {
    return {
      firmwareVersion: this.options.firmwareVersion ?? '1.0.0',
      ipAddresses: session.localAddress ? [session.localAddress] : [],
      signalStrength: -60 - Math.round(this.random() * 20),
      now: new Date(),
    };
  }

  private async backOff(seconds: number, err: unknown, server?: string): Promise<void> {
    const delayMs = Math.round(this.timers.seconds(seconds));
    const error = err instanceof Error ? err.message : undefined;
    this.setState('backing-off', {
      delayMs,
      ...(server && { server }),
      ...(error && { error }),
    });
    await this.timers.sleep(delayMs, this.signal);
  }

  private gated<T>(task: () => Promise<T>): Promise<T> {
    return this.options.gate ? this.options.gate.run(task, this.signal) : task();
  }

  private get random(): Random {
    return this.options.random ?? Math.random;
  }

  private setState(
    state: AgentState,
    detail: Omit<StateChange, 'endpoint' | 'state' | 'previous'> = {},
  ): void {
    const previous = this.current;
    if (previous === state && state !== 'backing-off') return;
    if (previous === 'stopped') return;
    this.current = state;
    this.log.debug({ state, ...detail }, 'state');
    this.emit('state', { endpoint: this.store?.endpoint ?? '', state, previous, ...detail });
  }
}

function isCredentialRefusal(err: unknown): boolean {
  return err instanceof BootstrapServerError && (err.httpStatus === 401 || err.httpStatus === 403);
}
