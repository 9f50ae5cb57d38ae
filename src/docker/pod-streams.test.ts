import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exitCodeOfStatus } from './pod-streams.js';
import { pathStat } from './containers/archive.js';

test('the exec exit code comes from the channel-3 Status', () => {
  assert.deepEqual(exitCodeOfStatus('{"metadata":{},"status":"Success"}'), { code: 0 });
  const failure = { status: 'Failure', reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: '5' }] } };
  assert.deepEqual(exitCodeOfStatus(JSON.stringify(failure)), { code: 5 });
  assert.deepEqual(exitCodeOfStatus('{"status":"Failure","message":"container not found"}'), { error: 'container not found' });
  assert.deepEqual(exitCodeOfStatus('command terminated with non-zero exit code: exit status 3'), { code: 3 });
});

test('docker cp stat: Go FileMode bits for directories and links', () => {
  const dir = pathStat('/out', "4096|41ed|1700000000|'/out'");
  assert.equal(dir.mode, 2 ** 31 + 0o755);
  assert.equal(dir.name, 'out');
  assert.equal(dir.mtime, '2023-11-14T22:13:20.000Z');
  const link = pathStat('/bin/sh', "7|a1ff|1700000000|'/bin/sh' -> 'busybox'");
  assert.equal(link.mode, 2 ** 27 + 0o777);
  assert.equal(link.linkTarget, 'busybox');
  assert.equal(pathStat('/etc/hostname', "13|81a4|1700000000|'/etc/hostname'").mode, 0o644);
});
