import type { Logger } from '../log.js';
import {
  applyBootstrapOperations,
  bootstrapAccountPaths,
  managementAccount,
  type IgnoredOperation,
} from './bootstrap-ops.js';
import {
  BootstrapServerError,
  requestBootstrap,
  type BootstrapRequestBody,
} from './bootstrap-client.js';
import { createKeyAndCsr, enroll } from './est-client.js';
import { HttpsConnection } from './https-client.js';
import type { Credential } from './identity.js';
import type { DeviceStore } from './state.js';
import { SECURITY, type BootstrapAnswer, type Instances } from './types.js';

/** The credential a bootstrap authenticates with. */
export interface ChosenCredential {
  kind: 'factory' | 'operational';
  credential: Credential;
}

/** What a bootstrap needs from the agent. */
export interface BootstrapFlowContext {
  store: DeviceStore;
  log: Logger;
  signal: AbortSignal;
  requestTimeoutMs: number;
  /** Called when the flow moves from the Bootstrap-Request to EST enrollment. */
  onEnrolling?: () => void;
}

/** What a successful bootstrap did. */
export interface BootstrapOutcome {
  credential: ChosenCredential['kind'];
  reenrolled: boolean;
  ignored: IgnoredOperation[];
  managementServer: string;
}

/**
 * The bootstrap-server account (`/0/0`): its Server URI and server root.
 *
 * @example
 *   bootstrapServerOf(store.instances).url; // 'https://127.0.0.1:8884'
 */
export function bootstrapServerOf(instances: Instances): {
  url: string;
  caPem: string;
  holdOffSeconds: number;
} {
  const account = instances[bootstrapAccountPaths(instances)[0]];
  const holdOff = account[SECURITY.clientHoldOffTime];
  return {
    url: String(account[SECURITY.serverUri]),
    caPem: String(account[SECURITY.serverPublicKey]),
    holdOffSeconds: typeof holdOff === 'number' && holdOff > 0 ? holdOff : 0,
  };
}

/**
 * The credential for the next Bootstrap-Request (protocol.md §3): the operational certificate
 * while the device has one that this BS issued and that is valid now, otherwise the factory
 * certificate. `preferFactory` is set after the BS refused the operational one.
 *
 * @example
 *   const chosen = chooseCredential(store, new Date(), false); // { kind: 'operational', ... }
 */
export function chooseCredential(
  store: DeviceStore,
  now: Date,
  preferFactory: boolean,
): ChosenCredential {
  const operational = store.operational;
  const bsUrl = bootstrapServerOf(store.instances).url;
  const usable =
    operational !== undefined &&
    !preferFactory &&
    operational.issuedBy === bsUrl &&
    new Date(operational.cert.validFrom) <= now &&
    now < new Date(operational.cert.validTo);
  return usable
    ? { kind: 'operational', credential: operational }
    : { kind: 'factory', credential: store.device.factory };
}

/**
 * One client-initiated bootstrap, as named steps: Bootstrap-Request over mutual TLS, apply the
 * operations (never touching `/0/0`), make a new key and CSR, enroll over EST on the same
 * connection, and persist key, certificate and instances as one atomic change.
 *
 * @example
 *   const chosen = chooseCredential(store, new Date(), false);
 *   await runBootstrap(context, chosen, { reason: 'initial' });
 */
export async function runBootstrap(
  context: BootstrapFlowContext,
  chosen: ChosenCredential,
  body: BootstrapRequestBody,
): Promise<BootstrapOutcome> {
  const { store, log, signal } = context;
  const bs = bootstrapServerOf(store.instances);
  const connection = new HttpsConnection({
    baseUrl: bs.url,
    caPem: bs.caPem,
    credential: chosen.credential,
    timeoutMs: context.requestTimeoutMs,
    signal,
  });

  try {
    log.debug({ reason: body.reason, credential: chosen.kind, bs: bs.url }, 'Bootstrap-Request');
    const answer = await requestBootstrap(connection, store.endpoint, body);
    const applied = applyOperations(context, answer);

    context.onEnrolling?.();
    const reenroll = answer.est.reenroll && chosen.kind === 'operational';
    const request = createKeyAndCsr(store.endpoint);
    const enrolled = await enroll(connection, answer.est.path, reenroll, request, store.endpoint);
    log.debug({ reenroll, notAfter: enrolled.cert.validTo }, 'enrolled');

    await store.commitEnrollment(
      applied.instances,
      { keyPem: request.keyPem, certPem: enrolled.certPem },
      bs.url,
    );
    return {
      credential: chosen.kind,
      reenrolled: reenroll,
      ignored: applied.ignored,
      managementServer: applied.managementServer,
    };
  } finally {
    connection.close();
  }
}

function applyOperations(context: BootstrapFlowContext, answer: BootstrapAnswer) {
  const applied = applyBootstrapOperations(context.store.instances, answer.operations, context.log);
  if (!applied.finished) throw unusable('it has no Bootstrap-Finish');

  // protocol.md §2: the MS account must name an mqtts:// server and its trust anchor.
  const account = managementAccount(applied.instances);
  const uri = account?.security[SECURITY.serverUri];
  const anchor = account?.security[SECURITY.serverPublicKey];
  if (typeof uri !== 'string' || !uri.startsWith('mqtts://')) {
    throw unusable('it leaves no Management Server account with an mqtts:// URI');
  }
  if (typeof anchor !== 'string' || !anchor.includes('-----BEGIN CERTIFICATE-----')) {
    throw unusable(`the account of ${uri} has no server trust anchor (resource 5)`);
  }
  return { ...applied, managementServer: uri };
}

function unusable(reason: string): BootstrapServerError {
  return new BootstrapServerError(
    'BOOTSTRAP_FAILED',
    `Cannot use the Bootstrap Server's answer: ${reason}.`,
    200,
  );
}
