/**
 * host-gw on the real kernel: a veth pair on a private range stands in for the link nodes
 * share; the router programs, moves and removes routes as Node objects come and go, and
 * removes the rest on stop (what `skiff reset` does from the record too). No traffic is sent.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Node } from 'kubernetes-types/core/v1.js';
import { TestClient } from '../apiserver/testing/test-api.js';
import { NODES } from '../client/resources.js';
import { runSync } from '../util/exec.js';
import { HostGwRouter, removeRecordedHostRoutes } from './host-gw.js';

// 10.253.0.0/16 (the link) and 10.254.0.0/16 (pod ranges): no other test draws from them.
const x = randomInt(0, 256);
const link = `skhgw${process.pid % 100000}`;
const podRange = (i: number) => `10.254.${x}.${i * 16}/28`;
const dataDir = mkdtempSync(join(tmpdir(), 'skiff-host-gw-'));
const ip = (...args: string[]) => runSync('ip', args);

after(async () => {
  await removeRecordedHostRoutes(dataDir);
  ip('link', 'del', link);
  rmSync(dataDir, { recursive: true, force: true });
});

/** The kernel's route to `dst`, as `ip route` prints it ('' when there is none). */
const routeTo = (dst: string) => ip('-4', 'route', 'show', 'exact', dst).stdout.toString().trim();

async function waitFor(what: string, ok: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 25));
  assert.ok(ok(), what);
}

test('routes to other nodes\' pod ranges follow the Node objects and are removed on stop', async () => {
  assert.equal(ip('link', 'add', link, 'type', 'veth', 'peer', 'name', `${link}p`).code, 0);
  assert.equal(ip('link', 'set', `${link}p`, 'up').code, 0);
  assert.equal(ip('addr', 'add', `10.253.${x}.1/24`, 'dev', link).code, 0);
  assert.equal(ip('link', 'set', link, 'up').code, 0);
  const client = new TestClient();
  const node = (name: string, addr: string, cidr: string): Node => ({
    metadata: { name }, spec: { podCIDR: cidr, podCIDRs: [cidr] }, status: { addresses: [{ type: 'InternalIP', address: addr }] },
  });
  await client.create(NODES, undefined, node('self', `10.253.${x}.1`, podRange(0)));
  await client.create(NODES, undefined, node('b', `10.253.${x}.2`, podRange(1)));
  const router = new HostGwRouter({ client, nodeName: 'self', dataDir, podCidr: podRange(0), retryMs: 50 });
  try {
    await router.start();
    assert.match(routeTo(podRange(1)), new RegExp(`via 10\\.253\\.${x}\\.2 dev ${link}`));
    assert.equal(routeTo(podRange(0)), '', 'no route for its own range');

    await client.create(NODES, undefined, node('c', `10.253.${x}.3`, podRange(2)));
    await waitFor('route to the new node', () => routeTo(podRange(2)).includes(`via 10.253.${x}.3`));
    const b = await client.get<Node>(NODES, undefined, 'b');
    await client.update(NODES, undefined, { ...b, status: { addresses: [{ type: 'InternalIP', address: `10.253.${x}.4` }] } }, { subresource: 'status' });
    await waitFor('route follows the moved node', () => routeTo(podRange(1)).includes(`via 10.253.${x}.4`));
    await client.delete(NODES, undefined, 'c');
    await waitFor('route of the deleted node is gone', () => routeTo(podRange(2)) === '');
  } finally {
    await router.stop();
  }
  assert.equal(routeTo(podRange(1)), '', 'stop removes the routes it made');
});
