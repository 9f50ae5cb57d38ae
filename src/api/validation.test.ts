import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fieldErrorString } from './errors.js';
import {
  isDNS1123Label,
  isDNS1123Subdomain,
  isDNS1035Label,
  isQualifiedName,
  isValidLabelValue,
  isCIdentifier,
  isEnvVarName,
  isConfigMapKey,
  isValidPortNum,
  isValidPortName,
  validateAnnotations,
  validateObjectMetaName,
  validateNonnegative,
  dns1123LabelMessages,
} from './validation.js';

const details = (errs: { detail?: string }[]): (string | undefined)[] => errs.map((e) => e.detail);

test('RFC 1123 subdomain message is upstream word for word', () => {
  assert.deepEqual(isDNS1123Subdomain('example.com'), []);
  const [e] = isDNS1123Subdomain('Web_1', 'metadata.name');
  assert.equal(
    fieldErrorString(e),
    `metadata.name: Invalid value: "Web_1": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
  );
  assert.deepEqual(details(isDNS1123Subdomain('a'.repeat(254))), ['must be no more than 253 characters']);
});

test('DNS labels', () => {
  assert.deepEqual(isDNS1123Label('my-name'), []);
  assert.deepEqual(isDNS1123Label('123-abc'), []);
  assert.deepEqual(dns1123LabelMessages('a.b'), ['must not contain dots']);
  assert.deepEqual(dns1123LabelMessages('-a'), [
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name', or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
  ]);
  assert.deepEqual(isDNS1035Label('web'), []);
  assert.deepEqual(details(isDNS1035Label('1web')), [
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name', or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
  ]);
  assert.equal(isDNS1123Label('a'.repeat(64)).length, 1);
});

test('qualified names and label values', () => {
  assert.deepEqual(isQualifiedName('app.kubernetes.io/name'), []);
  assert.deepEqual(isQualifiedName('MyName'), []);
  assert.deepEqual(details(isQualifiedName('/a')), ['prefix part must be non-empty']);
  assert.deepEqual(details(isQualifiedName('a/')), [
    'name part must be non-empty',
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName', or 'my.name', or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
  ]);
  assert.match(details(isQualifiedName('Bad_Prefix/a'))[0]!, /^prefix part a lowercase RFC 1123 subdomain/);
  assert.match(details(isQualifiedName('a/b/c'))[0]!, /^a valid label key must consist .* with an optional DNS subdomain prefix and '\/' \(e\.g\. 'example\.com\/MyName'\)$/);
  assert.deepEqual(isValidLabelValue(''), []);
  assert.deepEqual(isValidLabelValue('v1.2_3-x'), []);
  assert.equal(isValidLabelValue('-x').length, 1);
});

test('identifiers, env names, config keys', () => {
  assert.deepEqual(isCIdentifier('MY_VAR'), []);
  assert.equal(isCIdentifier('my.var').length, 1);
  assert.deepEqual(isEnvVarName('my.env-name'), []);
  assert.equal(isEnvVarName('1abc').length, 1);
  assert.deepEqual(details(isEnvVarName('..x')), ["must not start with '..'"]);
  assert.deepEqual(isConfigMapKey('app.properties'), []);
  assert.deepEqual(details(isConfigMapKey('..')), ["must not be '..'"]);
});

test('ports', () => {
  assert.deepEqual(isValidPortNum(80), []);
  assert.deepEqual(details(isValidPortNum(0, 'spec.ports[0].port')), ['must be between 1 and 65535, inclusive']);
  assert.equal(isValidPortNum(65536).length, 1);
  assert.deepEqual(isValidPortName('http'), []);
  assert.deepEqual(details(isValidPortName('-http--web-aaaaaaa')), [
    'must be no more than 15 characters',
    'must not contain consecutive hyphens',
    'must not begin or end with a hyphen',
  ]);
  assert.deepEqual(details(isValidPortName('8080')), ['must contain at least one letter (a-z)']);
  assert.deepEqual(details(isValidPortName('HTTP')), [
    'must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)',
    'must contain at least one letter (a-z)',
  ]);
});

test('annotations: keys case-insensitive, total size 256 KiB', () => {
  assert.deepEqual(validateAnnotations({ 'Example.COM/Key': 'x' }), []);
  assert.equal(validateAnnotations({ 'bad key': 'x' })[0].field, 'metadata.annotations');
  const big = validateAnnotations({ a: 'x'.repeat(256 * 1024) });
  assert.equal(big.length, 1);
  assert.equal(big[0].type, 'FieldValueTooLong');
  assert.deepEqual(validateAnnotations({ a: 'x'.repeat(256 * 1024 - 1) }), []);
});

test('object names and generateName', () => {
  assert.deepEqual(validateObjectMetaName('web-1'), []);
  assert.equal(fieldErrorString(validateObjectMetaName({})[0]), 'metadata.name: Required value: name or generateName is required');
  const bad = validateObjectMetaName({ name: 'Web' });
  assert.equal(bad[0].field, 'metadata.name');
  // generateName may end with '-' (random suffix follows); name stays required
  assert.deepEqual(validateObjectMetaName({ generateName: 'web-', name: 'web-x7k2p' }), []);
  assert.equal(validateObjectMetaName({ generateName: 'Web-', name: 'ok' })[0].field, 'metadata.generateName');
  assert.equal(validateObjectMetaName({ name: 'a.b' }, 'metadata', 'DNS1123Label')[0].detail, 'must not contain dots');
  assert.deepEqual(validateObjectMetaName({ name: 'system:admin' }, 'metadata', 'PathSegment'), []);
  assert.deepEqual(details(validateObjectMetaName({ name: 'a/b%' }, 'metadata', 'PathSegment')), ["may not contain '/'", "may not contain '%'"]);
  assert.deepEqual(details(validateObjectMetaName({ name: '..' }, 'metadata', 'PathSegment')), ["may not be '..'"]);
});

test('validateNonnegative', () => {
  assert.deepEqual(validateNonnegative('spec.replicas', 0), []);
  assert.equal(fieldErrorString(validateNonnegative('spec.replicas', -1)[0]), 'spec.replicas: Invalid value: -1: must be greater than or equal to 0');
});
