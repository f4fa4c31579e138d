import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import nodemailer, { type Transporter } from 'nodemailer';
import type { SmtpConfig } from '../config/config.js';
import type { Logger } from '../observability/logger.js';
import type { MailMessage } from './templates.js';

/** Delivers one message or throws; retries are the outbox worker's job. */
export interface MailTransport {
  send(from: string, message: MailMessage): Promise<void>;
  close(): void;
}

export function smtpTransport(smtp: SmtpConfig): MailTransport {
  const transporter: Transporter = nodemailer.createTransport({
    host: smtp.host,
    port: smtp.port,
    secure: smtp.secure,
    auth: smtp.user ? { user: smtp.user, pass: smtp.password ?? '' } : undefined,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 20_000,
  });
  return {
    async send(from, m) {
      // An address object, not a string: nodemailer parses a string as an
      // address list ("x<a@b>" or "x,a@b" would reach a@b), and the message
      // must go to exactly the address stored on the account.
      await transporter.sendMail({ from, to: { name: '', address: m.to }, subject: m.subject, text: m.text });
    },
    close: () => transporter.close(),
  };
}

/**
 * Development outbox: each message becomes an .eml file in .data/outbox/ and
 * its link is logged at debug level, so `npm start` needs no mail server.
 * The file is plain 8-bit RFC 5322 text (not quoted-printable) so a link can
 * be copied or grepped from it as is. Never used in production (config
 * refuses to start without SMTP there).
 */
export function fileTransport(dir: string, logger: Logger): MailTransport {
  let seq = 0;
  return {
    async send(from, m) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const now = new Date();
      const eml = [
        `From: ${from}`,
        `To: ${m.to}`,
        `Subject: ${m.subject}`,
        `Date: ${now.toUTCString()}`,
        'MIME-Version: 1.0',
        'Content-Type: text/plain; charset=utf-8',
        'Content-Transfer-Encoding: 8bit',
        '',
        m.text,
      ].join('\n');
      const slug = m.subject.replace(/\W+/g, '-').toLowerCase();
      const file = path.join(
        dir,
        `${now.toISOString().replace(/[:.]/g, '-')}-${String(seq++).padStart(4, '0')}-${slug}.eml`,
      );
      writeFileSync(file, eml, { mode: 0o600 });
      logger.debug({ msg: 'mail written to outbox', file, to: m.to, subject: m.subject, link: m.link });
    },
    close: () => undefined,
  };
}
