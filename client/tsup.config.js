import { defineConfig } from 'tsup';

// Plain JS so the linter's TypeScript project service needs no tsconfig entry for it.

const common = {
  format: ['esm', 'cjs'],
  platform: 'neutral',
  target: 'es2022',
  dts: true,
  sourcemap: false,
  splitting: false,
  treeshake: true,
  tsconfig: 'tsconfig.json',
};

/**
 * ESM + CJS bundles and self-contained declarations. Relative imports
 * (the project's shared/ and the AppRouter type from server/) are inlined;
 * only the peer dependencies @trpc/client and @trpc/server stay imports.
 * Two builds, not two entries of one: shared declaration chunks would make
 * index.d.ts depend on a generated file. `browser` wraps
 * @simplewebauthn/browser for passkeys; `index` stays free of it.
 */
export default defineConfig([
  { ...common, entry: { index: 'src/index.ts' }, clean: true, external: ['@trpc/client', '@trpc/server'] },
  {
    ...common,
    entry: { browser: 'src/browser.ts' },
    clean: false,
    external: ['@trpc/client', '@trpc/server', '@simplewebauthn/browser'],
  },
]);
