import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The account page's script and its CSP hash. */
export interface AccountBundle {
  source: string;
  hash: string;
}

const here = path.dirname(fileURLToPath(import.meta.url));
/** Written by `npm run build` next to the compiled module: production has no bundler. */
export const PREBUILT_BUNDLE = 'account.bundle.js';

/**
 * Bundles the browser script with esbuild: the published client and the
 * page code, minified, one IIFE. `</script` is escaped because the bundle
 * is served inline.
 */
export async function buildAccountBundle(): Promise<string> {
  const { build } = await import('esbuild');
  const entry = ['account.browser.ts', 'account.browser.js'].map((f) => path.join(here, f)).find((f) => existsSync(f));
  if (!entry) throw new Error('account page script not found next to account-bundle');
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2020',
    minify: true,
    legalComments: 'none',
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text.replace(/<\/(script)/gi, '<\\/$1');
}

let loading: Promise<AccountBundle> | undefined;

/** The bundle, built (or read) once per process, on the first request for the page. */
export function accountBundle(): Promise<AccountBundle> {
  loading ??= (async () => {
    const prebuilt = path.join(here, PREBUILT_BUNDLE);
    const source = existsSync(prebuilt) ? readFileSync(prebuilt, 'utf8') : await buildAccountBundle();
    return { source, hash: `sha256-${createHash('sha256').update(source, 'utf8').digest('base64')}` };
  })();
  loading.catch(() => {
    loading = undefined; // let a later request try again
  });
  return loading;
}
