/**
 * `npm run build` step: bundles the account page's script into dist/, next
 * to the compiled page module. The production image has no bundler (its
 * esbuild binary is an optional package it omits), so the service reads
 * this file there; from source (`npm start`) it bundles on first request.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildAccountBundle, PREBUILT_BUNDLE } from './account-bundle.js';

const outDir = path.resolve('dist/server/http/pages/account');
mkdirSync(outDir, { recursive: true });
const source = await buildAccountBundle();
writeFileSync(path.join(outDir, PREBUILT_BUNDLE), source);
console.log(
  `wrote ${path.relative(process.cwd(), path.join(outDir, PREBUILT_BUNDLE))} (${Buffer.byteLength(source)} bytes)`,
);
