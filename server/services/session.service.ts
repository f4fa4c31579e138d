import type { AccessClaims, AuthMethod, SessionInfo, TokenPair } from '../../shared/dto.js';
import type { RefreshTokenRepository, RefreshTokenRow } from '../db/repositories/refresh-token.repository.js';
import type { SessionUser, UserRepository, UserRow } from '../db/repositories/user.repository.js';
import type { SessionCheckBatcher } from '../db/session-check-batcher.js';
import type { Sql } from '../db/sql.js';
import { AppError } from '../errors.js';
import type { RequestInfo, SecurityEvents } from '../observability/security-events.js';
import type { Metrics } from '../observability/metrics.js';
import { AccessTokenError, type AccessTokenService } from '../security/access-token.js';
import type { Clock } from '../security/clock.js';
import type { ParsedRefreshToken, RefreshTokenCodec } from '../security/opaque-token.js';
import { toPublicUser } from './user-dto.js';

export interface SessionSettings {
  refreshTtlSeconds: number;
  sessionMaxSeconds: number;
  reuseGraceSeconds: number;
}

export interface AuthenticatedUser {
  user: SessionUser;
  claims: AccessClaims;
}

/** What a refresh attempt found, decided inside the transaction, acted on after it. */
type RotationOutcome =
  | {
      kind: 'rotated';
      user: UserRow;
      token: string;
      row: { expires_at: Date; family_id: string; amr: string | null };
      now: Date;
    }
  | { kind: 'invalid' }
  | { kind: 'reused'; row: Pick<RefreshTokenRow, 'family_id' | 'user_id'>; generation: number };

/**
 * Sessions are refresh-token families. Issues token pairs, rotates refresh
 * tokens with reuse detection, ends sessions, and authenticates access tokens
 * with the one-query live-session check.
 */
export class SessionService {
  constructor(
    private readonly d: {
      settings: SessionSettings;
      clock: Clock;
      users: UserRepository;
      refreshTokens: RefreshTokenRepository;
      codec: RefreshTokenCodec;
      accessTokens: AccessTokenService;
      events: SecurityEvents;
      metrics: Metrics;
      /** Session checks of concurrent calls, sent together. */
      sessionChecks: SessionCheckBatcher;
    },
  ) {}

  /**
   * A new session (family, generation 0) and its first token pair. `amr`
   * names how the login was made; every token of the session carries it.
   */
  async start(sql: Sql, user: UserRow, req: RequestInfo, amr: readonly AuthMethod[] = ['pwd']): Promise<TokenPair> {
    const now = this.d.clock.now();
    const { id, token, tokenHash } = this.d.codec.create();
    const familyExpiresAt = new Date(now.getTime() + this.d.settings.sessionMaxSeconds * 1000);
    const expiresAt = this.slidingExpiry(now, familyExpiresAt);
    await this.d.refreshTokens.insert(sql, {
      id,
      userId: user.id,
      familyId: id,
      parentId: null,
      generation: 0,
      tokenHash,
      createdAt: now,
      expiresAt,
      familyExpiresAt,
      userAgent: req.userAgent?.slice(0, 512) ?? null,
      ip: req.ip,
      amr: amr.join(','),
    });
    return this.pair(user, id, token, expiresAt, now, amr.join(','));
  }

  async refresh(sql: Sql, presented: string, req: RequestInfo): Promise<TokenPair> {
    const parsed = this.d.codec.parse(presented);
    if (!parsed) throw new AppError('INVALID_REFRESH_TOKEN');
    const outcome = await sql.tx(async (tx) => {
      const o = await this.rotate(tx, parsed, req);
      // Recorded in the rotation's own transaction: one commit per refresh.
      if (o.kind === 'rotated') {
        await this.d.events.emit(tx, req, {
          type: 'token_refresh',
          outcome: 'success',
          userId: o.user.id,
          details: { session_id: o.row.family_id },
        });
      }
      return o;
    });
    switch (outcome.kind) {
      case 'invalid':
        throw new AppError('INVALID_REFRESH_TOKEN');
      case 'reused': {
        // Outside the rotation transaction: the revocation must commit even
        // though the caller gets an error.
        const now = this.d.clock.now();
        await this.d.refreshTokens.revokeFamily(sql, outcome.row.family_id, 'reuse', now);
        this.d.metrics.refreshTokenReuse.inc();
        await this.d.events.emit(sql, req, {
          type: 'refresh_token_reuse',
          outcome: 'failure',
          userId: outcome.row.user_id,
          details: { session_id: outcome.row.family_id, generation: outcome.generation },
        });
        throw new AppError('REFRESH_TOKEN_REUSED');
      }
      case 'rotated':
        return this.pair(
          outcome.user,
          outcome.row.family_id,
          outcome.token,
          outcome.row.expires_at,
          outcome.now,
          outcome.row.amr,
        );
    }
  }

  private async rotate(tx: Sql, presented: ParsedRefreshToken, req: RequestInfo): Promise<RotationOutcome> {
    const now = this.d.clock.now();
    // Taken before the claim, so a revocation of this session waits for this rotation or it for the revocation.
    if (presented.familyId) await this.d.refreshTokens.lockFamily(tx, presented.familyId, 'shared');
    const claimed = await this.d.refreshTokens.claimForRotation(tx, presented.tokenHash, now);
    if (claimed) {
      const next = this.d.codec.create({ familyId: claimed.family_id, generation: claimed.generation + 1 });
      const expiresAt = this.slidingExpiry(now, claimed.family_expires_at);
      const user = await this.d.refreshTokens.insertSuccessor(
        tx,
        {
          id: next.id,
          userId: claimed.user_id,
          familyId: claimed.family_id,
          parentId: claimed.id,
          generation: next.generation,
          tokenHash: next.tokenHash,
          createdAt: now,
          expiresAt,
          familyExpiresAt: claimed.family_expires_at,
          userAgent: req.userAgent?.slice(0, 512) ?? claimed.user_agent,
          ip: req.ip ?? claimed.ip,
          amr: claimed.amr,
        },
        claimed.generation,
      );
      if (!user) {
        // Disabled or deleted since login: no successor was inserted.
        await this.d.refreshTokens.revokeFamily(tx, claimed.family_id, 'user_inactive', now);
        return { kind: 'invalid' };
      }
      return {
        kind: 'rotated',
        user,
        token: next.token,
        row: { expires_at: expiresAt, family_id: claimed.family_id, amr: claimed.amr },
        now,
      };
    }

    // Not the live token. Which session and generation it names comes from
    // the token itself (under its MAC), so a replay is recognised without a
    // row of its own; only tokens of the first layout need their row.
    let familyId = presented.familyId;
    let generation = presented.generation;
    if (familyId === undefined || generation === undefined) {
      const row = await this.d.refreshTokens.findByHash(tx, presented.tokenHash);
      if (!row) return { kind: 'invalid' };
      familyId = row.family_id;
      generation = row.generation;
    }
    const live = await this.d.refreshTokens.findLive(tx, familyId);
    // An ended session (logout, revocation, reuse) or an expired token: nothing to steal.
    if (!live || live.expires_at <= now || generation >= live.generation) return { kind: 'invalid' };
    // The grace covers only the direct predecessor of the live token, within
    // REFRESH_REUSE_GRACE_SECONDS of its rotation (two tabs, or a lost
    // response): the same successor again, never a second branch. The live
    // token is unused by definition; once it is rotated in turn, its
    // predecessor is no longer this one.
    const sinceRotation = (now.getTime() - live.created_at.getTime()) / 1000;
    const predecessor = live.parent_id === presented.id && generation === live.generation - 1;
    if (!predecessor || sinceRotation > this.d.settings.reuseGraceSeconds) {
      return { kind: 'reused', row: live, generation };
    }
    const token = this.d.codec.rederive(
      { id: live.id, familyId: live.family_id, generation: live.generation },
      live.token_hash,
    );
    const user = await this.d.users.findById(tx, live.user_id);
    if (!token || !user || !user.is_active) return { kind: 'invalid' };
    return { kind: 'rotated', user, token, row: live, now };
  }

  /** Ends the session a refresh token belongs to. Idempotent; unknown tokens are fine. */
  async logout(sql: Sql, presented: string, req: RequestInfo): Promise<void> {
    const parsed = this.d.codec.parse(presented);
    if (!parsed) return;
    // Any token of the session ends it (an already-rotated one too); its row may be gone.
    // A token that names its family ends that family directly: looking for the live
    // row first would find none while a rotation is between marking the old token
    // used and committing its successor, and the logout would end nothing.
    let familyId = parsed.familyId;
    if (!familyId) familyId = (await this.d.refreshTokens.findByHash(sql, parsed.tokenHash))?.family_id;
    if (!familyId) return;
    const { ended, userId } = await this.d.refreshTokens.revokeFamilyOf(sql, familyId, 'logout', this.d.clock.now());
    if (ended && userId) {
      await this.d.events.emit(sql, req, {
        type: 'logout',
        outcome: 'success',
        userId,
        details: { session_id: familyId },
      });
    }
  }

  /**
   * Verifies an access token and checks, in one indexed query, that its user
   * is active, its session_version current and its session live (a query
   * shared with the calls checked at the same moment; see SessionCheckBatcher).
   */
  async authenticate(sql: Sql, accessToken: string, req?: RequestInfo): Promise<AuthenticatedUser> {
    let claims: AccessClaims;
    try {
      claims = await this.d.accessTokens.verify(accessToken);
    } catch (err) {
      if (err instanceof AccessTokenError) throw new AppError('UNAUTHENTICATED');
      throw err;
    }
    const user = await this.d.sessionChecks.check({
      userId: claims.sub,
      sessionVersion: claims.sv,
      familyId: claims.sid,
    });
    if (!user) {
      // Signed by us, yet its session ended or its session_version is old: a
      // stolen or leftover token in use. Audited once per session a minute,
      // so a client retrying in a loop is one row, not a flood.
      if (req && this.revokedUseNoted(claims.sid)) {
        await this.d.events.emit(sql, req, {
          type: 'revoked_token_used',
          outcome: 'failure',
          userId: claims.sub,
          details: { session_id: claims.sid, token_id: claims.jti },
        });
      }
      throw new AppError('UNAUTHENTICATED');
    }
    return { user, claims };
  }

  private readonly revokedUses = new Map<string, number>();

  /** True when this session's revoked-token use was not audited in the last minute (bounded memory). */
  private revokedUseNoted(sessionId: string): boolean {
    const now = this.d.clock.now().getTime();
    const last = this.revokedUses.get(sessionId);
    if (last !== undefined && now - last < 60_000) return false;
    this.revokedUses.delete(sessionId);
    this.revokedUses.set(sessionId, now);
    if (this.revokedUses.size > 10_000) this.revokedUses.delete(this.revokedUses.keys().next().value!);
    return true;
  }

  async list(sql: Sql, userId: string, currentSessionId: string): Promise<SessionInfo[]> {
    const rows = await this.d.refreshTokens.listSessions(sql, userId, this.d.clock.now());
    return rows.map((r) => ({
      id: r.family_id,
      createdAt: r.created_at.toISOString(),
      lastUsedAt: r.last_used_at.toISOString(),
      userAgent: r.user_agent,
      ip: r.ip,
      current: r.family_id === currentSessionId,
    }));
  }

  async revoke(sql: Sql, userId: string, sessionId: string, req: RequestInfo): Promise<void> {
    // Another user's session id answers exactly like an unknown one.
    if (!(await this.d.refreshTokens.familyBelongsTo(sql, sessionId, userId))) throw new AppError('NOT_FOUND');
    const ended = await this.d.refreshTokens.revokeFamily(sql, sessionId, 'revoked', this.d.clock.now());
    if (ended) {
      await this.d.events.emit(sql, req, {
        type: 'session_revoked',
        outcome: 'success',
        userId,
        details: { session_id: sessionId },
      });
    }
  }

  async revokeAll(
    sql: Sql,
    userId: string,
    req: RequestInfo,
    exceptSessionId?: string,
    reason = 'revoked',
  ): Promise<number> {
    const revoked = await this.d.refreshTokens.revokeAllForUser(
      sql,
      userId,
      reason,
      this.d.clock.now(),
      exceptSessionId,
    );
    if (revoked > 0) {
      await this.d.events.emit(sql, req, {
        type: 'session_revoked',
        outcome: 'success',
        userId,
        details: { sessions: revoked, all: true, reason },
      });
    }
    return revoked;
  }

  private slidingExpiry(now: Date, familyExpiresAt: Date): Date {
    return new Date(Math.min(now.getTime() + this.d.settings.refreshTtlSeconds * 1000, familyExpiresAt.getTime()));
  }

  /** `now` is the instant the refresh expiry was computed from, so refreshExpiresIn is exact, not a second short. */
  private async pair(
    user: UserRow,
    sessionId: string,
    refreshToken: string,
    refreshExpiresAt: Date,
    now: Date,
    amr: string | null,
  ): Promise<TokenPair> {
    const accessToken = await this.d.accessTokens.issue({
      amr: amr ? (amr.split(',') as AuthMethod[]) : ['pwd'],
      userId: user.id,
      sessionId,
      sessionVersion: user.session_version,
      isSuperuser: user.is_superuser,
    });
    return {
      accessToken,
      refreshToken,
      tokenType: 'Bearer',
      expiresIn: Math.round(this.d.accessTokens.ttlSeconds),
      refreshExpiresIn: Math.max(0, Math.floor((refreshExpiresAt.getTime() - now.getTime()) / 1000)),
      user: toPublicUser(user),
    };
  }
}
