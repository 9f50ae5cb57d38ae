import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { writeKubeconfig } from '../apiserver/kubeconfig.js';
import { contextDataDir, resolveDataDir, resolveKubeconfig } from './data-dir.js';
import { DEFAULT_DATA_DIR } from './defaults.js';
import { completionScript } from './completion.js';
import { registerOpsCommands } from './ops.js';
import { registerImageCommands } from './images.js';
import { restoreSettings, saveSettings } from './lifecycle.js';
import { spawnSync } from 'node:child_process';

test('the data dir: --data-dir, then SKIFF_DATA_DIR, then the current kubeconfig context, then the default', () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-dd-'));
  try {
    const kc = join(dir, 'kubeconfig');
    writeKubeconfig(kc, { server: 'https://127.0.0.1:1', caPem: 'x', token: 't', contextName: 'two', dataDir: '/srv/two' });
    const home = join(dir, 'home');
    assert.deepEqual(resolveDataDir('/a', { SKIFF_DATA_DIR: '/b', KUBECONFIG: kc }), { dir: '/a', from: '--data-dir', explicit: true });
    assert.deepEqual(resolveDataDir(undefined, { SKIFF_DATA_DIR: '/b', KUBECONFIG: kc }), { dir: '/b', from: 'SKIFF_DATA_DIR', explicit: true });
    assert.deepEqual(resolveDataDir(undefined, { KUBECONFIG: `${join(dir, 'missing')}:${kc}` }), { dir: '/srv/two', from: `kubeconfig context "two" in ${kc}`, explicit: true });
    assert.deepEqual(resolveDataDir(undefined, { HOME: home }), { dir: DEFAULT_DATA_DIR, from: 'default', explicit: false });
    // A context without the extension (another cluster) says nothing.
    writeFileSync(join(dir, 'other'), 'apiVersion: v1\nkind: Config\ncurrent-context: prod\ncontexts:\n- name: prod\n  context: {cluster: prod, user: me}\n');
    assert.equal(contextDataDir({ KUBECONFIG: join(dir, 'other') }), undefined);
    assert.equal(resolveKubeconfig({ dataDir: '/srv/x' }, {}), '/srv/x/kubeconfig');
    assert.equal(resolveKubeconfig({}, { KUBECONFIG: kc }), kc);
    assert.equal(resolveKubeconfig({ kubeconfig: '/k' }, { KUBECONFIG: kc }), '/k');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('skiff up remembers its settings: flags not given again come from config.json', () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-settings-'));
  try {
    const cmd = () => new Command('up').exitOverride().option('--port <p>', '', '6443').option('--name <n>', '', 'skiff').option('--no-controllers').option('--data-dir <d>', '', '/x');
    const first = cmd().parse(['--port', '7443', '--name', 'two', '--no-controllers', '--data-dir', dir], { from: 'user' });
    saveSettings(first.opts(), dir);
    const again = cmd().parse(['--data-dir', dir], { from: 'user' });
    const flags = again.opts();
    assert.deepEqual(restoreSettings(again, flags, dir).sort(), ['controllers', 'name', 'port']);
    assert.deepEqual(flags, { port: '7443', name: 'two', controllers: false, dataDir: dir });
    const override = cmd().parse(['--data-dir', dir, '--port', '8443'], { from: 'user' });
    const f2 = override.opts();
    restoreSettings(override, f2, dir);
    assert.equal(f2.port, '8443', 'a flag given now wins');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('skiff completion bash completes verbs, sub-verbs and flags in a real bash', () => {
  const program = new Command('skiff');
  registerOpsCommands(program);
  registerImageCommands(program);
  const script = completionScript(program, 'bash');
  const complete = (...words: string[]) => {
    const r = spawnSync('bash', ['-c', `${script}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _skiff_complete; echo "\${COMPREPLY[*]}"`], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.trim();
  };
  assert.equal(complete('skiff', 'ima'), 'image images');
  assert.equal(complete('skiff', 'image', 'l'), 'load ls');
  assert.equal(complete('skiff', 'why', '--n'), '--namespace');
  assert.equal(complete('skiff', 'completion', ''), 'bash zsh');
  assert.match(complete('skiff', 'status', '--'), /--data-dir --help --kubeconfig/);
  assert.match(completionScript(program, 'zsh'), /bashcompinit/);
});
