use proptest::prelude::*;

use super::*;

const BCB_STATIC: &str = "00020126580014br.gov.bcb.pix0136123e4567-e12b-12d1-a456-4266554400005204000053039865802BR5913Fulano de Tal6008BRASILIA62070503***63041D3D";
const GIST_DYNAMIC: &str = "00020101021226770014BR.GOV.BCB.PIX2555pix.example.com/qr/93598be0-1bd0-4997-8318-81776a1d8a995204000053039865802BR5907EMPRESA6009SAO PAULO62070503***6304EEAB";
const PHONE_AMOUNT: &str = "00020126360014BR.GOV.BCB.PIX0114+5511943214321520400005303986540566.665802BR5907EMPRESA6008BRASILIA62070503***630404ED";
const GIST_MALFORMED: &str = "00020126360014BR.GOV.BCB.PIX0114+5511943214321520400005303986540566.665802BR5907EMPRESA6008BRASILIA62080503***6304170E";
const MERCADOPAGO: &str = "00020126580014br.gov.bcb.pix0136b76aa9c2-2ec4-4110-954e-ebfe34f05b61520400005303986540512.345802BR5911TE35069Wi056014Begz kGOBJEUte62230519mpqrinter132741051963042B7C";
const PAGBANK: &str = "00020101021226850014br.gov.bcb.pix2563api-h.pagseguro.com/pix/v2/F7D7A43A-FCD5-43B9-8AE3-2D17F9E1D52F27600016BR.COM.PAGSEGURO0136F7D7A43A-FCD5-43B9-8AE3-2D17F9E1D52F520482205303986540599.005802BR5916NI projetos LTDA6015Sao Bernardo do62070503***63040BAC";

#[test]
fn crc_check_value() {
    assert_eq!(crc16(b"123456789"), 0x29B1);
}

#[test]
fn reads_every_reference_code() {
    let c = parse(BCB_STATIC).unwrap();
    assert_eq!(c.key.as_deref(), Some("123e4567-e12b-12d1-a456-426655440000"));
    assert_eq!(
        (c.merchant_name.as_str(), c.merchant_city.as_str()),
        ("Fulano de Tal", "BRASILIA")
    );
    assert_eq!((c.amount_minor, c.txid.as_deref()), (None, Some("***")));

    let c = parse(GIST_DYNAMIC).unwrap();
    assert_eq!(c.initiation.as_deref(), Some("12"));
    assert_eq!(
        c.url.as_deref(),
        Some("pix.example.com/qr/93598be0-1bd0-4997-8318-81776a1d8a99")
    );
    assert_eq!(c.key, None);

    let c = parse(PHONE_AMOUNT).unwrap();
    assert_eq!((c.key.as_deref(), c.amount_minor), (Some("+5511943214321"), Some(6666)));

    let c = parse(MERCADOPAGO).unwrap();
    assert_eq!(
        (c.amount_minor, c.txid.as_deref()),
        (Some(1234), Some("mpqrinter1327410519"))
    );

    // A second merchant template (27, the PSP's own GUI) beside the PIX one.
    let c = parse(PAGBANK).unwrap();
    assert_eq!((c.amount_minor, c.mcc.as_str()), (Some(9900), "8220"));
    assert_eq!(c.merchant_city, "Sao Bernardo do");
}

#[test]
fn the_gist_code_with_a_right_crc_and_a_wrong_length_is_refused() {
    let e = parse(GIST_MALFORMED).unwrap_err();
    assert!(matches!(e, BrCodeError::Truncated { .. } | BrCodeError::NoCrc), "{e:?}");
}

#[test]
fn builds_the_reference_codes_byte_for_byte() {
    let bcb = build_static(&StaticCode {
        key: "123e4567-e12b-12d1-a456-426655440000",
        merchant_name: "Fulano de Tal",
        merchant_city: "Brasília",
        amount_minor: None,
        txid: None,
    })
    .unwrap();
    // Our names are upper-case ASCII; the manual's example keeps "Fulano de Tal".
    assert_eq!(
        bcb,
        "00020126580014br.gov.bcb.pix0136123e4567-e12b-12d1-a456-4266554400005204000053039865802BR5913FULANO DE TAL6008BRASILIA62070503***6304"
            .to_owned()
            + &format!(
                "{:04X}",
                crc16(b"00020126580014br.gov.bcb.pix0136123e4567-e12b-12d1-a456-4266554400005204000053039865802BR5913FULANO DE TAL6008BRASILIA62070503***6304")
            )
    );
    let phone = build_static(&StaticCode {
        key: "+5511943214321",
        merchant_name: "EMPRESA",
        merchant_city: "BRASILIA",
        amount_minor: Some(6666),
        txid: None,
    })
    .unwrap();
    // Same as PHONE_AMOUNT but with the GUI in lower case.
    assert_eq!(
        phone.replace("br.gov.bcb.pix", "BR.GOV.BCB.PIX")[..phone.len() - 4],
        PHONE_AMOUNT[..PHONE_AMOUNT.len() - 4]
    );
    assert!(parse(&phone).is_ok());
}

#[test]
fn clear_errors_for_each_kind_of_damage() {
    let body = &BCB_STATIC[..BCB_STATIC.len() - 4];
    assert!(matches!(parse(&format!("{body}0000")), Err(BrCodeError::BadCrc { .. })));
    assert_eq!(parse(""), Err(BrCodeError::Empty));
    assert_eq!(parse("000201"), Err(BrCodeError::NoCrc));
    // A non-numeric length, with a CRC recomputed so only the length is wrong.
    let with_crc = |s: &str| {
        let s = format!("{s}6304");
        let crc = crc16(s.as_bytes());
        format!("{s}{crc:04X}")
    };
    let e = parse(&with_crc("000201265X0014br.gov.bcb.pix")).unwrap_err();
    assert!(matches!(e, BrCodeError::BadLength { .. }), "{e:?}");
    assert!(e.to_string().contains("is not two digits"));
    // Missing merchant name.
    let no_name = with_crc("00020126580014br.gov.bcb.pix0136123e4567-e12b-12d1-a456-4266554400005204000053039865802BR6008BRASILIA62070503***");
    assert_eq!(parse(&no_name), Err(BrCodeError::Missing("59", "merchant name")));
    // No PIX template at all.
    let no_pix = with_crc("0002015204000053039865802BR5901A6001B");
    assert!(matches!(parse(&no_pix), Err(BrCodeError::Missing("26", _))));
    // Out of order.
    let swapped =
        with_crc("00020126580014br.gov.bcb.pix0136123e4567-e12b-12d1-a456-4266554400005303986520400005802BR5901A6001B");
    assert!(matches!(parse(&swapped), Err(BrCodeError::OutOfOrder { .. })));
    // A nested length that overruns its parent.
    let nested = with_crc("00020126180014br.gov.bcb.pix0199ab52040000");
    assert!(matches!(parse(&nested), Err(BrCodeError::Truncated { .. })));
    assert!(matches!(parse("ção"), Err(BrCodeError::NotAscii)));
}

#[test]
fn builder_refuses_bad_input() {
    let base = StaticCode {
        key: "+5511943214321",
        merchant_name: "Loja",
        merchant_city: "Recife",
        amount_minor: Some(100),
        txid: Some("INV1"),
    };
    assert!(build_static(&StaticCode {
        txid: Some("has space"),
        ..base.clone()
    })
    .is_err());
    assert!(build_static(&StaticCode {
        txid: Some(&"x".repeat(26)),
        ..base.clone()
    })
    .is_err());
    assert!(build_static(&StaticCode {
        amount_minor: Some(0),
        ..base.clone()
    })
    .is_err());
    assert!(build_static(&StaticCode {
        merchant_name: "¿¿",
        ..base.clone()
    })
    .is_err());
    assert!(build_static(&StaticCode {
        key: "",
        ..base.clone()
    })
    .is_err());
    assert_eq!(ascii_text("São  Paulo – Centro", 15), "SAO PAULO CENTR");
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9]{11}",
        "[0-9]{14}",
        "[a-z0-9]{1,20}@[a-z]{1,10}\\.com",
        "\\+55[0-9]{11}",
        "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
    ]
}

proptest! {
    #[test]
    fn round_trip(
        key in key(),
        name in "[A-Za-z ãéç]{1,40}",
        city in "[A-Za-z ]{0,30}[A-Za-z]",
        amount in proptest::option::of(1i64..100_000_000_000),
        txid in proptest::option::of("[A-Za-z0-9]{1,25}"),
    ) {
        let c = StaticCode { key: &key, merchant_name: &name, merchant_city: &city, amount_minor: amount, txid: txid.as_deref() };
        let Ok(code) = build_static(&c) else {
            // Only names with no usable characters may be refused.
            prop_assert!(ascii_text(&name, 25).is_empty());
            return Ok(());
        };
        let back = parse(&code).unwrap();
        prop_assert_eq!(back.key.as_deref(), Some(key.as_str()));
        prop_assert_eq!(back.amount_minor, amount);
        prop_assert_eq!(back.txid.as_deref(), Some(txid.as_deref().unwrap_or("***")));
        prop_assert_eq!(back.merchant_name, ascii_text(&name, 25));
        prop_assert_eq!(back.merchant_city, ascii_text(&city, 15));
    }

    /// Any one changed character is caught: by the CRC, or by the TLV rules.
    #[test]
    fn corruption_is_refused(pos in 0usize..150, c in 0x20u8..0x7f) {
        let code = PHONE_AMOUNT;
        let pos = pos % code.len();
        prop_assume!(code.as_bytes()[pos] != c);
        // A case change in the CRC digits is the same CRC.
        prop_assume!(!(pos >= code.len() - 4 && code.as_bytes()[pos].eq_ignore_ascii_case(&c)));
        let mut bytes = code.as_bytes().to_vec();
        bytes[pos] = c;
        let bad = String::from_utf8(bytes).unwrap();
        prop_assert!(parse(&bad).is_err(), "accepted {}", bad);
    }

    /// Cut anywhere: refused.
    #[test]
    fn truncation_is_refused(len in 0usize..140) {
        prop_assert!(parse(&PHONE_AMOUNT[..len.min(PHONE_AMOUNT.len() - 1)]).is_err());
    }
}
