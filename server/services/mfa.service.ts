import { randomUUID } from 'node:crypto';
import QRCode from 'qrcode';
import type { MfaFactorInfo, TotpEnrollment } from '../../shared/dto.js';
import type { MfaChallengeRepository } from '../db/repositories/mfa-challenge.repository.js';
import type { MfaFactorRepository, MfaFactorRow } from '../db/repositories/mfa-factor.repository.js';
import type { RecoveryCodeRepository } from '../db/repositories/recovery-code.repository.js';
import type { UserRepository, UserRow } from '../db/repositories/user.repository.js';
import type { Sql } from '../db/sql.js';
import type { Mailer } from '../email/mailer.js';
import { AppError } from '../errors.js';
import type { RequestInfo, SecurityEvents } from '../observability/security-events.js';
import type { AccountRateLimits } from './account-rate-limits.js';
import type { Clock } from '../security/clock.js';
import { matchTotp, newTotpSecret, totpUri } from '../security/totp.js';
import type { CredentialVerifier } from './credential-verifier.service.js';
import type { MfaLoginService } from './mfa-login.service.js';
import type { SecondFactorCheck } from './second-factor-check.js';
import type { SessionService } from './session.service.js';

/** Proof that the caller is the account's owner now, not merely holding a session. */
export interface Reauth {
  currentPassword?: string;
  code?: string;
}

export interface MfaDeps {
  clock: Clock;
  issuer: string;
  users: UserRepository;
  factors: MfaFactorRepository;
  recoveryCodes: RecoveryCodeRepository;
  challenges: MfaChallengeRepository;
  check: SecondFactorCheck;
  credentials: CredentialVerifier;
  login: MfaLoginService;
  sessions: SessionService;
  limits: AccountRateLimits;
  mailer: Mailer;
  events: SecurityEvents;
}

const DEFAULT_TOTP_NAME = 'Authenticator app';

export function toFactorInfo(f: MfaFactorRow): MfaFactorInfo {
  return {
    id: f.id,
    kind: f.kind,
    name: f.name,
    createdAt: f.created_at.toISOString(),
    lastUsedAt: f.last_used_at ? f.last_used_at.toISOString() : null,
  };
}

/**
 * Managing an account's second factors. Every change needs a fresh proof of
 * ownership (re-auth): a stolen access token alone must not be able to add
 * an attacker's authenticator or remove the owner's.
 */
export class MfaService {
  constructor(private readonly d: MfaDeps) {}

  async list(sql: Sql, userId: string): Promise<{ factors: MfaFactorInfo[]; recoveryCodesLeft: number }> {
    const factors = await this.d.factors.listConfirmed(sql, userId);
    const left = factors.length > 0 ? await this.d.recoveryCodes.countUnused(sql, userId) : 0;
    return { factors: factors.map(toFactorInfo), recoveryCodesLeft: left };
  }

  /**
   * Checks the re-auth proof like a login would: the current password, or
   * (for an account with a second factor) a current TOTP or recovery code.
   * Counted toward the lockout, limited per account; REAUTH_REQUIRED without one.
   */
  async reauth(sql: Sql, user: UserRow, proof: Reauth, req: RequestInfo): Promise<void> {
    if (proof.currentPassword !== undefined) {
      await this.d.limits.consume(sql, req, 'password.user', user.id);
      await this.d.credentials.verify(sql, user.email, user, proof.currentPassword, req);
      return;
    }
    if (proof.code !== undefined && (await this.d.factors.countConfirmed(sql, user.id)) > 0) {
      await this.d.limits.consume(sql, req, 'mfa.user', user.id);
      await this.d.credentials.assertNotLocked(sql, user, req);
      const used = await sql.tx(async (tx) => {
        await this.d.users.lockById(tx, user.id);
        const method = await this.d.check.use(tx, user.id, proof.code!);
        if (method === 'kba') await this.d.login.recoveryCodeUsed(tx, user, req);
        return method;
      });
      if (used) return;
      await this.d.events.emit(sql, req, {
        type: 'mfa_failure',
        outcome: 'failure',
        userId: user.id,
        email: user.email,
        details: { reason: 'wrong_reauth_code' },
      });
      await this.d.credentials.recordSecondFactorFailure(sql, user, req, 'bad_second_factor');
      throw new AppError('INVALID_MFA_CODE');
    }
    throw new AppError('REAUTH_REQUIRED');
  }

  /** The account behind a session, with what re-auth needs (the session's own view leaves the hash out). */
  async account(sql: Sql, userId: string): Promise<UserRow> {
    const user = await this.d.users.findById(sql, userId);
    if (!user) throw new AppError('UNAUTHENTICATED');
    return user;
  }

  /** Starts a TOTP enrolment; the factor counts only once `confirmTotp` proves the app has the secret. */
  async enrollTotp(
    sql: Sql,
    userId: string,
    input: Reauth & { name?: string },
    req: RequestInfo,
  ): Promise<TotpEnrollment> {
    const user = await this.account(sql, userId);
    await this.reauth(sql, user, input, req);
    const secret = newTotpSecret().base32;
    const factorId = randomUUID();
    await sql.tx(async (tx) => {
      await this.d.factors.deleteUnconfirmed(tx, user.id);
      await this.d.factors.insertTotp(tx, {
        id: factorId,
        userId: user.id,
        name: input.name?.trim() || DEFAULT_TOTP_NAME,
        sealedSecret: this.d.check.sealSecret(secret),
      });
    });
    const otpauthUri = totpUri(secret, this.d.issuer, user.email);
    // Drawn here so a page needs no QR library and no script of its own for
    // it: plain paths, no script, no style attribute (a strict CSP allows it inline).
    const qrSvg = await QRCode.toString(otpauthUri, { type: 'svg' });
    return { factorId, secret, otpauthUri, qrSvg };
  }

  /** Confirms a TOTP enrolment with a code from the app. */
  async confirmTotp(
    sql: Sql,
    userId: string,
    sessionId: string,
    input: { factorId: string; code: string },
    req: RequestInfo,
  ): Promise<{ recoveryCodes: string[] | null }> {
    const user = await this.account(sql, userId);
    await this.d.limits.consume(sql, req, 'mfa.user', user.id);
    const factor = await this.d.factors.find(sql, user.id, input.factorId);
    if (!factor || factor.kind !== 'totp' || factor.confirmed_at || !factor.secret) throw new AppError('NOT_FOUND');
    const secret = this.d.check.openSecret(factor.secret);
    const step = secret ? matchTotp(secret, input.code.replace(/\s/g, ''), this.d.clock.now()) : null;
    const done = await sql.tx(async (tx) => {
      if (step === null || !(await this.d.factors.claimStep(tx, factor.id, step, this.d.clock.now()))) return null;
      if (!(await this.d.factors.confirm(tx, factor.id))) return null;
      return this.factorAdded(tx, user, sessionId, factor.id, 'totp', req);
    });
    if (!done) {
      await this.d.events.emit(sql, req, {
        type: 'mfa_failure',
        outcome: 'failure',
        userId: user.id,
        email: user.email,
        details: { reason: 'wrong_confirmation_code', factor_id: factor.id },
      });
      throw new AppError('INVALID_MFA_CODE');
    }
    return done;
  }

  /**
   * A confirmed factor joined the account (in the caller's transaction).
   * Every other session ends: whoever held one signed in without the new
   * factor. The first factor also brings recovery codes and a mail.
   */
  async factorAdded(
    tx: Sql,
    user: UserRow,
    sessionId: string,
    factorId: string,
    kind: 'totp' | 'passkey',
    req: RequestInfo,
  ): Promise<{ recoveryCodes: string[] | null }> {
    const first = (await this.d.factors.countConfirmed(tx, user.id)) === 1;
    const recoveryCodes = first ? await this.d.check.replaceRecoveryCodes(tx, user.id) : null;
    if (first) await this.d.mailer.enqueue(tx, { kind: 'mfa_enabled', to: user.email });
    const revoked = await this.d.sessions.revokeAll(tx, user.id, req, sessionId, 'mfa_enrolled');
    await this.d.events.emit(tx, req, {
      type: kind === 'passkey' ? 'passkey_registered' : 'mfa_enrolled',
      outcome: 'success',
      userId: user.id,
      email: user.email,
      details: { factor_id: factorId, kind, first, revoked_sessions: revoked },
    });
    return { recoveryCodes };
  }

  /** Removes a factor; the last one takes the recovery codes with it and turns two-step sign-in off. */
  async remove(
    sql: Sql,
    userId: string,
    input: Reauth & { factorId: string },
    req: RequestInfo,
  ): Promise<{ ok: true }> {
    const user = await this.account(sql, userId);
    const factor = await this.d.factors.find(sql, user.id, input.factorId);
    if (!factor) throw new AppError('NOT_FOUND');
    await this.reauth(sql, user, input, req);
    await sql.tx(async (tx) => {
      const removed = await this.d.factors.delete(tx, user.id, factor.id);
      if (!removed) throw new AppError('NOT_FOUND');
      const last = removed.confirmed_at !== null && (await this.d.factors.countConfirmed(tx, user.id)) === 0;
      if (last) {
        await this.d.recoveryCodes.deleteAll(tx, user.id);
        await this.d.mailer.enqueue(tx, { kind: 'mfa_disabled', to: user.email, byOperator: false });
      }
      await this.d.events.emit(tx, req, {
        type: 'mfa_removed',
        outcome: 'success',
        userId: user.id,
        email: user.email,
        details: { factor_id: factor.id, kind: factor.kind, last },
      });
    });
    return { ok: true };
  }

  async regenerateRecoveryCodes(
    sql: Sql,
    userId: string,
    input: Reauth,
    req: RequestInfo,
  ): Promise<{ recoveryCodes: string[] }> {
    const user = await this.account(sql, userId);
    if ((await this.d.factors.countConfirmed(sql, user.id)) === 0) {
      throw new AppError('NOT_FOUND', { message: 'Two-step sign-in is not on for this account' });
    }
    await this.reauth(sql, user, input, req);
    const recoveryCodes = await sql.tx(async (tx) => {
      const codes = await this.d.check.replaceRecoveryCodes(tx, user.id);
      await this.d.events.emit(tx, req, {
        type: 'recovery_codes_regenerated',
        outcome: 'success',
        userId: user.id,
        email: user.email,
      });
      return codes;
    });
    return { recoveryCodes };
  }

  /**
   * The operator's reset (in the caller's transaction): every factor and
   * recovery code goes, pending login challenges and sessions end, and the
   * owner is told.
   */
  async resetAll(tx: Sql, user: UserRow, req: RequestInfo, by: string): Promise<{ removed: number; revoked: number }> {
    const removed = await this.d.factors.deleteAll(tx, user.id);
    await this.d.recoveryCodes.deleteAll(tx, user.id);
    await this.d.challenges.endAll(tx, user.id, this.d.clock.now());
    const revoked = await this.d.sessions.revokeAll(tx, user.id, req, undefined, 'mfa_reset');
    await this.d.mailer.enqueue(tx, { kind: 'mfa_disabled', to: user.email, byOperator: true });
    await this.d.events.emit(tx, req, {
      type: 'mfa_reset',
      outcome: 'success',
      userId: user.id,
      email: user.email,
      details: { removed_factors: removed, revoked_sessions: revoked, by },
    });
    return { removed, revoked };
  }
}
