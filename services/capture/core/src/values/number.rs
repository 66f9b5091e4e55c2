//! Oracle `NUMBER`/`FLOAT` (`drcapture/values/number.py`): base-100 digits behind a
//! sign/exponent byte. The exact value as a canonical decimal string: no exponent, no
//! trailing zeros after the point, no point for integers; `Infinity`/`-Infinity`.

use crate::error::{Error, Result, hex_upper};

const POS_EXP_BIAS: i32 = 193; // byte0 of a positive number = 193 + base-100 exponent
const NEG_EXP_BIAS: i32 = 62; // byte0 of a negative number = 62 - base-100 exponent
const NEG_TERMINATOR: u8 = 102;
const MAX_MANTISSA: usize = 20;

/// Append the exact decimal text of an Oracle NUMBER's bytes to `out`.
pub fn decode_number(raw: &[u8], out: &mut String) -> Result<()> {
    if raw == [0x80] {
        out.push('0');
        return Ok(());
    }
    let Some(&head) = raw.first() else {
        return Err(Error::malformed("empty NUMBER").at("oracle_type", "NUMBER"));
    };
    let positive = head & 0x80 != 0;
    let (exponent, mantissa) = if positive {
        if raw == [0xFF, 0x65] {
            out.push_str("Infinity");
            return Ok(());
        }
        (i32::from(head) - POS_EXP_BIAS, &raw[1..])
    } else {
        if raw == [0x00] {
            out.push_str("-Infinity");
            return Ok(());
        }
        let body = if raw.last() == Some(&NEG_TERMINATOR) {
            raw.get(1..raw.len() - 1).unwrap_or(&[])
        } else {
            &raw[1..]
        };
        (NEG_EXP_BIAS - i32::from(head), body)
    };
    if mantissa.is_empty() || mantissa.len() > MAX_MANTISSA {
        return Err(
            Error::malformed("NUMBER mantissa length out of range").at("hex", hex_upper(raw))
        );
    }
    let mut digits = [0u8; 2 * MAX_MANTISSA];
    for (i, &b) in mantissa.iter().enumerate() {
        let value = if positive {
            if !(1..=100).contains(&b) {
                return Err(bad_byte(raw));
            }
            b - 1
        } else {
            if !(2..=101).contains(&b) {
                return Err(bad_byte(raw));
            }
            101 - b
        };
        digits[2 * i] = b'0' + value / 10;
        digits[2 * i + 1] = b'0' + value % 10;
    }
    if !positive {
        out.push('-');
    }
    place_point(&digits[..2 * mantissa.len()], 2 * (exponent + 1), out);
    Ok(())
}

fn bad_byte(raw: &[u8]) -> Error {
    Error::malformed("NUMBER mantissa byte out of range").at("hex", hex_upper(raw))
}

fn push_digits(out: &mut String, digits: &[u8]) {
    out.extend(digits.iter().map(|&d| char::from(d)));
}

fn strip_leading(d: &[u8]) -> &[u8] {
    let n = d.iter().take_while(|&&c| c == b'0').count();
    &d[n..]
}

fn strip_trailing(d: &[u8]) -> &[u8] {
    let n = d.iter().rev().take_while(|&&c| c == b'0').count();
    &d[..d.len() - n]
}

/// Render `0.<digits> * 10**int_len` without exponent or superfluous zeros.
fn place_point(digits: &[u8], int_len: i32, out: &mut String) {
    let len = digits.len() as i32;
    if int_len >= len {
        let lead = strip_leading(digits);
        if lead.is_empty() {
            out.push('0'); // the digits and the zeros after them are all zero
        } else {
            push_digits(out, lead);
            out.extend(std::iter::repeat_n('0', (int_len - len) as usize));
        }
        return;
    }
    if int_len <= 0 {
        let frac = strip_trailing(digits);
        if frac.is_empty() {
            out.push('0');
        } else {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-int_len) as usize));
            push_digits(out, frac);
        }
        return;
    }
    let (whole, frac) = digits.split_at(int_len as usize);
    let whole = strip_leading(whole);
    if whole.is_empty() {
        out.push('0');
    } else {
        push_digits(out, whole);
    }
    let frac = strip_trailing(frac);
    if !frac.is_empty() {
        out.push('.');
        push_digits(out, frac);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(raw: &[u8]) -> String {
        let mut s = String::new();
        decode_number(raw, &mut s).unwrap();
        s
    }

    #[test]
    fn known_values() {
        assert_eq!(d(&[0x80]), "0");
        assert_eq!(d(&[0xC1, 0x02]), "1");
        assert_eq!(d(&[0xC2, 0x02, 0x01]), "100");
        assert_eq!(d(&[0xC0, 0x33]), "0.5");
        assert_eq!(d(&[0x3E, 0x64, 0x66]), "-1");
        assert!(decode_number(&[0x66], &mut String::new()).is_err());
        assert!(decode_number(&[], &mut String::new()).is_err());
    }
}
