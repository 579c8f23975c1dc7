//! A tenant's own PIX key (DICT key types): CPF, CNPJ, e-mail, phone (`+55…`) or a random
//! EVP key, each normalised to the form the BR Code carries.

use std::fmt;

use crate::validate;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Cpf,
    Cnpj,
    Email,
    Phone,
    Evp,
}

impl KeyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::Cpf => "cpf",
            KeyKind::Cnpj => "cnpj",
            KeyKind::Email => "email",
            KeyKind::Phone => "phone",
            KeyKind::Evp => "evp",
        }
    }
}

impl fmt::Display for KeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PixKey {
    pub kind: KeyKind,
    /// As it goes into field 26/01.
    pub value: String,
}

const HELP: &str = "must be a PIX key: CPF, CNPJ, e-mail, phone like +5511987654321, or a random key (UUID)";

fn evp(v: &str) -> Option<String> {
    let l = v.to_ascii_lowercase();
    let groups: Vec<&str> = l.split('-').collect();
    let shape = [8, 4, 4, 4, 12];
    let ok = groups.len() == 5
        && groups
            .iter()
            .zip(shape)
            .all(|(g, n)| g.len() == n && g.bytes().all(|c| c.is_ascii_hexdigit()));
    ok.then_some(l)
}

impl PixKey {
    /// Reads a key, guessing its kind from its shape: `+` → phone, `@` → e-mail, a UUID →
    /// EVP, 11/14 digits (punctuation allowed) → CPF/CNPJ with check digits verified.
    pub fn parse(raw: &str) -> Result<PixKey, String> {
        let v = raw.trim();
        if v.is_empty() {
            return Err(HELP.into());
        }
        if let Some(rest) = v.strip_prefix('+') {
            let digits: String = rest.chars().filter(|c| !" -()".contains(*c)).collect();
            // Brazilian numbers: 55 + 2-digit area + 8 or 9 digits.
            if digits.bytes().all(|c| c.is_ascii_digit())
                && digits.starts_with("55")
                && (12..=13).contains(&digits.len())
            {
                return Ok(PixKey {
                    kind: KeyKind::Phone,
                    value: format!("+{digits}"),
                });
            }
            return Err("a phone key must look like +5511987654321".into());
        }
        if v.contains('@') {
            let e = validate::email(v)?;
            if e.len() > 77 {
                return Err("an e-mail key has at most 77 characters".into());
            }
            return Ok(PixKey {
                kind: KeyKind::Email,
                value: e.to_ascii_lowercase(),
            });
        }
        if let Some(k) = evp(v) {
            return Ok(PixKey {
                kind: KeyKind::Evp,
                value: k,
            });
        }
        if v.chars().all(|c| c.is_ascii_digit() || ".-/ ".contains(c)) {
            let doc = validate::document(v)?;
            let kind = if doc.len() == 11 { KeyKind::Cpf } else { KeyKind::Cnpj };
            return Ok(PixKey { kind, value: doc });
        }
        Err(HELP.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_normal_forms() {
        let k = PixKey::parse("529.982.247-25").unwrap();
        assert_eq!((k.kind, k.value.as_str()), (KeyKind::Cpf, "52998224725"));
        let k = PixKey::parse("11.222.333/0001-81").unwrap();
        assert_eq!((k.kind, k.value.as_str()), (KeyKind::Cnpj, "11222333000181"));
        let k = PixKey::parse("Financeiro@Example.COM").unwrap();
        assert_eq!((k.kind, k.value.as_str()), (KeyKind::Email, "financeiro@example.com"));
        let k = PixKey::parse("+55 11 98765-4321").unwrap();
        assert_eq!((k.kind, k.value.as_str()), (KeyKind::Phone, "+5511987654321"));
        let k = PixKey::parse("123E4567-E12B-12D1-A456-426655440000").unwrap();
        assert_eq!(
            (k.kind, k.value.as_str()),
            (KeyKind::Evp, "123e4567-e12b-12d1-a456-426655440000")
        );
    }

    #[test]
    fn refuses_what_is_no_key() {
        for bad in [
            "",
            "529.982.247-26",
            "11111111111",
            "+1 555 0100",
            "+55119",
            "ana@",
            "hello",
            "123e4567-e12b-12d1-a456",
        ] {
            assert!(PixKey::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
