import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  // Single-file components need eslint-plugin-vue to parse; vue-tsc type-checks them instead (npm run typecheck).
  { ignores: ['node_modules/', 'data/', 'dist/', 'dashboard/dist/', 'dashboard/**/*.vue', 'coverage/', 'bench/results/', 'test-output/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': ['error', { allow: ['error', 'warn'] }],
    },
  },
  {
    files: ['**/*.ts'],
    languageOptions: { globals: { ...globals.node } },
  },
  {
    files: ['server/public/**/*.js', 'dashboard/src/**/*.{js,ts}'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    files: ['bench/**', 'simulators/main.ts', 'server/main.ts', 'server/banner.ts', 'config/cli.ts', 'dashboard/build.ts'],
    rules: { 'no-console': 'off' },
  },
);
