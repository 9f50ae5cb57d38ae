/**
 * End-to-end: RBAC, escalation prevention, impersonation and the access review APIs with the
 * real kubectl 1.32 against `skiff server`, as ServiceAccounts holding real tokens.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { manifestFile, startCluster, type TestCluster } from './support/cluster.js';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';

let c: TestCluster;
/** The cluster's kubeconfig without the admin's credentials: kubectl --token then authenticates as that token alone (with a client certificate present, the certificate would win, as upstream). */
let bearerOnly: string;

before(async () => {
  c = await startCluster();
  const doc = parse(readFileSync(c.kubeconfig, 'utf8'));
  doc.users = doc.users.map((u: { name: string }) => ({ name: u.name, user: {} }));
  bearerOnly = join(mkdtempSync(join(tmpdir(), 'skiff-rbac-')), 'kubeconfig');
  writeFileSync(bearerOnly, stringify(doc), { mode: 0o600 });
});

/** kubectl with `--token T` as the only credential. */
const asBearer = (args: string[]) => c.kubectl(['--kubeconfig', bearerOnly, '--token', ...args]);
after(async () => {
  await c?.destroy();
});

/** A token of a ServiceAccount, through TokenRequest sent as JSON. */
function token(ns: string, sa: string): string {
  const f = manifestFile(JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } }));
  return JSON.parse(c.k(['create', '--raw', `/api/v1/namespaces/${ns}/serviceaccounts/${sa}/token`, '-f', f])).status.token;
}

async function eventually(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** kubectl failed with the 403 `message` (get/delete print "Error from server (Forbidden): …", create generators "error: failed to create …: …"). */
const forbidden = (r: { code: number; stderr: string }, message: string) => {
  assert.notEqual(r.code, 0, 'kubectl should fail');
  assert.ok(r.stderr.includes(`Error from server (Forbidden): ${message}`) || r.stderr.includes(`: ${message}`), r.stderr);
};

let reader: string;

describe('RBAC', () => {
  before(async () => {
    c.k(['create', 'namespace', 'team']);
    c.k(['-n', 'team', 'create', 'serviceaccount', 'reader']);
    c.k(['-n', 'team', 'create', 'role', 'pod-reader', '--verb=get,list', '--resource=pods']);
    c.k(['-n', 'team', 'create', 'rolebinding', 'reader-pods', '--role=pod-reader', '--serviceaccount=team:reader']);
    c.k(['-n', 'team', 'run', 'web', '--image=nginx:1.25']);
    c.k(['-n', 'team', 'create', 'secret', 'generic', 'hush', '--from-literal=k=v']);
    reader = token('team', 'reader');
  });

  test('a ServiceAccount bound to get/list pods in one namespace can do exactly that', () => {
    const as = (args: string[]) => asBearer([reader, ...args]);
    assert.match(as(['-n', 'team', 'get', 'pods', '-o', 'name']).stdout, /^pod\/web$/m);
    assert.equal(as(['-n', 'team', 'get', 'pod', 'web', '-o', 'jsonpath={.metadata.name}']).stdout, 'web');
    const user = 'User "system:serviceaccount:team:reader"';
    forbidden(as(['-n', 'default', 'get', 'pods']), `pods is forbidden: ${user} cannot list resource "pods" in API group "" in the namespace "default"`);
    forbidden(as(['-n', 'team', 'delete', 'pod', 'web']), `pods "web" is forbidden: ${user} cannot delete resource "pods" in API group "" in the namespace "team"`);
    forbidden(as(['-n', 'team', 'get', 'secrets']), `secrets is forbidden: ${user} cannot list resource "secrets" in API group "" in the namespace "team"`);
    forbidden(as(['-n', 'team', 'logs', 'web']), `pods "web" is forbidden: ${user} cannot get resource "pods/log" in API group "" in the namespace "team"`);
    forbidden(as(['get', 'nodes']), `nodes is forbidden: ${user} cannot list resource "nodes" in API group "" at the cluster scope`);
    forbidden(as(['-n', 'team', 'get', 'deployments']), `deployments.apps is forbidden: ${user} cannot list resource "deployments" in API group "apps" in the namespace "team"`);
  });

  test('the default ServiceAccount cannot list Secrets, delete nodes or bind cluster-admin to itself', () => {
    const t = token('default', 'default');
    const user = 'User "system:serviceaccount:default:default"';
    forbidden(asBearer([t, '-n', 'kube-system', 'get', 'secrets']), `secrets is forbidden: ${user} cannot list resource "secrets" in API group "" in the namespace "kube-system"`);
    forbidden(asBearer([t, 'delete', 'node', 'any']), `nodes "any" is forbidden: ${user} cannot delete resource "nodes" in API group "" at the cluster scope`);
    forbidden(
      asBearer([t, 'create', 'clusterrolebinding', 'mine', '--clusterrole=cluster-admin', '--serviceaccount=default:default']),
      `clusterrolebindings.rbac.authorization.k8s.io is forbidden: ${user} cannot create resource "clusterrolebindings" in API group "rbac.authorization.k8s.io" at the cluster scope`,
    );
    assert.equal(c.kubectl(['get', 'clusterrolebinding', 'mine']).code, 1, 'nothing was created');
  });

  test('a user who may write Roles and RoleBindings cannot grant themselves admin (escalation refused)', () => {
    // Explicit verbs: `*` would include escalate and bind, which do let their holder grant more (as upstream).
    c.k(['-n', 'team', 'create', 'role', 'rbac-writer', '--verb=get,list,watch,create,update,patch,delete', '--resource=roles.rbac.authorization.k8s.io,rolebindings.rbac.authorization.k8s.io']);
    c.k(['-n', 'team', 'create', 'rolebinding', 'dana-rbac', '--role=rbac-writer', '--user=dana']);
    const dana = (args: string[]) => c.kubectl(['--as', 'dana', '-n', 'team', ...args]);
    const bind = dana(['create', 'rolebinding', 'dana-admin', '--clusterrole=admin', '--user=dana']);
    assert.notEqual(bind.code, 0);
    assert.match(bind.stderr, /rolebindings\.rbac\.authorization\.k8s\.io "dana-admin" is forbidden: user "dana" \(groups=\["system:authenticated"\]\) is attempting to grant RBAC permissions not currently held:\n\{APIGroups:\[""\], Resources:\["bindings"\], Verbs:\["get" "list" "watch"\]\}\n/);
    const role = dana(['create', 'role', 'secrets', '--verb=get', '--resource=secrets']);
    assert.notEqual(role.code, 0);
    assert.match(role.stderr, /roles\.rbac\.authorization\.k8s\.io "secrets" is forbidden: user "dana" .* is attempting to grant RBAC permissions not currently held:\n\{APIGroups:\[""\], Resources:\["secrets"\], Verbs:\["get"\]\}/);
    // What she holds she may hand on.
    assert.equal(dana(['create', 'role', 'role-reader', '--verb=get', '--resource=roles.rbac.authorization.k8s.io']).code, 0);
    assert.equal(dana(['get', 'rolebinding', 'dana-admin']).code, 1, 'the refused binding does not exist');
    // With `bind` on the admin ClusterRole, binding it is allowed.
    c.k(['-n', 'team', 'create', 'role', 'bind-admin', '--verb=bind', '--resource=clusterroles.rbac.authorization.k8s.io', '--resource-name=admin']);
    c.k(['-n', 'team', 'create', 'rolebinding', 'dana-bind', '--role=bind-admin', '--user=dana']);
    assert.equal(dana(['create', 'rolebinding', 'dana-admin', '--clusterrole=admin', '--user=dana']).code, 0);
  });

  test('kubectl auth can-i (also --list, --as, subresources, URLs) and auth whoami', () => {
    const as = (args: string[]) => asBearer([reader, ...args]);
    assert.deepEqual([as(['auth', 'can-i', 'list', 'pods', '-n', 'team']).stdout.trim(), as(['auth', 'can-i', 'list', 'pods', '-n', 'team']).code], ['yes', 0]);
    assert.deepEqual([as(['auth', 'can-i', 'delete', 'pods', '-n', 'team']).stdout.trim(), as(['auth', 'can-i', 'delete', 'pods', '-n', 'team']).code], ['no', 1]);
    assert.equal(as(['auth', 'can-i', 'get', 'pods', '--subresource=log', '-n', 'team']).stdout.trim(), 'no');
    assert.equal(as(['auth', 'can-i', 'get', '/version']).stdout.trim(), 'yes');
    assert.equal(as(['auth', 'can-i', 'get', '/metrics']).stdout.trim(), 'no');
    assert.equal(c.kubectl(['auth', 'can-i', 'list', 'pods', '-n', 'team', '--as', 'system:serviceaccount:team:reader']).stdout.trim(), 'yes');
    assert.equal(c.kubectl(['auth', 'can-i', 'list', 'secrets', '-n', 'team', '--as', 'system:serviceaccount:team:reader']).stdout.trim(), 'no');
    assert.equal(c.kubectl(['auth', 'can-i', '*', '*']).stdout.trim(), 'yes', 'the admin may do anything');
    const list = as(['auth', 'can-i', '--list', '-n', 'team']);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^pods\s+\[\]\s+\[\]\s+\[get list\]$/m);
    assert.match(list.stdout, /^selfsubjectaccessreviews\.authorization\.k8s\.io\s+\[\]\s+\[\]\s+\[create\]$/m);
    assert.match(list.stdout, /^\s+\[[^\]]*\/version[^\]]*\]\s+\[\]\s+\[get\]$/m);
    const who = as(['auth', 'whoami', '-o', 'json']);
    assert.equal(who.code, 0, who.stderr);
    const info = JSON.parse(who.stdout).status.userInfo;
    assert.equal(info.username, 'system:serviceaccount:team:reader');
    assert.ok(info.groups.includes('system:serviceaccounts:team'));
    assert.match(c.k(['auth', 'whoami']), /Groups\s+\[system:masters system:authenticated\]/);
  });

  test('the default cluster roles exist and aggregation adds a labelled rule to view', async () => {
    const roles = c.k(['get', 'clusterroles', '-o', 'name']);
    for (const r of ['cluster-admin', 'admin', 'edit', 'view', 'system:basic-user', 'system:discovery', 'system:public-info-viewer', 'system:node',
      'system:node-proxier', 'system:kube-scheduler', 'system:kube-controller-manager', 'system:controller:deployment-controller', 'system:auth-delegator',
      'system:monitoring', 'system:volume-scheduler', 'system:kube-dns', 'system:certificates.k8s.io:kube-apiserver-client-approver']) {
      assert.match(roles, new RegExp(`^clusterrole.rbac.authorization.k8s.io/${r.replace(/[.*]/g, '\\$&')}$`, 'm'), `missing ${r}`);
    }
    assert.match(c.k(['get', 'clusterrolebinding', 'cluster-admin', '-o', 'jsonpath={.subjects[0].name}']), /^system:masters$/);
    c.k(['-n', 'team', 'create', 'rolebinding', 'viewer', '--clusterrole=view', '--user=viewer']);
    const viewerMay = () => c.kubectl(['auth', 'can-i', 'list', 'secrets', '-n', 'team', '--as', 'viewer']).stdout.trim();
    assert.equal(viewerMay(), 'no', 'view grants no Secrets by default');
    c.k(['apply', '-f', manifestFile(`apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: secrets-view
  labels: {rbac.authorization.k8s.io/aggregate-to-view: "true"}
rules:
- apiGroups: [""]
  resources: [secrets]
  verbs: [get, list, watch]
`)]);
    const viewHas = () => (JSON.parse(c.k(['get', 'clusterrole', 'view', '-o', 'json'])).rules as { resources?: string[] }[]).some((r) => r.resources?.includes('secrets'));
    await eventually('view to aggregate the secrets rule', viewHas);
    assert.equal(viewerMay(), 'yes');
    assert.equal(c.kubectl(['auth', 'can-i', 'delete', 'secrets', '-n', 'team', '--as', 'viewer']).stdout.trim(), 'no');
    c.k(['delete', 'clusterrole', 'secrets-view']);
    await eventually('view to drop the secrets rule', () => !viewHas());
  });

  test('impersonation works only for a user allowed to impersonate', () => {
    const r = asBearer([reader, '--as', 'dana', 'get', 'pods']);
    forbidden(r, 'users "dana" is forbidden: User "system:serviceaccount:team:reader" cannot impersonate resource "users" in API group "" at the cluster scope');
    c.k(['-n', 'team', 'create', 'serviceaccount', 'imp']);
    c.k(['create', 'clusterrole', 'impersonate-dana', '--verb=impersonate', '--resource=users', '--resource-name=dana']);
    c.k(['create', 'clusterrolebinding', 'imp-dana', '--clusterrole=impersonate-dana', '--serviceaccount=team:imp']);
    const imp = token('team', 'imp');
    const who = asBearer([imp, '--as', 'dana', 'auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}']);
    assert.equal(who.stdout, 'dana', who.stderr);
    // As dana, the impersonator holds dana's rights in team and nothing of its own.
    assert.equal(asBearer([imp, '--as', 'dana', '-n', 'team', 'get', 'roles', '-o', 'name']).code, 0);
    forbidden(asBearer([imp, '--as', 'erin', 'get', 'pods']), 'users "erin" is forbidden: User "system:serviceaccount:team:imp" cannot impersonate resource "users" in API group "" at the cluster scope');
    forbidden(asBearer([imp, '--as', 'dana', '--as-group', 'system:masters', 'get', 'pods']), 'groups "system:masters" is forbidden: User "system:serviceaccount:team:imp" cannot impersonate resource "groups" in API group "" at the cluster scope');
  });
});
