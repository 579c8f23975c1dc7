//! PIX BR Codes (shared/providers/pix-brcode.md): the EMV "copia e cola" text inside a PIX QR
//! code. [`build_static`] makes a static code for a tenant's own PIX key; [`parse`] reads any
//! code — ours or a PSP's — and refuses a malformed one with the reason.
//!
//! Pure: no I/O. Lengths are counted in characters and everything we emit is plain ASCII, so
//! characters are bytes; a code that is not ASCII is refused rather than guessed at.

use std::fmt;

/// The GUI of the PIX arrangement inside field 26.
pub const PIX_GUI: &str = "br.gov.bcb.pix";
/// The longest payload the EMV MPM spec recommends (BCB, bacen/pix-api#457).
pub const MAX_PAYLOAD: usize = 512;

/// CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final XOR).
pub fn crc16(data: &[u8]) -> u16 {
    let mut crc: u16 = 0xFFFF;
    for &b in data {
        crc ^= u16::from(b) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// Why a code was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BrCodeError {
    #[error("the code is empty")]
    Empty,
    #[error("the code is longer than {MAX_PAYLOAD} characters")]
    TooLong,
    #[error("the code has characters outside printable ASCII")]
    NotAscii,
    #[error("the code does not end with a CRC field (6304 and 4 hex digits)")]
    NoCrc,
    #[error("CRC mismatch: the code says {found}, its content gives {expected:04X}")]
    BadCrc { found: String, expected: u16 },
    #[error("field {id} at position {at}: the length {len:?} is not two digits")]
    BadLength { id: String, at: usize, len: String },
    #[error("field at position {at}: the id {id:?} is not two digits")]
    BadId { id: String, at: usize },
    #[error("field {id} at position {at}: it declares {declared} characters but only {left} remain")]
    Truncated {
        id: String,
        at: usize,
        declared: usize,
        left: usize,
    },
    #[error("field {0} appears twice")]
    Duplicate(String),
    #[error("field {id} is out of order (after {after})")]
    OutOfOrder { id: String, after: String },
    #[error("mandatory field {0} ({1}) is missing")]
    Missing(&'static str, &'static str),
    #[error("field {id} is invalid: {why}")]
    Invalid { id: &'static str, why: String },
}

/// One TLV object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tlv {
    pub id: String,
    pub value: String,
}

/// Splits `s` into TLV objects, checking every id and length.
pub fn tlvs(s: &str, offset: usize) -> Result<Vec<Tlv>, BrCodeError> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let at = offset + i;
        if b.len() - i < 4 {
            return Err(BrCodeError::Truncated {
                id: s[i..].chars().take(2).collect(),
                at,
                declared: 4,
                left: b.len() - i,
            });
        }
        let id = &s[i..i + 2];
        if !id.bytes().all(|c| c.is_ascii_digit()) {
            return Err(BrCodeError::BadId { id: id.into(), at });
        }
        let len_txt = &s[i + 2..i + 4];
        if !len_txt.bytes().all(|c| c.is_ascii_digit()) {
            return Err(BrCodeError::BadLength {
                id: id.into(),
                at,
                len: len_txt.into(),
            });
        }
        let len: usize = len_txt.parse().map_err(|_| BrCodeError::BadLength {
            id: id.into(),
            at,
            len: len_txt.into(),
        })?;
        let start = i + 4;
        if b.len() - start < len {
            return Err(BrCodeError::Truncated {
                id: id.into(),
                at,
                declared: len,
                left: b.len() - start,
            });
        }
        out.push(Tlv {
            id: id.into(),
            value: s[start..start + len].into(),
        });
        i = start + len;
    }
    Ok(out)
}

/// A code read back: the fields painel cares about, and every top-level object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrCode {
    /// `01`: `12` = single use (dynamic codes).
    pub initiation: Option<String>,
    /// `26/01`: the receiver's key (static codes).
    pub key: Option<String>,
    /// `26/25`: the PSP's payload URL (dynamic codes).
    pub url: Option<String>,
    /// `26/02`.
    pub info: Option<String>,
    pub mcc: String,
    pub currency: String,
    /// `54` in centavos.
    pub amount_minor: Option<i64>,
    pub country: String,
    pub merchant_name: String,
    pub merchant_city: String,
    /// `62/05`; `***` when the code has none.
    pub txid: Option<String>,
    pub fields: Vec<Tlv>,
}

fn invalid(id: &'static str, why: impl Into<String>) -> BrCodeError {
    BrCodeError::Invalid { id, why: why.into() }
}

/// `"49.90"` → 4990; refuses anything but digits, one optional dot and at most two decimals.
fn amount_minor(v: &str) -> Result<i64, BrCodeError> {
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    let digits = |s: &str| s.bytes().all(|c| c.is_ascii_digit());
    if int.is_empty() || !digits(int) || !digits(frac) || frac.len() > 2 || v.len() > 13 {
        return Err(invalid("54", format!("amount {v:?} is not a decimal like 49.90")));
    }
    let frac_minor = match frac.len() {
        0 => 0,
        1 => frac.parse::<i64>().unwrap_or(0) * 10,
        _ => frac.parse::<i64>().unwrap_or(0),
    };
    int.parse::<i64>()
        .ok()
        .and_then(|i| i.checked_mul(100))
        .and_then(|i| i.checked_add(frac_minor))
        .ok_or_else(|| invalid("54", "amount too large"))
}

/// Reads and checks a BR Code: printable ASCII, CRC, every TLV length (nested ones too),
/// `00` first and `63` last with ascending ids between, and the mandatory fields.
pub fn parse(code: &str) -> Result<BrCode, BrCodeError> {
    if code.is_empty() {
        return Err(BrCodeError::Empty);
    }
    if code.len() > MAX_PAYLOAD {
        return Err(BrCodeError::TooLong);
    }
    if !code.bytes().all(|c| (0x20..0x7f).contains(&c)) {
        return Err(BrCodeError::NotAscii);
    }
    let n = code.len();
    if n < 8 || &code[n - 8..n - 4] != "6304" {
        return Err(BrCodeError::NoCrc);
    }
    let found = &code[n - 4..];
    if !found.bytes().all(|c| c.is_ascii_hexdigit()) {
        return Err(BrCodeError::NoCrc);
    }
    let expected = crc16(&code.as_bytes()[..n - 4]);
    if !found.eq_ignore_ascii_case(&format!("{expected:04X}")) {
        return Err(BrCodeError::BadCrc {
            found: found.into(),
            expected,
        });
    }
    let fields = tlvs(code, 0)?;
    let mut prev: Option<&str> = None;
    for f in &fields {
        if let Some(p) = prev {
            if f.id.as_str() == p {
                return Err(BrCodeError::Duplicate(f.id.clone()));
            }
            if f.id.as_str() < p {
                return Err(BrCodeError::OutOfOrder {
                    id: f.id.clone(),
                    after: p.into(),
                });
            }
        }
        prev = Some(&f.id);
    }
    let get = |id: &str| fields.iter().find(|f| f.id == id).map(|f| f.value.as_str());
    if fields.first().map(|f| f.id.as_str()) != Some("00") {
        return Err(BrCodeError::Missing("00", "payload format indicator, first"));
    }
    if get("00") != Some("01") {
        return Err(invalid("00", "payload format indicator must be 01"));
    }
    if fields.last().map(|f| f.id.as_str()) != Some("63") {
        return Err(BrCodeError::NoCrc);
    }
    let initiation = get("01").map(str::to_owned);
    if let Some(i) = &initiation {
        if i != "11" && i != "12" {
            return Err(invalid("01", format!("point of initiation {i:?} is neither 11 nor 12")));
        }
    }
    // The PIX template is the 26–51 template whose GUI is br.gov.bcb.pix (a PSP may add its own).
    let mut pix = None;
    for f in fields.iter().filter(|f| ("26".."52").contains(&f.id.as_str())) {
        let sub = tlvs(&f.value, 0)?;
        if sub
            .first()
            .is_some_and(|s| s.id == "00" && s.value.eq_ignore_ascii_case(PIX_GUI))
        {
            pix = Some(sub);
            break;
        }
    }
    let Some(pix) = pix else {
        return Err(BrCodeError::Missing(
            "26",
            "merchant account information with GUI br.gov.bcb.pix",
        ));
    };
    let sub = |id: &str| pix.iter().find(|s| s.id == id).map(|s| s.value.clone());
    let (key, url) = (sub("01"), sub("25"));
    if key.is_none() && url.is_none() {
        return Err(BrCodeError::Missing("26/01", "PIX key (or 26/25 URL)"));
    }
    let mcc = get("52").ok_or(BrCodeError::Missing("52", "merchant category code"))?;
    if mcc.len() != 4 || !mcc.bytes().all(|c| c.is_ascii_digit()) {
        return Err(invalid("52", "merchant category code must be 4 digits"));
    }
    let currency = get("53").ok_or(BrCodeError::Missing("53", "transaction currency"))?;
    if currency != "986" {
        return Err(invalid("53", format!("currency {currency:?} is not BRL (986)")));
    }
    let amount = get("54").map(amount_minor).transpose()?;
    let country = get("58").ok_or(BrCodeError::Missing("58", "country code"))?;
    if country.len() != 2 {
        return Err(invalid("58", "country code must be 2 letters"));
    }
    let name = get("59").ok_or(BrCodeError::Missing("59", "merchant name"))?;
    if name.is_empty() || name.len() > 25 {
        return Err(invalid("59", "merchant name must be 1–25 characters"));
    }
    let city = get("60").ok_or(BrCodeError::Missing("60", "merchant city"))?;
    if city.is_empty() || city.len() > 15 {
        return Err(invalid("60", "merchant city must be 1–15 characters"));
    }
    let txid = match get("62") {
        Some(v) => tlvs(v, 0)?.into_iter().find(|s| s.id == "05").map(|s| s.value),
        None => None,
    };
    Ok(BrCode {
        initiation,
        key,
        url,
        info: sub("02"),
        mcc: mcc.into(),
        currency: currency.into(),
        amount_minor: amount,
        country: country.into(),
        merchant_name: name.into(),
        merchant_city: city.into(),
        txid,
        fields,
    })
}

/// What a static code carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticCode<'a> {
    /// A key already normalised by [`super::key::PixKey::parse`].
    pub key: &'a str,
    pub merchant_name: &'a str,
    pub merchant_city: &'a str,
    /// Centavos; `None` lets the payer type the amount.
    pub amount_minor: Option<i64>,
    /// `[A-Za-z0-9]{1,25}`; `None` → `***`.
    pub txid: Option<&'a str>,
}

impl fmt::Display for Tlv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{:02}{}", self.id, self.value.len(), self.value)
    }
}

fn tlv(id: &str, value: &str) -> Result<String, BrCodeError> {
    if value.len() > 99 {
        return Err(BrCodeError::Invalid {
            id: "26",
            why: format!("field {id} would be {} characters (at most 99)", value.len()),
        });
    }
    Ok(format!("{id}{:02}{value}", value.len()))
}

/// Plain upper-case ASCII: accents folded ("São Paulo" → "SAO PAULO"), anything else dropped,
/// cut to `max` characters.
pub fn ascii_text(s: &str, max: usize) -> String {
    let folded: String = s
        .chars()
        .map(|c| match c {
            'á' | 'à' | 'â' | 'ã' | 'ä' | 'Á' | 'À' | 'Â' | 'Ã' | 'Ä' => 'A',
            'é' | 'è' | 'ê' | 'ë' | 'É' | 'È' | 'Ê' | 'Ë' => 'E',
            'í' | 'ì' | 'î' | 'ï' | 'Í' | 'Ì' | 'Î' | 'Ï' => 'I',
            'ó' | 'ò' | 'ô' | 'õ' | 'ö' | 'Ó' | 'Ò' | 'Ô' | 'Õ' | 'Ö' => 'O',
            'ú' | 'ù' | 'û' | 'ü' | 'Ú' | 'Ù' | 'Û' | 'Ü' => 'U',
            'ç' | 'Ç' => 'C',
            'ñ' | 'Ñ' => 'N',
            c => c.to_ascii_uppercase(),
        })
        .filter(|c| c.is_ascii_alphanumeric() || *c == ' ')
        .collect();
    let squeezed = folded.split_whitespace().collect::<Vec<_>>().join(" ");
    squeezed.chars().take(max).collect::<String>().trim_end().to_owned()
}

/// Builds a static code (fields in ascending order, CRC last) and parses it back before
/// returning it, so a code we hand out always reads.
pub fn build_static(c: &StaticCode<'_>) -> Result<String, BrCodeError> {
    let name = ascii_text(c.merchant_name, 25);
    let city = ascii_text(c.merchant_city, 15);
    if name.is_empty() {
        return Err(invalid("59", "merchant name has no usable characters"));
    }
    if city.is_empty() {
        return Err(invalid("60", "merchant city has no usable characters"));
    }
    let txid = match c.txid {
        None => "***".to_owned(),
        Some(t) if !t.is_empty() && t.len() <= 25 && t.bytes().all(|b| b.is_ascii_alphanumeric()) => t.to_owned(),
        Some(t) => return Err(invalid("62", format!("txid {t:?} must be 1–25 letters or digits"))),
    };
    if c.key.is_empty() || c.key.len() > 77 {
        return Err(invalid("26", "PIX key must be 1–77 characters"));
    }
    let mut s = String::from("000201");
    s += &tlv("26", &(tlv("00", PIX_GUI)? + &tlv("01", c.key)?))?;
    s += "52040000";
    s += "5303986";
    if let Some(a) = c.amount_minor {
        if a <= 0 {
            return Err(invalid("54", "amount must be positive"));
        }
        let text = format!("{}.{:02}", a / 100, a % 100);
        if text.len() > 13 {
            return Err(invalid("54", "amount too large"));
        }
        s += &tlv("54", &text)?;
    }
    s += "5802BR";
    s += &tlv("59", &name)?;
    s += &tlv("60", &city)?;
    s += &tlv("62", &tlv("05", &txid)?)?;
    s += "6304";
    s += &format!("{:04X}", crc16(s.as_bytes()));
    parse(&s)?;
    Ok(s)
}

#[cfg(test)]
#[path = "brcode/tests.rs"]
mod tests;
