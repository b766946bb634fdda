import { generatePassword, hashPassword } from '../api/auth/passwords.js';
import type { Logger } from '../log.js';
import type { Repository } from '../store/index.js';

export const ADMIN_USERNAME = 'admin';

/**
 * Creates the SysAdmin `admin` on the first start. Its password is `password` when given
 * (from HOMEPORT_ADMIN_PASSWORD), otherwise a random one that is returned so that the CLI can
 * show it once. Later starts change nothing.
 */
export async function ensureAdmin(
  repo: Repository,
  password: string | undefined,
  logger: Logger,
): Promise<{ generatedPassword?: string }> {
  if ((await repo.countUsers()) > 0) {
    if (password !== undefined) {
      logger.warn(
        'HOMEPORT_ADMIN_PASSWORD is ignored: it only sets the password on the first start',
      );
    }
    return {};
  }
  const chosen = password ?? generatePassword();
  await repo.transaction(async (tx) => {
    const admin = await tx.createUser({
      email: ADMIN_USERNAME,
      firstName: 'System',
      lastName: 'Administrator',
      passwordHash: await hashPassword(chosen),
      isSysAdmin: true,
    });
    await tx.appendAudit({ actor: 'homeport', action: 'user.create', subject: `user:${admin.id}` });
  });
  logger.info({ username: ADMIN_USERNAME }, 'created the SysAdmin user');
  return password === undefined ? { generatedPassword: chosen } : {};
}
