/**
 * `npm run lint` bites: the repository's own dependency-cruiser config, run on tiny trees in a
 * temporary directory, rejects an import up the layers and product code importing test support,
 * and passes a tree that keeps the rules. Nothing is written into the real src/.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL(import.meta.url.includes('/dist/') ? '../..' : '..', import.meta.url));
const CRUISER = join(REPO, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');
const CONFIG = join(REPO, '.dependency-cruiser.cjs');

/** Lints a tree made of `files` (path → source) and returns the exit code and report. */
function lint(files: Record<string, string>): { code: number | null; out: string } {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-lint-'));
  try {
    cpSync(join(REPO, 'tsconfig.json'), join(dir, 'tsconfig.json'));
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    const r = spawnSync(process.execPath, [CRUISER, 'src', '--config', CONFIG, '--output-type', 'err'], { cwd: dir, encoding: 'utf8' });
    return { code: r.status, out: r.stdout + r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('an import from src/api/ into src/agent/ fails the lint, naming the layer rule', () => {
  const r = lint({
    'src/api/x.ts': "import { y } from '../agent/y.js';\nexport const x = y + 1;\n",
    'src/agent/y.ts': 'export const y = 1;\n',
  });
  assert.notEqual(r.code, 0, r.out);
  assert.match(r.out, /layer-api: src\/api\/x\.ts → src\/agent\/y\.ts/);
});

test('two components importing each other are a cycle', () => {
  const r = lint({
    'src/api/x.ts': "import { y } from '../agent/y.js';\nexport const x = () => y() + 1;\n",
    'src/agent/y.ts': "import { x } from '../api/x.js';\nexport const y = () => 1;\nexport const z = () => x();\n",
  });
  assert.notEqual(r.code, 0, r.out);
  assert.match(r.out, /no-component-cycles: src\/agent\/y\.ts →\s+src\/api\/x\.ts →\s+src\/agent\/y\.ts/);
});

test('a test beside the code may use another component\'s test support without making a cycle', () => {
  const r = lint({
    'src/api/x.ts': 'export const x = 1;\n',
    'src/client/s.ts': "import { x } from '../api/x.js';\nexport const s = x;\n",
    'src/client/testing/harness.ts': "import { s } from '../s.js';\nexport const h = s;\n",
    'src/api/x.test.ts': "import { h } from '../client/testing/harness.js';\nexport const t = h;\n",
  });
  assert.equal(r.code, 0, r.out);
});

test('product code importing test support fails the lint; a test file may import it', () => {
  const r = lint({
    'src/agent/y.ts': "import { fake } from './testing/fake.js';\nexport const y = fake;\n",
    'src/agent/y.test.ts': "import { fake } from './testing/fake.js';\nexport const t = fake;\n",
    'src/agent/testing/fake.ts': 'export const fake = 1;\n',
  });
  assert.notEqual(r.code, 0, r.out);
  assert.match(r.out, /no-test-support-in-product: src\/agent\/y\.ts → src\/agent\/testing\/fake\.ts/);
  assert.doesNotMatch(r.out, /y\.test\.ts →/);
});

test('a type-only import counts, and a folder outside the table is rejected', () => {
  const r = lint({
    'src/runtime/types.ts': "import type { P } from '../network/cni.js';\nexport type Q = P;\n",
    'src/network/cni.ts': 'export interface P { port: number }\n',
    'src/gadgets/g.ts': 'export const g = 1;\n',
  });
  assert.notEqual(r.code, 0, r.out);
  assert.match(r.out, /layer-runtime: src\/runtime\/types\.ts → src\/network\/cni\.ts/);
  assert.match(r.out, /unknown-component-orphan: src\/gadgets\/g\.ts/);
});

test('a tree that keeps the layers passes', () => {
  const r = lint({
    'src/util/u.ts': 'export const u = 1;\n',
    'src/api/x.ts': "import { u } from '../util/u.js';\nexport const x = u;\n",
    'src/agent/y.ts': "import { x } from '../api/x.js';\nexport const y = x;\n",
    'src/agent/y.test.ts': "import { y } from './y.js';\nimport { fake } from './testing/fake.js';\nexport const t = y + fake;\n",
    'src/agent/testing/fake.ts': "import { x } from '../../api/x.js';\nexport const fake = x;\n",
    'src/cli/main.ts': "import { y } from '../agent/y.js';\nconsole.log(y);\n",
  });
  assert.equal(r.code, 0, r.out);
});
