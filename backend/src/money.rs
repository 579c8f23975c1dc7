//! Money is integer minor units plus an ISO 4217 code; floats never touch it.

/// Digits after the decimal point for a currency (ISO 4217 exponent).
pub fn exponent(currency: &str) -> u32 {
    match currency {
        "JPY" | "KRW" | "CLP" | "PYG" | "VND" => 0,
        "BHD" | "KWD" | "OMR" | "TND" | "JOD" => 3,
        _ => 2,
    }
}

/// `123456, "BRL"` → `"1,234.56 BRL"`.
pub fn format(minor: i64, currency: &str) -> String {
    let exp = exponent(currency);
    let unit = 10u128.pow(exp);
    let abs = u128::from(minor.unsigned_abs());
    let (whole, frac) = (abs / unit, abs % unit);
    let mut digits = whole.to_string();
    let mut grouped = String::new();
    while digits.len() > 3 {
        let tail = digits.split_off(digits.len() - 3);
        grouped = format!(",{tail}{grouped}");
    }
    let sign = if minor < 0 { "-" } else { "" };
    if exp == 0 {
        format!("{sign}{digits}{grouped} {currency}")
    } else {
        format!(
            "{sign}{digits}{grouped}.{frac:0width$} {currency}",
            width = exp as usize
        )
    }
}

/// Parses a typed amount ("1234.5", "1,234.56") into minor units, exactly.
pub fn parse(raw: &str, currency: &str) -> Result<i64, String> {
    let exp = exponent(currency) as usize;
    let s: String = raw.trim().chars().filter(|c| *c != ',' && *c != '_').collect();
    let (neg, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest.to_owned()),
        None => (false, s),
    };
    let (whole, frac) = s.split_once('.').unwrap_or((&s, ""));
    let all_digits = |p: &str| p.chars().all(|c| c.is_ascii_digit());
    if whole.is_empty() || !all_digits(whole) || !all_digits(frac) || frac.len() > exp {
        return Err(format!("must be an amount with at most {exp} decimals, like 49.90"));
    }
    let frac = format!("{frac:0<exp$}");
    let too_big = || "is too large".to_owned();
    let whole: i64 = whole.parse().map_err(|_| too_big())?;
    let frac: i64 = if frac.is_empty() {
        0
    } else {
        frac.parse().map_err(|_| too_big())?
    };
    let minor = whole
        .checked_mul(10i64.pow(exp as u32))
        .and_then(|w| w.checked_add(frac))
        .ok_or_else(too_big)?;
    Ok(if neg { -minor } else { minor })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn formats() {
        assert_eq!(format(123456, "BRL"), "1,234.56 BRL");
        assert_eq!(format(-5, "USD"), "-0.05 USD");
        assert_eq!(format(1000, "JPY"), "1,000 JPY");
        assert_eq!(format(0, "BRL"), "0.00 BRL");
        assert_eq!(format(i64::MIN, "BRL"), "-92,233,720,368,547,758.08 BRL");
    }

    #[test]
    fn parses() {
        assert_eq!(parse("49.9", "BRL"), Ok(4990));
        assert_eq!(parse("1,234.56", "BRL"), Ok(123456));
        assert!(parse("1.234", "BRL").is_err());
        assert!(parse("abc", "BRL").is_err());
        assert!(parse("99999999999999999999", "BRL").is_err());
    }

    proptest! {
        #[test]
        fn format_then_parse_round_trips(minor in (i64::MIN + 1)..i64::MAX, cur in prop::sample::select(vec!["BRL", "USD", "JPY", "KWD"])) {
            let text = format(minor, cur);
            let amount = text.trim_end_matches(cur).trim();
            prop_assert_eq!(parse(amount, cur), Ok(minor));
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,40}") {
            let _ = parse(&s, "BRL");
        }
    }
}
