// Lint enforces the boundaries of STYLE.md; formatting and taste are not its job.
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

const SERVICES = ['ledger', 'gateway', 'scheduler', 'executor', 'collector', 'transformer', 'alerter', 'cost-tracker'];
const INFRA = ['@nestjs/*', 'kysely', 'pg', '@nats-io/*', 'prom-client'];

const entryOnly = [
  { group: ['@steward/*/src', '@steward/*/src/**', '@steward/*/dist', '@steward/*/dist/**'], message: 'Import another package through its entry point (@steward/x), never its files.' },
  { regex: '^(\\.\\./)+(libs|services|cli)/', message: 'Reach other packages through @steward/x, not relative paths.' },
  { regex: `^(\\.\\./){2,}(${SERVICES.join('|')})(/|$)`, message: 'Services never import each other; share code through libs/.' },
];

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '.toolchain/**', '.data/**', 'coverage/**', '**/*.js', '**/*.mjs', '**/*.cjs'] },
  {
    files: ['**/*.ts'],
    languageOptions: { parser: tseslint.parser, ecmaVersion: 2023, sourceType: 'module' },
    plugins: { 'import-x': importX, '@typescript-eslint': tseslint.plugin },
    settings: {
      'import-x/extensions': ['.ts'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: 'tsconfig.test.json' })] },
    rules: {
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'no-restricted-imports': ['error', { patterns: entryOnly }],
      'no-debugger': 'error',
      'no-var': 'error',
    },
  },
  {
    files: ['libs/contracts/**/*.ts'],
    ignores: ['**/*.spec.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [...entryOnly, { group: ['@steward/*', ...INFRA], message: 'libs/contracts imports nothing of ours and no infrastructure.' }] }],
    },
  },
  {
    files: ['libs/**/*.ts'],
    ignores: ['**/*.spec.ts', 'libs/testing/**', 'libs/contracts/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [...entryOnly, { group: ['@steward/testing', ...SERVICES.map((s) => `@steward/${s}`)], message: 'Libraries import neither services nor test helpers.' }] }],
    },
  },
  ...SERVICES.map((service) => ({
    files: [`services/${service}/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ...entryOnly,
            { group: SERVICES.filter((s) => s !== service).map((s) => `@steward/${s}`), message: 'Services never import each other; share code through libs/.' },
          ],
        },
      ],
    },
  })),
  {
    // The domain is plain functions: no framework, database, broker or clock.
    files: ['**/*.decide.ts', '**/*.evolve.ts', '**/*.events.ts', '**/*.domain.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [...entryOnly, { group: INFRA, message: 'Domain files import no framework, database or broker: pass what they need as inputs.' }] }],
      'no-restricted-syntax': [
        'error',
        { selector: "CallExpression[callee.object.name='Date'][callee.property.name='now']", message: 'Time arrives as an input in domain code.' },
        { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'Time arrives as an input in domain code.' },
        { selector: "CallExpression[callee.object.name='Math'][callee.property.name='random']", message: 'Randomness arrives as an input in domain code.' },
      ],
    },
  },
);
