//! Fixed-point formatting of scores, `format!("{x:.d$}")` without its cost.
//!
//! Sentence-level scoring prints several rounded numbers per line, and the
//! standard formatter's exact mode (Grisu with a Dragon4 bignum fallback)
//! took a tenth of sentence-level BLEU. A score is `m × 2^e` exactly; times
//! `10^d` it is an integer of at most 67 bits shifted right, so the rounded
//! digits (round half to even on the exact binary value, as Rust and Python
//! both round) come from one `u128` multiplication and shift. Values outside
//! that range (huge, non-finite, more than four digits) go to the standard
//! formatter. No crate offers fixed precision with this rounding: `ryu`
//! prints shortest representations only.

use std::fmt::Write;

/// The most decimals formatted here (10^4 keeps `m × 10^d` under 2^67).
const MAX_DIGITS: usize = 4;

/// `x` with `digits` decimals, exactly as `format!("{x:.digits$}")`.
pub fn fixed(x: f64, digits: usize) -> String {
    let mut out = String::with_capacity(24);
    push_fixed(&mut out, x, digits);
    out
}

/// Appends `x` with `digits` decimals to `out`, exactly as
/// `write!(out, "{x:.digits$}")`.
pub fn push_fixed(out: &mut String, x: f64, digits: usize) {
    let Some(q) = scaled(x, digits) else {
        let _ = write!(out, "{x:.digits$}");
        return;
    };
    if x.is_sign_negative() {
        out.push('-');
    }
    // u64 arithmetic when it fits (nearly always): u128 division is a
    // library call. The fraction's digits, zero-padded, are those of
    // 10^digits + fraction after its leading 1 (`itoa` gives a `&str`
    // without the UTF-8 check a byte buffer would need).
    let scale = POW10[digits];
    let mut buffer = itoa::Buffer::new();
    let fraction = match u64::try_from(q) {
        Ok(q) => {
            out.push_str(buffer.format(q / scale));
            q % scale
        }
        Err(_) => {
            let scale = u128::from(scale);
            out.push_str(buffer.format(q / scale));
            (q % scale) as u64
        }
    };
    if digits > 0 {
        out.push('.');
        out.push_str(&buffer.format(scale + fraction)[1..]);
    }
}

/// 10^d for the digits formatted here (`pow` with a run-time exponent is a
/// loop).
const POW10: [u64; MAX_DIGITS + 1] = [1, 10, 100, 1_000, 10_000];

/// `|x| × 10^digits` rounded half to even, when it is computed exactly here.
fn scaled(x: f64, digits: usize) -> Option<u128> {
    if !x.is_finite() || digits > MAX_DIGITS {
        return None;
    }
    let bits = x.abs().to_bits();
    let exponent = (bits >> 52) as i32;
    let fraction = u128::from(bits & ((1 << 52) - 1));
    // x = mantissa × 2^power exactly (subnormals have no implicit bit).
    let (mantissa, power) = if exponent == 0 {
        (fraction, -1074)
    } else {
        (fraction | (1 << 52), exponent - 1075)
    };
    let n = mantissa * u128::from(POW10[digits]);
    if power >= 0 {
        // An integer: exact while it fits.
        return (power < 60).then(|| n << power);
    }
    let shift = (-power) as u32;
    if shift >= 128 {
        // Below 2^-61 × 10^4: rounds to zero (never a tie).
        return Some(0);
    }
    let q = n >> shift;
    let rest = n & ((1u128 << shift) - 1);
    let half = 1u128 << (shift - 1);
    Some(if rest > half || (rest == half && q & 1 == 1) {
        q + 1
    } else {
        q
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same(x: f64, digits: usize) {
        assert_eq!(
            fixed(x, digits),
            format!("{x:.digits$}"),
            "{x:e} to {digits} digits"
        );
    }

    #[test]
    fn equals_the_standard_formatter() {
        // Exact ties (k / 2^m), where half-to-even decides.
        for k in 0..4096u32 {
            for m in 0..12 {
                let x = f64::from(k) / f64::from(1u32 << m);
                for digits in 0..=5 {
                    same(x, digits);
                    same(-x, digits);
                }
            }
        }
        // Scores as they arise: 100 × a / b, and ratios.
        for a in 0..300u32 {
            for b in 1..300u32 {
                let x = 100.0 * f64::from(a) / f64::from(b);
                same(x, 1);
                same(f64::from(a) / f64::from(b), 3);
            }
        }
        // Bit patterns across the whole range, extremes included.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..200_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let x = f64::from_bits(state);
            same(x, (state % 5) as usize);
        }
        for x in [
            0.0,
            -0.0,
            f64::MIN_POSITIVE,
            5e-324,
            0.05,
            0.5,
            1.5,
            2.5,
            1e15,
            1e18,
            1e19,
            1e300,
            f64::MAX,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ] {
            for digits in 0..=6 {
                same(x, digits);
            }
        }
    }
}
