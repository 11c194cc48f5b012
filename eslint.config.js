// Type-checked lint for the whole project (src, test, bench).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.tmp/', 'eslint.config.js', 'test/run.mjs', '.ci/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite', 'before', 'after', 'beforeEach', 'afterEach'] },
          ],
        },
      ],
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Only src/main.ts reads process.env; pass an env object.' },
        { object: 'process', property: 'argv', message: 'Only src/main.ts reads process.argv.' },
      ],
      'no-restricted-globals': ['error', { name: 'setInterval', message: 'Use the scheduler and the injected clock.' }],
    },
  },
  {
    // The simulators are for the demo and the tests: the device's code never imports them, and
    // the device image leaves them out.
    files: ['src/**'],
    ignores: ['src/sim/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [{ group: ['**/sim', '**/sim/**'], message: 'src/sim (the simulators) is for the demo and tests only; the device image does not contain it.' }],
          // Loaded as ES modules these pull in Node's own bundled undici or WebCrypto (src/lib/builtins.ts, src/lib/http.ts).
          paths: [
            { name: 'node:http', allowTypeImports: true, message: 'Use nodeHttp() from src/lib/builtins.ts.' },
            { name: 'node:crypto', allowTypeImports: true, message: 'Use nodeCrypto() from src/lib/builtins.ts.' },
            { name: 'undici', allowTypeImports: true, message: 'Use createDispatcher() from src/lib/http.ts.' },
          ],
        },
      ],
    },
  },
  {
    files: ['src/main.ts', 'src/healthcheck.ts', 'test/**', 'bench/**'],
    rules: { 'no-restricted-properties': 'off' },
  },
  {
    files: ['test/**'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
    },
  },
);
