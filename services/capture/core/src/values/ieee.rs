//! `BINARY_FLOAT` (100) and `BINARY_DOUBLE` (101) (`drcapture/values/ieee.py`): IEEE 754
//! big-endian with the bits rearranged so bytes sort like numbers. Text is Python's
//! `repr` of the value without a trailing `.0`; a float is the shortest of 1..9
//! significant digits that reads back to the same float32, as the Python decoder tries.

use crate::error::{Error, Result, hex_upper};

fn from_oracle_bits64(bits: u64) -> u64 {
    const SIGN: u64 = 1 << 63;
    if bits & SIGN != 0 { bits ^ SIGN } else { !bits }
}

fn from_oracle_bits32(bits: u32) -> u32 {
    const SIGN: u32 = 1 << 31;
    if bits & SIGN != 0 { bits ^ SIGN } else { !bits }
}

/// Python's `repr(float)` (the 'r' format: shortest round-trip digits, exponent form
/// below 1e-4 and from 1e16), for finite values.
pub fn python_repr(value: f64, out: &mut String) {
    // Rust's `{:e}` is a shortest round-trip digit string; where two strings of that
    // length round-trip at the same distance from the value, Python (David Gay's dtoa)
    // takes the even one: the value correctly rounded to that many digits (ties to
    // even, as `{:.*e}` rounds), whenever that one reads back to the value.
    let shortest = format!("{value:e}");
    let count = shortest
        .split('e')
        .next()
        .unwrap_or("")
        .bytes()
        .filter(u8::is_ascii_digit)
        .count();
    let rounded = format!("{:.*e}", count.saturating_sub(1), value);
    let sci = if rounded.parse::<f64>() == Ok(value) {
        rounded
    } else {
        shortest
    };
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (negative, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa),
    };
    let all: String = mantissa.chars().filter(|c| *c != '.').collect();
    let kept = all.trim_end_matches('0');
    let digits = if kept.is_empty() { "0" } else { kept }.to_owned();
    let decpt = exp + 1; // value = 0.<digits> * 10**decpt
    if negative {
        out.push('-');
    }
    if decpt <= -4 || decpt > 16 {
        let (first, rest) = digits.split_at(1);
        out.push_str(first);
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        let e = decpt - 1;
        out.push('e');
        out.push(if e < 0 { '-' } else { '+' });
        let abs = e.unsigned_abs();
        if abs < 10 {
            out.push('0');
        }
        out.push_str(&abs.to_string());
    } else if decpt <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-decpt) as usize));
        out.push_str(&digits);
    } else {
        let n = decpt as usize;
        if digits.len() <= n {
            out.push_str(&digits);
            out.extend(std::iter::repeat_n('0', n - digits.len()));
            out.push_str(".0");
        } else {
            out.push_str(&digits[..n]);
            out.push('.');
            out.push_str(&digits[n..]);
        }
    }
}

/// The published text of a float: `NaN`, `Infinity`, `-Infinity`, or `repr` without `.0`.
fn render(value: f64, out: &mut String) {
    if value.is_nan() {
        out.push_str("NaN");
    } else if value.is_infinite() {
        out.push_str(if value > 0.0 { "Infinity" } else { "-Infinity" });
    } else {
        let start = out.len();
        python_repr(value, out);
        if out[start..].ends_with(".0") {
            out.truncate(out.len() - 2);
        }
    }
}

/// Append the text of an Oracle BINARY_DOUBLE (8 bytes).
pub fn decode_binary_double(raw: &[u8], out: &mut String) -> Result<()> {
    let Ok(bytes) = <[u8; 8]>::try_from(raw) else {
        return Err(Error::malformed("BINARY_DOUBLE must be 8 bytes").at("hex", hex_upper(raw)));
    };
    render(
        f64::from_bits(from_oracle_bits64(u64::from_be_bytes(bytes))),
        out,
    );
    Ok(())
}

/// Append the text of an Oracle BINARY_FLOAT (4 bytes).
pub fn decode_binary_float(raw: &[u8], out: &mut String) -> Result<()> {
    let Ok(bytes) = <[u8; 4]>::try_from(raw) else {
        return Err(Error::malformed("BINARY_FLOAT must be 4 bytes").at("hex", hex_upper(raw)));
    };
    let value = f32::from_bits(from_oracle_bits32(u32::from_be_bytes(bytes)));
    if value.is_nan() || value.is_infinite() {
        render(f64::from(value), out);
        return Ok(());
    }
    let wide = f64::from(value);
    for digits in 1..=9usize {
        // f"{value:.{digits - 1}e}": correctly rounded, ties to even, as Rust formats it.
        let text = format!("{:.*e}", digits - 1, wide);
        let Ok(candidate) = text.parse::<f64>() else {
            continue;
        };
        let narrow = candidate as f32; // round to nearest even, as C's (float) cast
        if narrow.is_infinite() && !candidate.is_infinite() {
            continue; // struct.pack('>f') overflows: more digits needed
        }
        if narrow.to_bits() == value.to_bits() {
            render(candidate, out);
            return Ok(());
        }
    }
    // 9 significant digits round-trip every float32; kept total: the plain repr.
    render(wide, out);
    Ok(())
}
