import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StatusError } from './errors.js';
import {
  parseSelector,
  selectorFromLabelSelector,
  selectorFromSet,
  formatLabelSelector,
  validateLabels,
  validateLabelSelector,
} from './labels.js';

const web = { app: 'web', tier: 'frontend', version: '3' };

test('string selectors match like labels.Parse', () => {
  const cases: Array<[string, Record<string, string> | undefined, boolean]> = [
    ['', web, true],
    ['app=web', web, true],
    ['app==web', web, true],
    ['app = web', web, true],
    ['app!=web', web, false],
    ['app!=db', web, true],
    ['missing!=x', web, true],
    ['app in (web,db)', web, true],
    ['app in(db)', web, false],
    ['app notin (db)', web, true],
    ['missing notin (db)', web, true],
    ['app', web, true],
    ['!app', web, false],
    ['!missing', web, true],
    ['app=web,tier=frontend', web, true],
    ['app=web, tier=backend', web, false],
    ['version>2', web, true],
    ['version<3', web, false],
    ['app=', { app: '' }, true],
    ['app in (,x)', { app: '' }, true],
    ['in in (in,notin)', { in: 'notin' }, true], // keywords are values in value position
    ['app=web', undefined, false],
    ['!app', undefined, true],
  ];
  for (const [s, labels, want] of cases) {
    assert.equal(parseSelector(s).matches(labels), want, `${JSON.stringify(s)} on ${JSON.stringify(labels)}`);
  }
});

test('string form is canonical: sorted keys and sorted set values', () => {
  assert.equal(parseSelector('tier in (b, a), app==web,!x,y').toString(), 'app==web,tier in (a,b),!x,y');
  assert.equal(parseSelector('b=1,a notin (z,y)').toString(), 'a notin (y,z),b=1');
  assert.ok(parseSelector('').empty());
  assert.deepEqual(parseSelector('a in (x,y)').requirements(), [{ key: 'a', operator: 'in', values: ['x', 'y'] }]);
  assert.equal(parseSelector('spec=1,app=web').exactValue('app'), 'web');
  assert.equal(parseSelector('app!=web').exactValue('app'), undefined);
});

test('parse errors are 400 BadRequest with upstream messages', () => {
  const cases: Array<[string, string]> = [
    ['app=web,', "found '', expected: identifier after ','"],
    ['x=a b', "found 'b', expected: ',' or 'end of string'"],
    ['a b', "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"],
    ['a in b', "unable to parse requirement: found 'b' expected: '('"],
    ['a in (b', "unable to parse requirement: found '', expected: ',' or ')'"],
    ['=a', "found '=', expected: !, identifier, or 'end of string'"],
    ['!a=b', "found '=', expected: ',' or 'end of string'"],
    [
      '-a=b',
      'unable to parse requirement: <nil>: Invalid value: "-a": name part must consist of alphanumeric characters, \'-\', \'_\' or \'.\', and must start and end with an alphanumeric character (e.g. \'MyName\', or \'my.name\', or \'123-abc\', regex used for validation is \'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]\')',
    ],
    ['a>x', 'unable to parse requirement: values[0]: Invalid value: "x": for \'Gt\', \'Lt\' operators, the value must be an integer'],
  ];
  for (const [s, msg] of cases) {
    assert.throws(
      () => parseSelector(s),
      (e: unknown) => e instanceof StatusError && e.code === 400 && e.reason === 'BadRequest' && e.message === msg,
      `${JSON.stringify(s)} should fail with ${msg}`,
    );
  }
  assert.throws(() => parseSelector('a=-b'), (e: unknown) => e instanceof StatusError && /values\[0\]\[a\]: Invalid value: "-b": a valid label must be/.test(e.message));
});

test('structured LabelSelector: null selects nothing, {} selects everything', () => {
  assert.equal(selectorFromLabelSelector(undefined).matches(web), false);
  assert.equal(selectorFromLabelSelector(null).matches({}), false);
  assert.equal(selectorFromLabelSelector({}).matches(web), true);
  assert.equal(selectorFromLabelSelector({}).matches(undefined), true);
  const sel = selectorFromLabelSelector({
    matchLabels: { app: 'web' },
    matchExpressions: [
      { key: 'tier', operator: 'In', values: ['frontend', 'cache'] },
      { key: 'canary', operator: 'DoesNotExist' },
      { key: 'version', operator: 'Exists' },
      { key: 'zone', operator: 'NotIn', values: ['a'] },
    ],
  });
  assert.equal(sel.matches(web), true);
  assert.equal(sel.matches({ ...web, canary: 'x' }), false);
  assert.equal(sel.matches({ ...web, tier: 'db' }), false);
  assert.equal(sel.toString(), 'app=web,!canary,tier in (cache,frontend),version,zone notin (a)');
  assert.throws(() => selectorFromLabelSelector({ matchExpressions: [{ key: 'a', operator: 'Bogus' }] }), {
    message: '"Bogus" is not a valid label selector operator',
  });
  assert.throws(() => selectorFromLabelSelector({ matchExpressions: [{ key: 'a', operator: 'In', values: [] }] }), {
    message: "values: Invalid value: []: for 'in', 'notin' operators, values set can't be empty",
  });
});

test('selectorFromSet and formatLabelSelector', () => {
  assert.equal(selectorFromSet({ b: '2', a: '1' }).toString(), 'a=1,b=2');
  assert.equal(selectorFromSet({ a: '1' }).matches({ a: '1', b: '2' }), true);
  assert.equal(selectorFromSet(undefined).matches({ x: 'y' }), true);
  assert.equal(formatLabelSelector({ matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['b', 'a'] }] }), 'app=web,tier in (a,b)');
  assert.equal(formatLabelSelector({}), '<none>');
  assert.equal(formatLabelSelector(undefined), '<none>');
  assert.equal(formatLabelSelector({ matchExpressions: [{ key: 'a', operator: 'Nope' }] }), '<error>');
});

test('label and selector validation name the field', () => {
  assert.deepEqual(validateLabels({ app: 'web', 'example.com/tier': 'a.b_c-d' }), []);
  const errs = validateLabels({ 'bad key': 'v', ok: 'bad value!' }, 'metadata.labels');
  assert.equal(errs.length, 2);
  assert.equal(errs[0].field, 'metadata.labels');
  assert.equal(errs[0].value, 'bad key');
  assert.match(errs[0].detail!, /^name part must consist of alphanumeric characters/);
  assert.equal(errs[1].value, 'bad value!');
  assert.match(errs[1].detail!, /^a valid label must be an empty string/);
  assert.equal(validateLabels({ a: 'x'.repeat(64) })[0].detail, 'must be no more than 63 characters');

  const sel = validateLabelSelector(
    { matchLabels: { 'a/b/c': 'x' }, matchExpressions: [{ key: 'k', operator: 'In' }, { key: 'k', operator: 'Exists', values: ['v'] }, { key: 'k', operator: 'Gt', values: ['1'] }] },
    'spec.selector',
  );
  assert.deepEqual(
    sel.map((e) => [e.type, e.field]),
    [
      ['FieldValueInvalid', 'spec.selector.matchLabels'],
      ['FieldValueRequired', 'spec.selector.matchExpressions[0].values'],
      ['FieldValueForbidden', 'spec.selector.matchExpressions[1].values'],
      ['FieldValueInvalid', 'spec.selector.matchExpressions[2].operator'],
    ],
  );
  assert.equal(sel[1].detail, "must be specified when `operator` is 'In' or 'NotIn'");
});
