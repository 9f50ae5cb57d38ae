import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Quantity, parseQuantity, milliValue, value, quantityError, QUANTITY_FORMAT_ERROR, QUANTITY_SUFFIX_ERROR } from './quantity.js';

test('canonical forms follow upstream CanonicalizeBytes', () => {
  const cases: Array<[string | number, string]> = [
    ['0', '0'],
    ['0m', '0'],
    ['0Gi', '0'],
    ['1', '1'],
    ['100m', '100m'],
    ['0.1', '100m'],
    ['.1', '100m'],
    ['0.3', '300m'],
    ['1.5', '1500m'],
    ['0.001', '1m'],
    ['1n', '1n'],
    ['0.0000000001', '1n'], // rounded up to the smallest representable amount
    ['-0.0000000001', '-1n'],
    ['-1m', '-1m'],
    ['1000', '1k'],
    ['1500', '1500'],
    ['1000M', '1G'],
    ['1.5G', '1500M'],
    ['1Ki', '1Ki'],
    ['1024Ki', '1Mi'],
    ['1023Ki', '1023Ki'],
    ['1.5Gi', '1536Mi'],
    ['0.5Gi', '512Mi'],
    ['0.5Ki', '512'], // below 1024 a binary quantity prints as decimal
    ['1.1Ki', '1126400m'], // not whole: decimal, no precision lost
    ['100Mi', '100Mi'],
    ['1Ei', '1Ei'],
    ['1e3', '1e3'],
    ['12e6', '12e6'],
    ['1e-3', '1e-3'],
    ['1.5e3', '1500'],
    ['8Ei', '9223372036854775807'], // binary quantities are capped at MaxInt64
    [2, '2'],
    [0.5, '500m'],
  ];
  for (const [input, want] of cases) {
    assert.equal(Quantity.parse(input).toString(), want, `canonical form of ${JSON.stringify(input)}`);
  }
});

test('parse errors carry upstream messages', () => {
  for (const bad of ['', 'abc', '1.2.3', '1 Gi', '1i1.5', '1Gb']) {
    assert.throws(() => parseQuantity(bad), { message: QUANTITY_FORMAT_ERROR }, JSON.stringify(bad));
  }
  for (const bad of ['1Gk', '1e', '1mi', '1KiM', '--1']) {
    assert.throws(() => parseQuantity(bad), { message: QUANTITY_SUFFIX_ERROR }, JSON.stringify(bad));
  }
  assert.equal(quantityError('100m'), undefined);
  assert.equal(quantityError('x'), QUANTITY_FORMAT_ERROR);
});

test('value and milliValue round up like Value()/MilliValue()', () => {
  assert.equal(Quantity.parse('1.1').value(), 2);
  assert.equal(Quantity.parse('100m').value(), 1);
  assert.equal(Quantity.parse('-100m').value(), -1);
  assert.equal(Quantity.parse('0.5m').milliValue(), 1);
  assert.equal(Quantity.parse('250m').milliValue(), 250);
  assert.equal(Quantity.parse('2').milliValue(), 2000);
  assert.equal(Quantity.parse('1Gi').value(), 1073741824);
  assert.equal(Quantity.parse('1Ei').value(), 2 ** 60);
  assert.equal(Quantity.parse('1Ei').nanoValue(), (1n << 60n) * 1_000_000_000n);
  assert.equal(milliValue(undefined), 0);
  assert.equal(milliValue('1.5'), 1500);
  assert.equal(value(undefined), 0);
  assert.equal(value('64Mi'), 64 * 1024 * 1024);
});

test('arithmetic is exact and keeps the receiver format', () => {
  let sum = Quantity.parse('0');
  for (let i = 0; i < 10; i++) sum = sum.add(Quantity.parse('0.1'));
  assert.equal(sum.toString(), '1');
  assert.equal(Quantity.parse('1Gi').add(Quantity.parse('512Mi')).toString(), '1536Mi');
  assert.equal(Quantity.parse('1').sub(Quantity.parse('250m')).toString(), '750m');
  assert.equal(Quantity.parse('0').add(Quantity.parse('1Ki')).toString(), '1Ki');
  assert.equal(Quantity.parse('1Ki').sub(Quantity.parse('1Ki')).toString(), '0');
  assert.equal(Quantity.parse('100m').mul(3).toString(), '300m');
  assert.equal(Quantity.fromMilli(1500).toString(), '1500m');
  assert.equal(Quantity.fromValue(2048, 'BinarySI').toString(), '2Ki');
});

test('cmp orders across formats', () => {
  assert.equal(Quantity.parse('1k').cmp(Quantity.parse('1000')), 0);
  assert.equal(Quantity.parse('1Ki').cmp(Quantity.parse('1k')), 1);
  assert.equal(Quantity.parse('999m').cmp(Quantity.parse('1')), -1);
  assert.ok(Quantity.parse('1e3').equal(Quantity.parse('1k')));
  assert.equal(JSON.stringify({ cpu: Quantity.parse('0.5') }), '{"cpu":"500m"}');
});

/** upstream decQuantity(v, scale, format): v * 10^scale. */
function dec(v: number | bigint, scale: number): bigint {
  const n = BigInt(v) * 1_000_000_000n;
  return scale >= 0 ? n * 10n ** BigInt(scale) : n / 10n ** BigInt(-scale);
}

test('upstream TestQuantityParse table (value and format)', () => {
  const maxAllowed = ((1n << 63n) - 1n) * 1_000_000_000n;
  const table: Array<[string, bigint, string]> = [
    ['0Ki', 0n, 'BinarySI'],
    ['8Ki', dec(8 * 1024, 0), 'BinarySI'],
    ['3Ei', dec(3n * 2n ** 60n, 0), 'BinarySI'],
    ['50k', dec(5, 4), 'DecimalSI'],
    ['1E', dec(1, 18), 'DecimalSI'],
    ['1E-3', dec(1, -3), 'DecimalExponent'],
    ['1E6', dec(1, 6), 'DecimalExponent'],
    ['100.035k', dec(100035, 0), 'DecimalSI'],
    ['0.0005k', dec(5, -1), 'DecimalSI'],
    ['0.5e-2', dec(5, -3), 'DecimalExponent'],
    ['1.3E+6', dec(13, 5), 'DecimalExponent'],
    ['6.987654321G', dec(6987654321, 0), 'DecimalSI'],
    ['1.01E', dec(101, 16), 'DecimalSI'],
    ['3.001n', dec(4, -9), 'DecimalSI'],
    ['1.1E-9', dec(2, -9), 'DecimalExponent'],
    ['0.00000012345', dec(124, -9), 'DecimalSI'],
    ['9Ei', maxAllowed, 'BinarySI'],
    ['9223372036854775807Ki', maxAllowed, 'BinarySI'],
    ['100.035Ki', dec(10243584, -2), 'BinarySI'],
    ['0.05Gi', dec(536870912, -1), 'BinarySI'],
    ['0.000000000001Ki', dec(2, -9), 'DecimalSI'],
    ['.0001k', dec(100, -3), 'DecimalSI'],
    ['1.', dec(1, 0), 'DecimalSI'],
    ['1.G', dec(1, 9), 'DecimalSI'],
  ];
  for (const [input, nanos, format] of table) {
    const q = Quantity.parse(input);
    assert.equal(q.nanoValue(), nanos, `${input} value`);
    assert.equal(q.format, format, `${input} format`);
    assert.equal(Quantity.parse(`-${input}`).nanoValue(), -nanos, `-${input}`);
  }
  for (const bad of ['1.1.M', '1+1.0M', '0.1mi', '0.1am', 'aoeu', '.5i', '1i', '-3.01i', '-3.01e-', '1e4294967297', ' 1', '1 ']) {
    assert.throws(() => Quantity.parse(bad), Error, bad);
  }
});

test('upstream TestQuantityString canonical forms, including past E and Ei', () => {
  const table: Array<[string, string]> = [
    ['1000M', '1G'],
    ['0.001T', '1G'],
    ['1000u', '1m'],
    ['1.08', '1080m'],
    ['1080000000n', '1080m'],
    ['1000E', '1e21'],
    ['5000E', '5e21'],
    ['1000000E', '1e24'],
    ['.001e12', '1e9'],
    ['0.001e0', '1e-3'],
    ['1000e-12', '1e-9'],
    ['00', '0'],
    ['1024Mi', '1Gi'],
    ['307200Ki', '300Mi'],
    ['1025024Mi', '1001Gi'],
    ['1024Gi', '1Ti'],
  ];
  for (const [input, want] of table) assert.equal(Quantity.parse(input).toString(), want, input);
  // 2^70 has no binary suffix and no trailing decimal zeros: exact digits
  assert.equal(Quantity.parse('1Ei').mul(1024).toString(), '1180591620717411303424');
  assert.equal(Quantity.parse('-1.08').toString(), '-1080m');
});
