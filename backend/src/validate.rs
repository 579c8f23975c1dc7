//! Input rules shared by every surface. Each returns the normalised value or a message that
//! names what is wrong; callers attach the field name.

pub fn name(raw: &str, max: usize) -> Result<String, String> {
    let v = raw.trim();
    let n = v.chars().count();
    if n < 2 {
        return Err("must be at least 2 characters".into());
    }
    if n > max {
        return Err(format!("must be at most {max} characters"));
    }
    if v.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    Ok(v.to_owned())
}

/// Lower-case letters, digits and single inner hyphens, 2–40 characters.
pub fn slug(raw: &str) -> Result<String, String> {
    let v = raw.trim().to_ascii_lowercase();
    if v.len() < 2 || v.len() > 40 {
        return Err("must be 2 to 40 characters".into());
    }
    if !v
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err("may contain only a-z, 0-9 and '-'".into());
    }
    if v.starts_with('-') || v.ends_with('-') || v.contains("--") {
        return Err("must not start or end with '-' or contain '--'".into());
    }
    Ok(v)
}

/// Derives a slug from a display name ("Acme Hosting Ltda." → "acme-hosting-ltda").
pub fn slugify(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars().flat_map(fold_accent) {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let trimmed: String = out.trim_matches('-').chars().take(40).collect();
    trimmed.trim_end_matches('-').to_owned()
}

// Portuguese names are the common case: fold their accents rather than dropping letters.
fn fold_accent(c: char) -> Option<char> {
    Some(match c {
        'á' | 'à' | 'â' | 'ã' | 'ä' | 'Á' | 'À' | 'Â' | 'Ã' | 'Ä' => 'a',
        'é' | 'è' | 'ê' | 'ë' | 'É' | 'È' | 'Ê' | 'Ë' => 'e',
        'í' | 'ì' | 'î' | 'ï' | 'Í' | 'Ì' | 'Î' | 'Ï' => 'i',
        'ó' | 'ò' | 'ô' | 'õ' | 'ö' | 'Ó' | 'Ò' | 'Ô' | 'Õ' | 'Ö' => 'o',
        'ú' | 'ù' | 'û' | 'ü' | 'Ú' | 'Ù' | 'Û' | 'Ü' => 'u',
        'ç' | 'Ç' => 'c',
        'ñ' | 'Ñ' => 'n',
        other => other,
    })
}

/// A DNS host name: at least two labels, each 1–63 of a-z 0-9 '-', not starting or ending
/// with '-', alphabetic top-level label, 253 characters at most.
pub fn domain(raw: &str) -> Result<String, String> {
    let v = raw.trim().trim_end_matches('.').to_ascii_lowercase();
    let bad = || Err("must be a domain name like example.com.br".to_owned());
    if v.is_empty() || v.len() > 253 {
        return bad();
    }
    let labels: Vec<&str> = v.split('.').collect();
    if labels.len() < 2 {
        return bad();
    }
    for l in &labels {
        if l.is_empty() || l.len() > 63 || l.starts_with('-') || l.ends_with('-') {
            return bad();
        }
        if !l
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return bad();
        }
    }
    match labels.last() {
        Some(tld) if tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_lowercase()) => Ok(v),
        _ => bad(),
    }
}

pub fn email(raw: &str) -> Result<String, String> {
    let v = raw.trim();
    let Some((local, host)) = v.rsplit_once('@') else {
        return Err("must be an e-mail address like ops@example.com".into());
    };
    if local.is_empty() || local.len() > 64 || local.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must be an e-mail address like ops@example.com".into());
    }
    let host = domain(host).map_err(|_| "must be an e-mail address like ops@example.com".to_owned())?;
    Ok(format!("{local}@{host}"))
}

/// `#rrggbb`, stored lower-case.
pub fn color(raw: &str) -> Result<String, String> {
    let v = raw.trim().to_ascii_lowercase();
    let ok = v.len() == 7 && v.starts_with('#') && v[1..].chars().all(|c| c.is_ascii_hexdigit());
    if ok {
        Ok(v)
    } else {
        Err("must be a colour like #1e90ff".into())
    }
}

pub fn currency(raw: &str) -> Result<String, String> {
    let v = raw.trim().to_ascii_uppercase();
    if v.len() == 3 && v.chars().all(|c| c.is_ascii_uppercase()) {
        Ok(v)
    } else {
        Err("must be an ISO 4217 code like BRL".into())
    }
}

/// A Brazilian taxpayer number: a CPF (11 digits) or a CNPJ (14 digits) whose two check digits
/// are right. Punctuation (`123.456.789-09`, `12.345.678/0001-95`) is accepted and dropped: the
/// digits are what is stored. A number of one repeated digit passes the arithmetic but is
/// never issued, so it is refused too.
pub fn document(raw: &str) -> Result<String, String> {
    let v = raw.trim();
    if !v.chars().all(|c| c.is_ascii_digit() || ".-/ ".contains(c)) {
        return Err("must be a CPF (11 digits) or CNPJ (14 digits)".into());
    }
    let digits: Vec<u32> = v.chars().filter_map(|c| c.to_digit(10)).collect();
    let expected = match digits.len() {
        11 => cpf_check(&digits[..9]),
        14 => cnpj_check(&digits[..12]),
        _ => return Err("must be a CPF (11 digits) or CNPJ (14 digits)".into()),
    };
    let kind = if digits.len() == 11 { "CPF" } else { "CNPJ" };
    if digits.windows(2).all(|w| w[0] == w[1]) || digits[digits.len() - 2..] != expected {
        return Err(format!("is not a valid {kind}: its check digits do not match"));
    }
    Ok(digits.iter().filter_map(|d| char::from_digit(*d, 10)).collect())
}

/// The two CPF check digits of 9 base digits (mod 11, weights 10..2 then 11..2).
pub fn cpf_check(base: &[u32]) -> [u32; 2] {
    let d1 = mod11(base, &[10, 9, 8, 7, 6, 5, 4, 3, 2]);
    let mut with = base.to_vec();
    with.push(d1);
    [d1, mod11(&with, &[11, 10, 9, 8, 7, 6, 5, 4, 3, 2])]
}

/// The two CNPJ check digits of 12 base digits.
pub fn cnpj_check(base: &[u32]) -> [u32; 2] {
    let d1 = mod11(base, &[5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]);
    let mut with = base.to_vec();
    with.push(d1);
    [d1, mod11(&with, &[6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2])]
}

// Both numbers use the same rule: 11 - (sum mod 11), where 10 and 11 become 0.
fn mod11(digits: &[u32], weights: &[u32]) -> u32 {
    let sum: u32 = digits.iter().zip(weights).map(|(d, w)| d * w).sum();
    match 11 - sum % 11 {
        10 | 11 => 0,
        r => r,
    }
}

pub fn one_of(raw: &str, allowed: &[&str]) -> Result<String, String> {
    let v = raw.trim().to_ascii_lowercase();
    if allowed.contains(&v.as_str()) {
        Ok(v)
    } else {
        Err(format!("must be one of: {}", allowed.join(", ")))
    }
}

/// A limit: a non-negative count, or `None` for unlimited.
pub fn limit(v: Option<i64>) -> Result<Option<i64>, String> {
    match v {
        Some(n) if n < 0 => Err("must be 0 or more (or unlimited)".into()),
        other => Ok(other),
    }
}

/// Parses a limit as typed by a person: a number, or empty / "unlimited" / "∞".
pub fn parse_limit(raw: &str) -> Result<Option<i64>, String> {
    let v = raw.trim();
    if v.is_empty() || v.eq_ignore_ascii_case("unlimited") || v == "∞" || v == "-" {
        return Ok(None);
    }
    v.parse::<i64>()
        .map_err(|_| "must be a whole number or 'unlimited'".to_owned())
        .and_then(|n| limit(Some(n)))
}

/// Escapes `%`, `_` and `\` for a `LIKE … ESCAPE '\'` pattern and wraps it for "contains".
pub fn like_contains(term: &str) -> String {
    let mut out = String::from("%");
    for c in term.trim().to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn domains() {
        assert_eq!(domain(" Example.COM.br. "), Ok("example.com.br".into()));
        assert!(domain("localhost").is_err());
        assert!(domain("-bad.com").is_err());
        assert!(domain("a..com").is_err());
        assert!(domain("x.c0m").is_err());
    }

    #[test]
    fn slugs_and_slugify() {
        assert_eq!(slugify("Conexão Hospedagem Ltda."), "conexao-hospedagem-ltda");
        assert_eq!(slug("Acme-1"), Ok("acme-1".into()));
        assert!(slug("a").is_err());
        assert!(slug("bad--slug").is_err());
        assert!(slug("ação").is_err());
    }

    #[test]
    fn emails_and_colors_and_limits() {
        assert_eq!(email("Ops@Example.com"), Ok("Ops@example.com".into()));
        assert!(email("no-at-sign").is_err());
        assert_eq!(color("#AABBCC"), Ok("#aabbcc".into()));
        assert!(color("#abc").is_err());
        assert_eq!(parse_limit("unlimited"), Ok(None));
        assert_eq!(parse_limit("15"), Ok(Some(15)));
        assert!(parse_limit("-3").is_err());
        assert_eq!(like_contains("50%_a\\"), "%50\\%\\_a\\\\%");
    }

    #[test]
    fn cpf_and_cnpj_check_digits() {
        assert_eq!(document("123.456.789-09"), Ok("12345678909".into()));
        assert_eq!(document(" 12.345.678/0001-95 "), Ok("12345678000195".into()));
        assert!(document("123.456.789-08").unwrap_err().contains("CPF"));
        assert!(document("12.345.678/0001-94").unwrap_err().contains("CNPJ"));
        assert!(document("111.111.111-11").is_err());
        assert!(document("123").is_err());
        assert!(document("123.456.789-0x").is_err());
        // The mod-11 rule's blind spot (10 and 11 both become 0): these two CPFs differ in one
        // digit and both are valid, so the property test below allows exactly this case.
        assert!(document("76923238609").is_ok() && document("66923238609").is_ok());
    }

    proptest! {
        #[test]
        fn slugify_output_is_a_valid_slug_or_empty(s in "\\PC{0,60}") {
            let out = slugify(&s);
            prop_assert!(out.is_empty() || out.len() < 2 || slug(&out) == Ok(out.clone()));
        }

        #[test]
        fn valid_documents_pass_and_a_changed_digit_fails(
            base in proptest::collection::vec(0u32..10, 12),
            cnpj in any::<bool>(),
            formatted in any::<bool>(),
            at in 0usize..14,
            delta in 1u32..10,
        ) {
            let n = if cnpj { 12 } else { 9 };
            let mut digits = base[..n].to_vec();
            prop_assume!(!digits.windows(2).all(|w| w[0] == w[1]));
            let check = if cnpj { cnpj_check(&digits) } else { cpf_check(&digits) };
            digits.extend(check);
            let plain: String = digits.iter().map(|d| char::from_digit(*d, 10).unwrap()).collect();
            let input = match (formatted, cnpj) {
                (false, _) => plain.clone(),
                (true, false) => format!("{}.{}.{}-{}", &plain[0..3], &plain[3..6], &plain[6..9], &plain[9..]),
                (true, true) => format!("{}.{}.{}/{}-{}", &plain[0..2], &plain[2..5], &plain[5..8], &plain[8..12], &plain[12..]),
            };
            prop_assert_eq!(document(&input), Ok(plain.clone()));
            let at = at % digits.len();
            let mut changed = digits.clone();
            changed[at] = (changed[at] + delta) % 10;
            let text: String = changed.iter().map(|d| char::from_digit(*d, 10).unwrap()).collect();
            // Mod 11 maps remainders 10 and 11 (CNPJ: 0 and 1) to the same 0, so a change is
            // undetectable only when a check digit is 0; every other change must fail.
            let blind_spot = check.contains(&0);
            prop_assert!(document(&text).is_err() || blind_spot, "{} accepted after changing {}", text, plain);
        }

        #[test]
        fn validators_never_panic(s in "\\PC{0,300}") {
            let _ = domain(&s);
            let _ = email(&s);
            let _ = color(&s);
            let _ = slug(&s);
            let _ = parse_limit(&s);
            let _ = document(&s);
            let _ = name(&s, 80);
        }

        #[test]
        fn valid_domains_are_idempotent(labels in proptest::collection::vec("[a-z0-9]{1,20}", 1..4), tld in "[a-z]{2,6}") {
            let d = format!("{}.{}", labels.join("."), tld);
            let once = domain(&d);
            prop_assert_eq!(once.clone(), Ok(d.clone()));
            prop_assert_eq!(domain(&d.to_uppercase()), once);
        }
    }
}
