import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CommandError, run, runOrThrow, runSync } from './exec.js';

test('run resolves with the exit code and both streams, whatever the code', async () => {
  const r = await run('sh', ['-c', 'echo out; echo err >&2; exit 3']);
  assert.equal(r.code, 3);
  assert.equal(r.stdout.toString(), 'out\n');
  assert.equal(r.stderr.toString(), 'err\n');
});

test('run feeds input to stdin', async () => {
  const r = await run('cat', [], { input: 'hello' });
  assert.equal(r.stdout.toString(), 'hello');
});

test('run rejects when the program does not exist', async () => {
  await assert.rejects(run('/nonexistent/skiff-no-such-tool', []), /ENOENT/);
});

test('runOrThrow names the command, its exit code and stderr', async () => {
  assert.equal(await runOrThrow('sh', ['-c', 'echo ok']), 'ok\n');
  await assert.rejects(runOrThrow('sh', ['-c', 'echo broken >&2; exit 2']), (e: unknown) => {
    assert.ok(e instanceof CommandError);
    assert.equal(e.message, 'sh -c echo broken >&2; exit 2 failed (exit 2): broken');
    return true;
  });
});

test('runSync reports a missing program as code 127', () => {
  assert.equal(runSync('sh', ['-c', 'exit 4']).code, 4);
  assert.equal(runSync('/nonexistent/skiff-no-such-tool', []).code, 127);
});
