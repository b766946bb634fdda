import { createPrivateKey, createPublicKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  SignJWT,
  exportPKCS8,
  generateKeyPair,
  importPKCS8,
  importSPKI,
  jwtVerify,
  type CryptoKey,
} from 'jose';
import { writePrivateKeyFile } from '../../pki/index.js';

const ALGORITHM = 'ES256';
const AUDIENCE = 'homeport-api';
export const TOKEN_LIFETIME_SECONDS = 2 * 60 * 60;

export interface TokenClaims {
  userId: number;
  clientId: string;
}

/**
 * Issues and checks the API's bearer tokens: ES256 JWTs signed with a key that lives in the
 * data directory (mode 0600), so tokens survive a restart and no other deployment accepts them.
 *
 * @example
 *   const tokens = await TokenService.open(dataDir, deploymentId);
 *   const { token } = await tokens.issue({ userId: 1, clientId: 'python' });
 *   (await tokens.verify(token))?.userId; // 1
 */
export class TokenService {
  private constructor(
    private readonly privateKey: CryptoKey,
    private readonly publicKey: CryptoKey,
    private readonly issuer: string,
  ) {}

  static async open(dataDir: string, deploymentId: string): Promise<TokenService> {
    const path = join(dataDir, 'keys', 'api-token.key');
    const pem = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    const privateKey = pem
      ? await importPKCS8(pem, ALGORITHM, { extractable: true })
      : await createKey(path);
    const publicKey = await derivePublicKey(privateKey);
    return new TokenService(privateKey, publicKey, `homeport:${deploymentId}`);
  }

  async issue(claims: TokenClaims): Promise<{ token: string; expiresIn: number }> {
    const token = await new SignJWT({ client_id: claims.clientId })
      .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
      .setSubject(String(claims.userId))
      .setIssuer(this.issuer)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setNotBefore('0s')
      .setExpirationTime(`${TOKEN_LIFETIME_SECONDS}s`)
      .sign(this.privateKey);
    return { token, expiresIn: TOKEN_LIFETIME_SECONDS };
  }

  /** The claims of a valid token, or undefined for anything forged, expired or foreign. */
  async verify(token: string): Promise<TokenClaims | undefined> {
    try {
      const { payload } = await jwtVerify(token, this.publicKey, {
        algorithms: [ALGORITHM],
        issuer: this.issuer,
        audience: AUDIENCE,
      });
      const userId = Number(payload.sub);
      if (!Number.isSafeInteger(userId)) return undefined;
      const clientId = typeof payload.client_id === 'string' ? payload.client_id : '';
      return { userId, clientId };
    } catch {
      return undefined;
    }
  }
}

async function createKey(path: string): Promise<CryptoKey> {
  const { privateKey } = await generateKeyPair(ALGORITHM, { extractable: true });
  await writePrivateKeyFile(path, await exportPKCS8(privateKey));
  return privateKey;
}

async function derivePublicKey(privateKey: CryptoKey): Promise<CryptoKey> {
  const pem = await exportPKCS8(privateKey);
  const spki = createPublicKey(createPrivateKey(pem)).export({ type: 'spki', format: 'pem' });
  return importSPKI(spki.toString(), ALGORITHM);
}
