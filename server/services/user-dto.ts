import type { AdminUser, PublicUser } from '../../shared/dto.js';
import type { UserRow } from '../db/repositories/user.repository.js';

/** The only mappers from stored rows to API shapes: the hash never leaves. */
export function toPublicUser(
  u: Pick<UserRow, 'id' | 'email' | 'full_name' | 'email_verified_at' | 'is_superuser' | 'created_at'>,
): PublicUser {
  return {
    id: u.id,
    email: u.email,
    fullName: u.full_name,
    emailVerified: u.email_verified_at !== null,
    isSuperuser: u.is_superuser,
    createdAt: u.created_at.toISOString(),
  };
}

export function toAdminUser(u: UserRow, mfaEnabled: boolean): AdminUser {
  return {
    ...toPublicUser(u),
    isActive: u.is_active,
    lockedUntil: u.locked_until ? u.locked_until.toISOString() : null,
    failedAttempts: u.failed_attempts,
    lastLoginAt: u.last_login_at ? u.last_login_at.toISOString() : null,
    mfaEnabled,
  };
}
