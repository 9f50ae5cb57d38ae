import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statsFromCgroup } from './stats.js';

const now = new Date(0);

test('cgroup v2: usage_usec becomes nanoseconds; the working set leaves out inactive file cache', () => {
  const files: Record<string, string> = {
    'cpu.stat': 'usage_usec 1500\nuser_usec 1000\n',
    'memory.current': '10000\n',
    'memory.stat': 'anon 4000\ninactive_file 3000\nactive_file 10\n',
  };
  assert.deepEqual(statsFromCgroup(true, (_c, f) => files[f], now), {
    cpuUsageNanos: 1_500_000, memoryUsageBytes: 10000, memoryWorkingSetBytes: 7000, timestamp: now,
  });
});

test('cgroup v1 reads cpuacct.usage and total_inactive_file', () => {
  const files: Record<string, string> = {
    'cpuacct.usage': '42\n',
    'memory.usage_in_bytes': '100\n',
    'memory.stat': 'inactive_file 1\ntotal_inactive_file 150\n',
  };
  assert.deepEqual(statsFromCgroup(false, (_c, f) => files[f], now), {
    cpuUsageNanos: 42, memoryUsageBytes: 100, memoryWorkingSetBytes: 0, timestamp: now,
  });
});

test('no readable cgroup files: no stats', () => {
  assert.equal(statsFromCgroup(true, () => undefined, now), undefined);
});
