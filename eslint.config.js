// Lint rules that keep the layering of docs/architecture.md honest: each
// folder may import only what its row in the table allows. Patterns use `**/`
// so a file in a subfolder is held to the same rule as its parent.
import tseslint from 'typescript-eslint';

const restrict = (message, group, extra = {}) => ({
  'no-restricted-imports': ['error', { patterns: [{ group, message, ...extra }] }],
});

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'client/dist/**', '.data/**', '.bench/**', 'bench/peers/**'] },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.base],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false }],
      '@typescript-eslint/no-floating-promises': 'error',
    },
  },
  {
    files: ['shared/**/*.ts'],
    rules: restrict('shared/ is browser-safe: zod only.', ['node:*', 'express', '@trpc/*', '@mikro-orm/*', '**/server/**', '**/client/**']),
  },
  {
    files: ['server/config/**/*.ts'],
    rules: restrict('config reads the environment only.', [
      '**/db/**', '**/services/**', '**/trpc/**', '**/http/**', '**/security/**', '**/email/**', '**/rate-limit/**',
    ]),
  },
  {
    files: ['server/security/**/*.ts'],
    rules: restrict('security primitives touch no database or transport.', [
      '**/db/**', '**/services/**', '**/trpc/**', '**/http/**', '**/email/**', 'express', '@mikro-orm/*',
    ]),
  },
  {
    files: ['server/db/**/*.ts'],
    rules: restrict('db/ knows nothing of services or transports.', [
      '**/services/**', '**/trpc/**', '**/http/**', '**/email/**', '**/rate-limit/**', 'express', '@trpc/*',
    ]),
  },
  {
    files: ['server/services/**/*.ts'],
    rules: restrict('services are transport-free.', ['**/trpc/**', '**/http/**', '**/cli/**', 'express', '@trpc/*']),
  },
  {
    files: ['server/trpc/**/*.ts'],
    rules: restrict('the tRPC layer calls services, never repositories or entities.', [
      '**/db/entities/**', '**/db/repositories/**', '**/db/pool*', 'express', '@mikro-orm/*',
    ], { allowTypeImports: true }),
  },
  {
    files: ['server/http/**/*.ts'],
    rules: restrict('HTTP routes call services.', [
      '**/db/entities/**', '**/db/repositories/**', '**/trpc/routers/**', '@mikro-orm/*',
    ], { allowTypeImports: true }),
  },
  {
    files: ['server/email/**/*.ts', 'server/observability/**/*.ts'],
    rules: restrict('email and observability sit below the services and know no transport.', [
      '**/services/**', '**/trpc/**', '**/http/**', '**/cli/**', 'express', '@trpc/*',
    ]),
  },
  {
    files: ['server/rate-limit/**/*.ts'],
    rules: restrict('rate-limit stores import config types and security only.', [
      '**/services/**', '**/trpc/**', '**/http/**', '**/db/**', '**/email/**', '**/cli/**', 'express',
    ]),
  },
  {
    files: ['server/cli/**/*.ts'],
    rules: restrict('the CLI calls services through deps.ts, like the admin API.', [
      '**/db/entities/**', '**/db/repositories/**', '**/trpc/**', '**/http/**',
    ], { allowTypeImports: true }),
  },
  {
    files: ['migrations/**/*.ts'],
    rules: restrict('a migration is frozen SQL: it never imports the entities or the app.', [
      '**/server/**', '**/shared/**', '@mikro-orm/core', '@mikro-orm/postgresql',
    ]),
  },
  {
    files: ['otel/**/*.ts'],
    rules: restrict('otel/ loads before the app and imports none of it.', ['../server/**', '../shared/**']),
  },
  {
    files: ['client/src/**/*.ts'],
    rules: restrict('the client imports the server only as types.', ['../../server/**', '../server/**', 'node:*'], { allowTypeImports: true }),
  },
);
