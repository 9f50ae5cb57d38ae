import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StatusError } from './errors.js';
import { parseFieldSelector, checkSupportedFields, fieldGetter, escapeFieldValue, fieldSelectorFromSet } from './fields.js';

const pod = { metadata: { name: 'web-1', namespace: 'default' }, spec: { nodeName: 'node1' }, status: { phase: 'Running' } };
const get = fieldGetter(pod);

test('terms match with =, == and !=', () => {
  assert.equal(parseFieldSelector('spec.nodeName=node1').matches(get), true);
  assert.equal(parseFieldSelector('spec.nodeName==node1').matches(get), true);
  assert.equal(parseFieldSelector('spec.nodeName!=node1').matches(get), false);
  assert.equal(parseFieldSelector('status.phase!=Failed,status.phase!=Succeeded').matches(get), true);
  assert.equal(parseFieldSelector('metadata.name=web-1,spec.nodeName=node2').matches(get), false);
  // an absent field reads as "" (unscheduled pods: spec.nodeName=)
  assert.equal(parseFieldSelector('spec.schedulerName=').matches(get), true);
  assert.equal(parseFieldSelector('').matches(get), true);
  assert.ok(parseFieldSelector('').empty());
});

test('escapes round-trip and bad escapes fail like upstream', () => {
  const sel = parseFieldSelector('metadata.name=a\\,b\\=c\\\\d');
  assert.equal(sel.exactValue('metadata.name'), 'a,b=c\\d');
  assert.equal(sel.toString(), 'metadata.name=a\\,b\\=c\\\\d');
  assert.equal(escapeFieldValue('x=y'), 'x\\=y');
  const bad: Array<[string, string]> = [
    ['a=b\\x', 'invalid field selector: invalid escape sequence: \\x'],
    ['a=b\\', 'invalid field selector: invalid escape sequence: \\'],
    ['a=b=c', 'invalid field selector: unescaped character in value: 61'],
    ['foo', "invalid selector: 'foo'; can't understand 'foo'"],
  ];
  for (const [s, msg] of bad) {
    assert.throws(() => parseFieldSelector(s), (e: unknown) => e instanceof StatusError && e.code === 400 && e.message === msg, s);
  }
});

test('fields, exactValue and unsupported-field rejection', () => {
  const sel = parseFieldSelector('status.phase=Running,spec.nodeName=node1,spec.nodeName!=x');
  assert.deepEqual(sel.fields().sort(), ['spec.nodeName', 'status.phase']);
  assert.equal(sel.exactValue('spec.nodeName'), 'node1');
  assert.equal(sel.exactValue('metadata.name'), undefined);
  assert.equal(sel.toString(), 'spec.nodeName!=x,spec.nodeName=node1,status.phase=Running');
  checkSupportedFields(sel, ['spec.nodeName', 'status.phase']);
  assert.throws(() => checkSupportedFields(parseFieldSelector('metadata.name=a,foo=bar'), ['spec.nodeName']), (e: unknown) => e instanceof StatusError && e.code === 400 && e.message === 'field label not supported: foo');
  assert.equal(fieldSelectorFromSet({ 'metadata.name': 'web-1' }).matches(get), true);
});
