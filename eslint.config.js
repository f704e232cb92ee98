// Type-aware lint for every workspace: a floating promise on a Kafka or Redis path is a lost
// purchase waiting to happen, so those rules are errors.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '**/.turbo/**', 'infra/.cache/**', '**/*.config.*'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: globals.node,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/only-throw-error': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // The domain is pure: decisions over values, I/O behind ports it declares. An adapter, a server,
    // a client library or a logger imported here would make it untestable without servers.
    files: ['services/*/src/domain/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            'fastify',
            'ioredis',
            'pg',
            'mssql',
            'kafkajs',
            'ws',
            'pino',
            'prom-client',
            'node:fs',
            'node:http',
            'node:child_process',
            '@buy-now/kafka',
            '@buy-now/read-model',
            '@buy-now/sql-schema',
            '@buy-now/observability',
          ].map((name) => ({
            name,
            message: 'the domain does no I/O: declare a port in domain/ and implement it in adapters/',
          })),
          patterns: [
            {
              group: ['**/adapters/**', '@fastify/*', 'fastify-*'],
              message: 'the domain does no I/O: declare a port in domain/ and implement it in adapters/',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
);
