/**
 * resource.Quantity (k8s.io/apimachinery/pkg/api/resource/quantity.go).
 *
 * A quantity is held exactly as a bigint count of nano-units, so "1Ei" memory and
 * "0.001" cpu survive arithmetic without float drift. Like upstream, any fraction
 * finer than 1n is rounded up (away from zero): asking for some resource never
 * becomes asking for none.
 */

/** How a quantity is printed; kept from the string it was parsed from, as upstream. */
export type QuantityFormat = 'DecimalSI' | 'BinarySI' | 'DecimalExponent';

export const QUANTITY_FORMAT_ERROR =
  "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
export const QUANTITY_NUMERIC_ERROR = 'unable to parse numeric part of quantity';
export const QUANTITY_SUFFIX_ERROR = "unable to parse quantity's suffix";

const NANO = 1_000_000_000n;
/** upstream caps BinarySI quantities at MaxInt64 (maxAllowed). */
const MAX_INT64 = (1n << 63n) - 1n;
/** Exponents beyond this would make bigint arithmetic explode; upstream has no sane use for them. */
const MAX_EXPONENT = 1000;

const DECIMAL_SUFFIXES: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY_SUFFIXES: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const DECIMAL_BY_EXP = new Map(Object.entries(DECIMAL_SUFFIXES).map(([s, e]) => [e, s]));
const BINARY_BY_EXP = new Map(Object.entries(BINARY_SUFFIXES).map(([s, e]) => [e, s]));

function pow10(n: number): bigint {
  return 10n ** BigInt(n);
}

/** Divides rounding away from zero (inf.RoundUp / upstream's "ceil" for positive values). */
function divAwayFromZero(a: bigint, b: bigint): bigint {
  const q = a / b;
  if (q * b === a) return q;
  return (a < 0n) !== (b < 0n) ? q - 1n : q + 1n;
}

interface Interpreted {
  base: 2 | 10;
  exponent: number;
  format: QuantityFormat;
}

function interpretSuffix(suffix: string): Interpreted | undefined {
  if (suffix in DECIMAL_SUFFIXES) return { base: 10, exponent: DECIMAL_SUFFIXES[suffix], format: 'DecimalSI' };
  if (suffix in BINARY_SUFFIXES) return { base: 2, exponent: BINARY_SUFFIXES[suffix], format: 'BinarySI' };
  if (suffix.length > 1 && (suffix[0] === 'e' || suffix[0] === 'E')) {
    // strconv.ParseInt accepts an optional sign followed by digits only.
    if (!/^[+-]?[0-9]+$/.test(suffix.slice(1))) return undefined;
    const exponent = Number.parseInt(suffix.slice(1), 10);
    // upstream keeps the exponent in an int32 scale that is later negated
    if (Math.abs(exponent) > 2147483647) return undefined;
    return { base: 10, exponent, format: 'DecimalExponent' };
  }
  return undefined;
}

const isDigit = (c: string): boolean => c >= '0' && c <= '9';

/** A port of parseQuantityString: sign, numerator, optional denominator, suffix. */
function splitQuantity(str: string): { positive: boolean; num: string; denom: string; suffix: string } {
  let positive = true;
  let pos = 0;
  const end = str.length;
  if (str[0] === '-') {
    positive = false;
    pos++;
  } else if (str[0] === '+') {
    pos++;
  }
  while (pos < end && str[pos] === '0') pos++;
  if (pos >= end) return { positive, num: '0', denom: '', suffix: '' };
  let i = pos;
  while (i < end && isDigit(str[i])) i++;
  const num = str.slice(pos, i) || '0';
  pos = i;
  let denom = '';
  if (pos < end && str[pos] === '.') {
    pos++;
    i = pos;
    while (i < end && isDigit(str[i])) i++;
    denom = str.slice(pos, i);
    pos = i;
  }
  const suffixStart = pos;
  while (pos < end && 'eEinumkKMGTP'.includes(str[pos])) pos++;
  if (pos < end && (str[pos] === '-' || str[pos] === '+')) pos++;
  while (pos < end && isDigit(str[pos])) pos++;
  if (pos < end) throw new Error(QUANTITY_FORMAT_ERROR);
  return { positive, num, denom, suffix: str.slice(suffixStart) };
}

/** An exact Kubernetes resource quantity ("100m", "1Gi", "1.5", "1e3"). Immutable. */
export class Quantity {
  private constructor(
    /** The value times 10^9. */
    private readonly nanos: bigint,
    readonly format: QuantityFormat,
  ) {}

  /**
   * Parses a quantity string (or a JSON number, which upstream also accepts).
   * Throws Error with upstream's messages (ErrFormatWrong, ErrNumeric, ErrSuffix).
   */
  static parse(input: string | number): Quantity {
    if (typeof input === 'number') {
      if (!Number.isFinite(input)) throw new Error(QUANTITY_FORMAT_ERROR);
      input = String(input);
    }
    const str = input;
    if (str.length === 0) throw new Error(QUANTITY_FORMAT_ERROR);
    if (str === '0') return new Quantity(0n, 'DecimalSI');
    const { positive, num, denom, suffix } = splitQuantity(str);
    const interp = interpretSuffix(suffix);
    if (!interp) throw new Error(QUANTITY_SUFFIX_ERROR);
    let { format } = interp;
    if (Math.abs(interp.exponent) > MAX_EXPONENT) throw new Error(QUANTITY_NUMERIC_ERROR);

    // value = (num.denom) * base^exponent, as a fraction numer/denominator.
    let numer = BigInt(num + denom);
    let denominator = pow10(denom.length);
    if (interp.base === 10) {
      if (interp.exponent >= 0) numer *= pow10(interp.exponent);
      else denominator *= pow10(-interp.exponent);
    } else {
      numer <<= BigInt(interp.exponent);
    }
    let nanos = divAwayFromZero(numer * NANO, denominator);
    if (format === 'BinarySI' && nanos > MAX_INT64 * NANO) nanos = MAX_INT64 * NANO;
    // A binary quantity below one cannot be printed with a binary suffix.
    if (format === 'BinarySI' && nanos > 0n && nanos < NANO) format = 'DecimalSI';
    return new Quantity(positive ? nanos : -nanos, format);
  }

  /** A quantity of `n` whole units. */
  static fromValue(n: number | bigint, format: QuantityFormat = 'DecimalSI'): Quantity {
    return new Quantity(BigInt(n) * NANO, format);
  }

  /** A quantity of `n` thousandths (as cpu millicores). */
  static fromMilli(n: number | bigint, format: QuantityFormat = 'DecimalSI'): Quantity {
    return new Quantity(BigInt(n) * 1_000_000n, format);
  }

  /** The value times 10^9, exact. */
  nanoValue(): bigint {
    return this.nanos;
  }

  /** Value() — the value rounded up (away from zero) to an integer. */
  value(): number {
    return Number(divAwayFromZero(this.nanos, NANO));
  }

  /** MilliValue() — the value times 1000, rounded up (away from zero). */
  milliValue(): number {
    return Number(divAwayFromZero(this.nanos, 1_000_000n));
  }

  /** AsApproximateFloat64(). */
  toNumber(): number {
    return Number(this.nanos) / 1e9;
  }

  isZero(): boolean {
    return this.nanos === 0n;
  }

  sign(): -1 | 0 | 1 {
    return this.nanos < 0n ? -1 : this.nanos > 0n ? 1 : 0;
  }

  cmp(o: Quantity): -1 | 0 | 1 {
    return this.nanos < o.nanos ? -1 : this.nanos > o.nanos ? 1 : 0;
  }

  equal(o: Quantity): boolean {
    return this.nanos === o.nanos;
  }

  /** Sum; keeps this quantity's format unless it is zero (as upstream Add). */
  add(o: Quantity): Quantity {
    return new Quantity(this.nanos + o.nanos, this.isZero() ? o.format : this.format);
  }

  sub(o: Quantity): Quantity {
    return new Quantity(this.nanos - o.nanos, this.isZero() ? o.format : this.format);
  }

  neg(): Quantity {
    return new Quantity(-this.nanos, this.format);
  }

  /** Multiplies by an integer (e.g. per-pod request times replicas). */
  mul(n: number | bigint): Quantity {
    return new Quantity(this.nanos * BigInt(n), this.format);
  }

  /** The canonical string, following upstream CanonicalizeBytes. */
  toString(): string {
    if (this.nanos === 0n) return '0';
    let format = this.format;
    if (format === 'BinarySI') {
      const whole = this.nanos % NANO === 0n;
      if ((this.nanos > -1024n * NANO && this.nanos < 1024n * NANO) || !whole) format = 'DecimalSI';
    }
    if (format === 'BinarySI') {
      let amount = this.nanos / NANO;
      let exp = 0;
      while (amount % 1024n === 0n) {
        amount /= 1024n;
        exp += 10;
      }
      const suffix = BINARY_BY_EXP.get(exp);
      if (suffix !== undefined) return `${amount}${suffix}`;
      // Past "Ei" there is no binary suffix: print exactly in decimal (exponent form).
      format = 'DecimalExponent';
    }
    let amount = this.nanos;
    let exp = -9;
    while (amount % 10n === 0n) {
      amount /= 10n;
      exp++;
    }
    // Make the exponent a multiple of three by moving digits back into the mantissa.
    const rem = ((exp % 3) + 3) % 3;
    amount *= pow10(rem);
    exp -= rem;
    // Beyond "E" there is no SI suffix: fall back to exponent notation, as upstream.
    if (format === 'DecimalExponent' || exp > 18) return exp === 0 ? `${amount}` : `${amount}e${exp}`;
    return `${amount}${DECIMAL_BY_EXP.get(exp)}`;
  }

  toJSON(): string {
    return this.toString();
  }
}

/** Same as {@link Quantity.parse}. */
export function parseQuantity(s: string | number): Quantity {
  return Quantity.parse(s);
}

/** MilliValue of an optional quantity from an object (0 when absent). */
export function milliValue(q: string | number | undefined | null): number {
  return q === undefined || q === null ? 0 : Quantity.parse(q).milliValue();
}

/** Value of an optional quantity from an object (0 when absent). */
export function value(q: string | number | undefined | null): number {
  return q === undefined || q === null ? 0 : Quantity.parse(q).value();
}

/** Returns the parse error message for `s`, or undefined when it is a valid quantity. */
export function quantityError(s: unknown): string | undefined {
  if (typeof s !== 'string' && typeof s !== 'number') return QUANTITY_FORMAT_ERROR;
  try {
    Quantity.parse(s);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}
