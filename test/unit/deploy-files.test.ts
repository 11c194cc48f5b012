import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

const root = new URL('../../../', import.meta.url);
const read = (name: string): string => readFileSync(new URL(name, root), 'utf8');

/** One Dockerfile instruction: its keyword and its arguments, continuation lines joined. */
interface Instruction {
  keyword: string;
  args: string;
}

function instructions(text: string): Instruction[] {
  const joined = text.replace(/\\\n/g, ' ');
  return joined
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const [keyword = '', ...rest] = l.split(/\s+/);
      return { keyword: keyword.toUpperCase(), args: rest.join(' ') };
    });
}

/** What balena builds for each architecture (it prefers Dockerfile.<arch> to Dockerfile.template). */
const VARIANTS = [
  { file: 'Dockerfile.template', arches: ['aarch64', 'amd64'], image: 'node:24-bookworm-slim' },
  { file: 'Dockerfile.armv7hf', arches: ['armv7hf'], image: 'node:22-bookworm-slim' },
];

/** The files the build copies in, and what .dockerignore keeps out of the upload. */
const BUILD_INPUTS = ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'src'];

describe('Dockerfiles', () => {
  for (const variant of VARIANTS) {
    describe(`${variant.file} (${variant.arches.join(', ')})`, () => {
      const text = read(variant.file);
      const steps = instructions(text);
      const froms = steps.filter((s) => s.keyword === 'FROM');

      it(`builds every stage from the official ${variant.image} image and names no stage or ARG in a FROM`, () => {
        assert.deepEqual(froms.map((f) => f.args), [`${variant.image} AS build`, `${variant.image} AS run`]);
        assert.ok(!steps.some((s) => s.keyword === 'ARG'), 'no ARG: nothing picks a stage or an image at build time');
        assert.ok(!/balenalib|%%|\$\{/.test(froms.map((f) => f.args).join(' ')), 'no frozen balenalib images, no template or ARG in FROM');
      });

      it('copies in only the build inputs, installs without the optional SDK or scripts, and keeps only production dependencies', () => {
        const copies = steps.filter((s) => s.keyword === 'COPY' && !s.args.startsWith('--from='));
        const sources = copies.flatMap((c) => c.args.split(/\s+/).slice(0, -1));
        assert.deepEqual([...new Set(sources)].sort(), [...BUILD_INPUTS].sort());
        const runs = steps.filter((s) => s.keyword === 'RUN').map((s) => s.args).join(' && ');
        assert.match(runs, /npm ci --ignore-scripts --omit=optional/);
        assert.match(runs, /npx tsc -p tsconfig\.build\.json/);
        assert.match(runs, /npm prune --omit=dev --omit=optional/);
      });

      it('runs the agent and checks it with the probe, both files of the payload', () => {
        const healthcheck = steps.find((s) => s.keyword === 'HEALTHCHECK');
        const cmd = steps.filter((s) => s.keyword === 'CMD').at(-1);
        assert.match(healthcheck?.args ?? '', /^--interval=60s --timeout=10s --start-period=60s --retries=3 CMD \["node", "dist\/src\/healthcheck\.js"\]$/);
        assert.deepEqual(JSON.parse(cmd?.args ?? '[]'), ['node', '--liftoff-only', '--optimize-for-size', '--max-opt=1', 'dist/src/main.js', 'run']);
        // Both scripts are compiled by the image's build (tsconfig.build.json) and listed in package.json files.
        for (const script of ['healthcheck', 'main']) assert.ok(existsSync(new URL(`src/${script}.ts`, root)), `src/${script}.ts exists`);
        const build = JSON.parse(read('tsconfig.build.json')) as { include: string[]; exclude?: string[] };
        assert.deepEqual(build.include, ['src']);
        assert.deepEqual(build.exclude, ['src/sim']);
        assert.match(text, /^ENV NODE_ENV=production\s+\\\n\s+AGENT_DATA_DIR=\/data\/fleet-agent$/m, 'the data dir is on the /data volume');
        assert.match(text, /^STOPSIGNAL SIGTERM$/m);
      });
    });
  }

  it('the variants differ only in their base image and their opening comment', () => {
    const body = (file: string, image: string): string =>
      read(file)
        .replace(/^(#[^\n]*\n)+\n/, '')
        .replaceAll(image, '<node image>');
    const [a, b] = VARIANTS.map((v) => body(v.file, v.image));
    assert.equal(a, b);
  });

  it('.dockerignore keeps dependencies, builds, tests and the simulators out of the upload', () => {
    const ignored = read('.dockerignore').split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
    for (const entry of ['node_modules', 'dist', '.tmp', '.git', 'test', 'bench', 'src/sim']) assert.ok(ignored.includes(entry), `ignores ${entry}`);
    for (const input of BUILD_INPUTS) assert.ok(!ignored.includes(input), `keeps ${input}`);
  });

  it('the HEALTHCHECK probe loads nothing heavier than node:http: its import graph, read from the built files', () => {
    const seen = new Set<string>();
    const builtins = new Set<string>();
    const visit = (url: URL): void => {
      if (seen.has(url.href)) return;
      seen.add(url.href);
      const code = readFileSync(url, 'utf8');
      for (const m of code.matchAll(/^import\s+(?:[^'"]*?from\s+)?['"]([^'"]+)['"]/gm)) {
        const spec = m[1] ?? '';
        if (spec.startsWith('.')) visit(new URL(spec, url));
        else builtins.add(spec);
      }
    };
    visit(new URL('src/healthcheck.js', new URL('dist/', root)));
    assert.deepEqual([...builtins].sort(), ['node:module', 'node:net']);
    assert.deepEqual([...seen].map((u) => u.slice(u.indexOf('/dist/src/') + 10)).sort(), ['config/net.js', 'healthcheck.js', 'http/probe.js', 'lib/builtins.js']);
  });
});

describe('docker-compose.yml', () => {
  const compose = read('docker-compose.yml');
  it('uses the compose format balena supports and both API labels', () => {
    assert.match(compose, /^version: '2\.4'$/m);
    assert.match(compose, /^\s+io\.balena\.features\.supervisor-api: '1'$/m);
    assert.match(compose, /^\s+io\.balena\.features\.balena-api: '1'$/m);
  });
  it('binds the host\'s /sys, where the agent reads the Raspberry Pi firmware\'s power bits, and says so in the README', () => {
    assert.match(compose, /^\s+io\.balena\.features\.sysfs: '1'$/m);
    assert.match(compose, /get_throttled/);
    const readme = read('README.md');
    assert.match(readme, /io\.balena\.features\.sysfs: '1'/);
    assert.match(readme, /\/sys\/devices\/platform\/soc\/soc:firmware\/get_throttled/);
  });
  it('keeps the data directory on a named volume', () => {
    assert.match(compose, /^\s+- fleet-agent-data:\/data$/m);
    assert.match(compose, /^volumes:\n\s+fleet-agent-data:/m);
  });
  it('uses no field balena rejects', () => {
    for (const field of ['container_name', 'env_file', 'logging', 'links', 'cpus', '${']) {
      assert.ok(!compose.includes(field), `unsupported compose field ${field}`);
    }
  });
});

describe('balena.yml', () => {
  const block = read('balena.yml');
  const version = (JSON.parse(read('package.json')) as { version: string }).version;
  it('publishes a block whose version follows package.json', () => {
    assert.match(block, /^type: sw\.block$/m);
    assert.match(block, new RegExp(`^version: ${version.replace(/\./g, '\\.')}$`, 'm'));
    assert.match(block, /^\s+defaultDeviceType: \S+$/m);
  });
});

describe('package.json', () => {
  const pkg = JSON.parse(read('package.json')) as { files: string[]; optionalDependencies?: Record<string, string>; devDependencies: Record<string, string> };
  it('publishes the compiled agent without the simulators; the SDK is only an optional test client', () => {
    assert.deepEqual(pkg.files, ['dist/src', '!dist/src/sim']);
    assert.deepEqual(Object.keys(pkg.optionalDependencies ?? {}), ['balena-sdk']);
    assert.ok(!('balena-sdk' in pkg.devDependencies), 'a dev dependency would warn EBADENGINE on Node 20');
  });
});
