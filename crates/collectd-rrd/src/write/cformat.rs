//! C's `printf` conversions `%.Nf` and `%.Ng` for doubles, digit for digit as glibc prints them.
//!
//! collectd's rrdtool plugin writes gauges with `%.15g` and data-source bounds with `%f`,
//! and rrdtool keeps the text of the last update (`ds[…].last_ds`), so the receiver must
//! print exactly the same characters. Rust's own float formatting differs in notation
//! (no `%g`, no `e+05` exponents, `NaN`) and may break ties differently, so this module
//! works from the exact decimal expansion of the double: every finite double is
//! `m × 2^e`, whose decimal digits are those of `m × 5^-e` (or `m × 2^e`), computed with a
//! small big integer. Rounding is then to nearest, ties to even, on the exact value, which
//! is what glibc does in the default rounding mode.

/// A big unsigned integer in base 10^9, least significant limb first.
struct BigDecimal {
    limbs: Vec<u32>,
}

const LIMB: u64 = 1_000_000_000;

impl BigDecimal {
    fn new(value: u64) -> Self {
        let mut limbs = Vec::with_capacity(4);
        let mut v = value;
        while v > 0 {
            limbs.push((v % LIMB) as u32);
            v /= LIMB;
        }
        BigDecimal { limbs }
    }

    /// Multiplies by `factor`, which must keep `limb × factor + carry` within a `u64`
    /// (any factor below 2^32 does).
    fn mul_small(&mut self, factor: u32) {
        let mut carry = 0u64;
        for limb in &mut self.limbs {
            let product = u64::from(*limb) * u64::from(factor) + carry;
            *limb = (product % LIMB) as u32;
            carry = product / LIMB;
        }
        while carry > 0 {
            self.limbs.push((carry % LIMB) as u32);
            carry /= LIMB;
        }
    }

    fn mul_pow2(&mut self, mut exp: u32) {
        while exp > 0 {
            let step = exp.min(31);
            self.mul_small(1 << step);
            exp -= step;
        }
    }

    fn mul_pow5(&mut self, mut exp: u32) {
        // 5^13 = 1220703125 < 2^32.
        while exp > 0 {
            let step = exp.min(13);
            self.mul_small(5u32.pow(step));
            exp -= step;
        }
    }

    /// The decimal digits (ASCII), without leading zeros; empty for zero.
    fn digits(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.limbs.len() * 9);
        for (i, limb) in self.limbs.iter().rev().enumerate() {
            if i == 0 {
                out.extend_from_slice(limb.to_string().as_bytes());
            } else {
                out.extend_from_slice(format!("{limb:09}").as_bytes());
            }
        }
        if out == b"0" {
            out.clear();
        }
        out
    }
}

/// A non-negative decimal number `0.DIGITS × 10^point`: `digits` has no leading zero and no
/// trailing zero; zero has no digits.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Decimal {
    digits: Vec<u8>,
    point: i32,
}

impl Decimal {
    /// The exact value of a finite, non-negative double.
    fn exact(x: f64) -> Decimal {
        let bits = x.to_bits();
        let biased = ((bits >> 52) & 0x7ff) as i32;
        let fraction = bits & ((1 << 52) - 1);
        let (mantissa, exp2) = if biased == 0 { (fraction, -1074) } else { (fraction | (1 << 52), biased - 1075) };
        if mantissa == 0 {
            return Decimal { digits: Vec::new(), point: 0 };
        }
        let mut n = BigDecimal::new(mantissa);
        let mut digits;
        let point;
        if exp2 >= 0 {
            n.mul_pow2(exp2 as u32);
            digits = n.digits();
            point = digits.len() as i32;
        } else {
            // m × 2^e = m × 5^-e / 10^-e.
            n.mul_pow5((-exp2) as u32);
            digits = n.digits();
            point = digits.len() as i32 + exp2;
        }
        while digits.last() == Some(&b'0') {
            digits.pop();
        }
        Decimal { digits, point }
    }

    /// Rounds to the first `keep` digits (counted from the first digit of `digits`, so
    /// `keep` may be zero or negative), to nearest with ties to even.
    fn round(mut self, keep: i64) -> Decimal {
        let len = self.digits.len() as i64;
        if keep >= len {
            return self;
        }
        if keep < 0 {
            return Decimal { digits: Vec::new(), point: 0 };
        }
        let keep = keep as usize;
        let next = self.digits[keep];
        let rest_nonzero = self.digits[keep + 1..].iter().any(|&d| d != b'0');
        let last_odd = keep > 0 && (self.digits[keep - 1] - b'0') % 2 == 1;
        let up = next > b'5' || (next == b'5' && (rest_nonzero || last_odd));
        self.digits.truncate(keep);
        if up {
            let mut i = keep;
            loop {
                if i == 0 {
                    self.digits.insert(0, b'1');
                    self.point += 1;
                    break;
                }
                i -= 1;
                if self.digits[i] == b'9' {
                    self.digits[i] = b'0';
                } else {
                    self.digits[i] += 1;
                    break;
                }
            }
        }
        while self.digits.last() == Some(&b'0') {
            self.digits.pop();
        }
        if self.digits.is_empty() {
            self.point = 0;
        }
        self
    }

    /// The digit at `index` (0 is the first digit of `digits`), zero outside.
    fn digit(&self, index: i64) -> u8 {
        if index < 0 {
            return b'0';
        }
        self.digits.get(index as usize).copied().unwrap_or(b'0')
    }

    /// Fixed notation with `precision` fraction digits, of an already rounded value.
    fn write_fixed(&self, precision: usize, out: &mut String) {
        if self.point <= 0 || self.digits.is_empty() {
            out.push('0');
        } else {
            for i in 0..self.point as i64 {
                out.push(self.digit(i) as char);
            }
        }
        if precision > 0 {
            out.push('.');
            let start = if self.digits.is_empty() { 0 } else { self.point as i64 };
            for i in 0..precision as i64 {
                let d = if self.digits.is_empty() { b'0' } else { self.digit(start + i) };
                out.push(d as char);
            }
        }
    }
}

/// Sign and special values: `Some(text)` for infinities and NaN, as glibc prints them.
fn special(x: f64) -> Option<&'static str> {
    match (x.is_nan(), x.is_infinite(), x.is_sign_negative()) {
        (true, _, false) => Some("nan"),
        (true, _, true) => Some("-nan"),
        (_, true, false) => Some("inf"),
        (_, true, true) => Some("-inf"),
        _ => None,
    }
}

/// `printf("%.{precision}f", x)`.
///
/// ```
/// use collectd_rrd::write::cformat::format_f;
///
/// assert_eq!(format_f(0.0, 6), "0.000000");
/// assert_eq!(format_f(18446744073709551615.0, 6), "18446744073709551616.000000");
/// assert_eq!(format_f(-273.15, 6), "-273.150000");
/// assert_eq!(format_f(0.125, 2), "0.12"); // ties go to even
/// ```
pub fn format_f(x: f64, precision: usize) -> String {
    if let Some(s) = special(x) {
        return s.to_owned();
    }
    let mut out = String::new();
    if x.is_sign_negative() {
        out.push('-');
    }
    let exact = Decimal::exact(x.abs());
    let keep = i64::from(exact.point) + precision as i64;
    exact.round(keep).write_fixed(precision, &mut out);
    out
}

/// `printf("%.{precision}g", x)`: the shorter of fixed and exponent notation, trailing
/// zeros removed, as collectd writes gauges (`%.15g`).
///
/// ```
/// use collectd_rrd::write::cformat::format_g;
///
/// assert_eq!(format_g(0.1, 15), "0.1");
/// assert_eq!(format_g(1e15, 15), "1e+15");
/// assert_eq!(format_g(123456789012345.0, 15), "123456789012345");
/// assert_eq!(format_g(0.0001, 15), "0.0001");
/// assert_eq!(format_g(0.00001, 15), "1e-05");
/// assert_eq!(format_g(f64::NAN, 15), "nan");
/// ```
pub fn format_g(x: f64, precision: usize) -> String {
    if let Some(s) = special(x) {
        return s.to_owned();
    }
    let precision = precision.max(1);
    let mut out = String::new();
    if x.is_sign_negative() {
        out.push('-');
    }
    let rounded = Decimal::exact(x.abs()).round(precision as i64);
    // The exponent %e would print: zero prints as 0e+00.
    let exponent = if rounded.digits.is_empty() { 0 } else { i64::from(rounded.point) - 1 };
    let mut body = String::new();
    if (precision as i64) > exponent && exponent >= -4 {
        rounded.write_fixed((precision as i64 - 1 - exponent) as usize, &mut body);
        strip_fraction_zeros(&mut body);
        out.push_str(&body);
    } else {
        body.push(rounded.digit(0) as char);
        body.push('.');
        for i in 1..precision as i64 {
            body.push(rounded.digit(i) as char);
        }
        strip_fraction_zeros(&mut body);
        out.push_str(&body);
        out.push('e');
        out.push(if exponent < 0 { '-' } else { '+' });
        out.push_str(&format!("{:02}", exponent.abs()));
    }
    out
}

/// Removes trailing zeros after a decimal point, and the point if nothing follows it.
fn strip_fraction_zeros(s: &mut String) {
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(bits, %.15g, %f)` as printed by glibc 2.36 (Debian bookworm): see the file's header.
    const GLIBC: &str = include_str!("cformat_glibc.txt");

    fn vectors() -> Vec<(f64, String, String)> {
        GLIBC
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|l| {
                let mut fields = l.split(' ');
                let bits = u64::from_str_radix(fields.next().unwrap(), 16).unwrap();
                let g = fields.next().unwrap().to_owned();
                let f = fields.next().unwrap().to_owned();
                (f64::from_bits(bits), g, f)
            })
            .collect()
    }

    #[test]
    fn matches_glibc_for_every_vector() {
        let vectors = vectors();
        assert!(vectors.len() > 150, "{} vectors", vectors.len());
        for (x, g, f) in vectors {
            assert_eq!(format_g(x, 15), g, "%.15g of {x:e} ({:#018x})", x.to_bits());
            assert_eq!(format_f(x, 6), f, "%f of {x:e} ({:#018x})", x.to_bits());
        }
    }

    #[test]
    fn ties_go_to_even() {
        // 100000000000000.5 and 1234567890123.125 are exact ties at 15 digits.
        assert_eq!(format_g(100_000_000_000_000.5, 15), "100000000000000");
        assert_eq!(format_g(100_000_000_000_001.5, 15), "100000000000002");
        assert_eq!(format_g(1_234_567_890_123.125, 15), "1234567890123.12");
        assert_eq!(format_g(1_234_567_890_123.375, 15), "1234567890123.38");
        assert_eq!(format_f(0.5, 0), "0");
        assert_eq!(format_f(1.5, 0), "2");
        assert_eq!(format_f(2.5, 0), "2");
        assert_eq!(format_f(0.375, 2), "0.38");
    }

    #[test]
    fn rounding_carries_into_a_new_digit() {
        assert_eq!(format_g(999_999_999_999_999.5, 15), "1e+15");
        assert_eq!(format_g(1.0f64.next_down(), 15), "1");
        assert_eq!(format_f(0.9999995, 6), "1.000000"); // 0.99999950000000004: just above the tie
        assert_eq!(format_f(9.9999996, 6), "10.000000");
        assert_eq!(format_g(0.0001f64.next_down(), 15), "0.0001");
    }

    #[test]
    fn exponent_and_fixed_boundaries() {
        assert_eq!(format_g(123_456_789_012_345.0, 15), "123456789012345");
        assert_eq!(format_g(1_234_567_890_123_456.0, 15), "1.23456789012346e+15");
        assert_eq!(format_g(1e100, 15), "1e+100");
        assert_eq!(format_g(1e-100, 15), "1e-100");
        assert_eq!(format_g(f64::MIN_POSITIVE, 15), "2.2250738585072e-308");
        assert_eq!(format_g(5e-324, 15), "4.94065645841247e-324");
        assert_eq!(format_g(-0.0, 15), "-0");
        assert_eq!(format_g(0.0, 15), "0");
        assert_eq!(format_g(1.5, 1), "2");
        assert_eq!(format_g(0.5, 0), "0.5");
    }

    #[test]
    fn special_values() {
        assert_eq!(format_g(f64::INFINITY, 15), "inf");
        assert_eq!(format_g(f64::NEG_INFINITY, 15), "-inf");
        assert_eq!(format_g(-f64::NAN, 15), "-nan");
        assert_eq!(format_f(f64::NAN, 6), "nan");
    }
}
