import { randomBytes } from 'node:crypto';
import type { Response } from 'express';
import { html, trusted, type SafeHtml } from './html.js';

/**
 * One stylesheet for every page, inline under the response's nonce: no
 * external asset to fetch, fail or be swapped. Readable at 320 px (fluid
 * width, large targets), visible keyboard focus, AA contrast.
 */
const STYLE = `
*,*::before,*::after{box-sizing:border-box}
html{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;line-height:1.5;color:#1b1b1b;background:#fff}
body{margin:0}
main{max-width:40rem;margin:0 auto;padding:1.25rem 1rem 3rem}
h1{font-size:1.6rem;line-height:1.25;margin:.5rem 0 1rem}
h2{font-size:1.25rem;margin:2rem 0 .75rem}
p,ul{margin:0 0 1rem}
a{color:#0b4fa8}
label{display:block;font-weight:600;margin:1rem 0 .25rem}
input{display:block;width:100%;font:inherit;padding:.6rem .7rem;border:2px solid #5c5c5c;border-radius:.35rem;background:#fff;color:#1b1b1b}
button{font:inherit;font-weight:600;padding:.65rem 1.1rem;margin-top:1rem;border:2px solid #0b4fa8;border-radius:.35rem;background:#0b4fa8;color:#fff;cursor:pointer;min-height:2.75rem}
button.secondary{background:#fff;color:#0b4fa8}
:focus-visible{outline:3px solid #b35900;outline-offset:2px}
.hint{color:#4a4a4a;font-size:.95rem;margin:.25rem 0 0}
.notice{border-left:.35rem solid #0b4fa8;background:#eef4fc;padding:.75rem 1rem;margin:1rem 0}
.error{border-left:.35rem solid #a30000;background:#fdf0f0;padding:.75rem 1rem;margin:1rem 0;color:#5c0000}
.success{border-left:.35rem solid #1e6b2f;background:#eef8f0;padding:.75rem 1rem;margin:1rem 0;color:#123f1c}
.sessions{list-style:none;padding:0}
.sessions li{border:1px solid #c4c4c4;border-radius:.35rem;padding:.75rem 1rem;margin:0 0 .75rem;overflow-wrap:anywhere}
.tag{display:inline-block;font-size:.85rem;font-weight:700;background:#1e6b2f;color:#fff;border-radius:.25rem;padding:0 .4rem;margin-left:.4rem}
.qr svg{width:12rem;height:12rem;max-width:100%;display:block;margin:.5rem 0}
.actions{display:flex;flex-wrap:wrap;gap:0 .75rem}
.panel{border:2px solid #0b4fa8;border-radius:.35rem;padding:0 1rem 1rem;margin:1rem 0}
h3{font-size:1.1rem;margin:1rem 0 .5rem}
.codes{font-family:ui-monospace,Menlo,Consolas,monospace;columns:2 9rem}
code,.secret{font-family:ui-monospace,Menlo,Consolas,monospace;overflow-wrap:anywhere}
[hidden]{display:none !important}
`;

export interface PageOptions {
  title: string;
  body: SafeHtml;
  /**
   * An inline script allowed by its SHA-256 hash (the account page's bundle,
   * built with `</script` escaped, so it is safe as the element's text).
   */
  script?: { source: string; hash: string };
}

function contentSecurityPolicy(nonce: string, scriptHash?: string): string {
  return [
    "default-src 'none'",
    `style-src 'nonce-${nonce}'`,
    ...(scriptHash ? [`script-src '${scriptHash}'`, "connect-src 'self'"] : []),
    // Forms post only back to this service: an injected form cannot send a
    // password or token elsewhere.
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
}

/**
 * Sends a page with its own CSP: a fresh nonce per response for the inline
 * stylesheet, the script (if any) by hash, nothing else loadable. Pages
 * with a token or a session are never cached.
 */
export function sendPage(res: Response, status: number, opts: PageOptions): void {
  const nonce = randomBytes(16).toString('base64');
  res.setHeader('Content-Security-Policy', contentSecurityPolicy(nonce, opts.script?.hash));
  res.setHeader('Cache-Control', 'no-store');
  // Not the API's no-referrer: under it a browser sends `Origin: null` with
  // a form post or fetch, and the origin check could not tell our own pages
  // from a forgery. strict-origin still never sends a path (a link's token).
  res.setHeader('Referrer-Policy', 'strict-origin');
  res
    .status(status)
    .type('html')
    .send(
      html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${opts.title} · secure-auth</title>
<style nonce="${nonce}">${STYLE}</style>
</head>
<body>
<main id="main">
${opts.body}
</main>
${opts.script ? html`<script>${trusted(opts.script.source)}</script>` : ''}
</body>
</html>
`.value,
    );
}
