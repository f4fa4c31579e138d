import { defineConfig } from 'tsup';

// Plain JS so the linter's TypeScript project service needs no tsconfig entry for it.

/**
 * ESM + CJS bundles and self-contained declarations. Relative imports
 * (the project's shared/ and the AppRouter type from server/) are inlined;
 * only the peer dependencies @trpc/client and @trpc/server stay imports.
 */
export default defineConfig({
  entry: { index: 'src/index.ts' },
  format: ['esm', 'cjs'],
  platform: 'neutral',
  target: 'es2022',
  dts: true,
  clean: true,
  sourcemap: false,
  splitting: false,
  treeshake: true,
  tsconfig: 'tsconfig.json',
  external: ['@trpc/client', '@trpc/server'],
});
