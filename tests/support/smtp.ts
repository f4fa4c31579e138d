import { SMTPServer } from 'smtp-server';

export interface CapturedMail {
  from: string;
  to: string[];
  raw: string;
  subject: string;
  /** The body with RFC 5322 soft line breaks and QP escapes undone. */
  text: string;
  receivedAt: Date;
}

function decodeBody(raw: string): { subject: string; text: string } {
  const [head = '', ...rest] = raw.split(/\r?\n\r?\n/);
  const subject = /^Subject: (.*)$/im.exec(head)?.[1]?.trim() ?? '';
  let body = rest.join('\n\n');
  if (/Content-Transfer-Encoding: quoted-printable/i.test(head)) {
    body = body
      .replace(/=\r?\n/g, '')
      .replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
  } else if (/Content-Transfer-Encoding: base64/i.test(head)) {
    body = Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  }
  return { subject, text: body };
}

/**
 * A real SMTP server on loopback that keeps every message. `stop()` and
 * `start()` on the same port simulate a mail outage.
 */
export class SmtpCapture {
  readonly messages: CapturedMail[] = [];
  private server?: SMTPServer;
  private waiters: Array<() => void> = [];
  port = 0;

  async start(port = this.port): Promise<void> {
    this.server = new SMTPServer({
      secure: false,
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onAuth: (_auth, _session, cb) => cb(null, { user: 'test' }),
      onData: (stream, session, cb) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          const { subject, text } = decodeBody(raw);
          this.messages.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            raw,
            subject,
            text,
            receivedAt: new Date(),
          });
          const w = this.waiters;
          this.waiters = [];
          w.forEach((f) => f());
          cb();
        });
      },
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.server.address() as { port: number }).port;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  /** Waits for a message to `to` whose subject matches; fails after `timeoutMs`. */
  async waitFor(to: string, subject: string | RegExp, timeoutMs = 15_000): Promise<CapturedMail> {
    const deadline = Date.now() + timeoutMs;
    const matches = (m: CapturedMail) =>
      m.to.includes(to.toLowerCase()) &&
      (typeof subject === 'string' ? m.subject === subject : subject.test(m.subject));
    for (;;) {
      const found = [...this.messages].reverse().find(matches);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no mail to ${to} with subject ${String(subject)} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 250));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  all(to: string, subject?: string): CapturedMail[] {
    return this.messages.filter(
      (m) => m.to.includes(to.toLowerCase()) && (subject === undefined || m.subject === subject),
    );
  }
}

/** The token of the first link in a message with the given path. */
export function linkToken(mail: CapturedMail, path: 'verify-email' | 'reset-password'): string {
  const m = new RegExp(`/${path}\\?token=([A-Za-z0-9_-]+)`).exec(mail.text);
  if (!m) throw new Error(`no ${path} link in mail "${mail.subject}"`);
  return m[1]!;
}
