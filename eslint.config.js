// Lint rules that keep the layering of docs/architecture.md honest: each
// folder may import only what its row in the table allows.
import tseslint from 'typescript-eslint';

const restrict = (patterns) => ({ 'no-restricted-imports': ['error', { patterns }] });

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'client/dist/**', '.data/**', '.bench/**', 'migrations/**'] },
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
    rules: restrict([{ group: ['node:*', 'express', '@trpc/*', '@mikro-orm/*', '../server/*', '../client/*'], message: 'shared/ is browser-safe: zod only.' }]),
  },
  {
    files: ['server/config/**/*.ts'],
    rules: restrict([{ group: ['../db/*', '../services/*', '../trpc/*', '../http/*', '../security/*', '../email/*'], message: 'config reads the environment only.' }]),
  },
  {
    files: ['server/security/**/*.ts'],
    rules: restrict([{ group: ['../db/*', '../services/*', '../trpc/*', '../http/*', 'express', '@mikro-orm/*'], message: 'security primitives touch no database or transport.' }]),
  },
  {
    files: ['server/db/**/*.ts'],
    rules: restrict([{ group: ['../services/*', '../../services/*', '../trpc/*', '../../trpc/*', '../http/*', '../../http/*', 'express', '@trpc/*'], message: 'db/ knows nothing of services or transports.' }]),
  },
  {
    files: ['server/services/**/*.ts'],
    rules: restrict([{ group: ['../trpc/*', '../http/*', 'express', '@trpc/*'], message: 'services are transport-free.' }]),
  },
  {
    files: ['server/trpc/**/*.ts'],
    rules: restrict([{ group: ['**/db/entities/*', '**/db/repositories/*', 'express'], allowTypeImports: true, message: 'tRPC layer calls services, never repositories.' }]),
  },
  {
    files: ['server/http/**/*.ts'],
    rules: restrict([{ group: ['**/db/repositories/*', '**/trpc/routers/*'], message: 'HTTP routes call services.' }]),
  },
  {
    files: ['otel/**/*.ts'],
    rules: restrict([{ group: ['../server/*', '../shared/*'], message: 'otel/ loads before the app and imports none of it.' }]),
  },
  {
    files: ['client/src/**/*.ts'],
    rules: restrict([{ group: ['../../server/*', '../../server/**', 'node:*'], allowTypeImports: true, message: 'the client imports the server only as types.' }]),
  },
);
