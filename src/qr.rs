//! QR codes drawn in the terminal with Unicode half blocks (two modules per character).

use anyhow::Result;
use qrcode::render::unicode::Dense1x2;
use qrcode::{EcLevel, QrCode};

/// The code for `data`, light modules as blocks: on the usual light-on-dark terminal the
/// code reads as dark-on-light, the polarity every scanner expects. The quiet zone is kept.
pub fn render(data: &str) -> Result<String> {
    let code = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M)?;
    Ok(code
        .render::<Dense1x2>()
        .dark_color(Dense1x2::Light)
        .light_color(Dense1x2::Dark)
        .quiet_zone(true)
        .build())
}

#[cfg(test)]
mod tests {
    #[test]
    fn renders_half_block_rows() {
        let text = super::render("otpauth://totp/painel:ana?secret=JBSWY3DPEHPK3PXP&issuer=painel").unwrap();
        let rows: Vec<&str> = text.lines().collect();
        // Two modules per row: a version-4 code plus quiet zone is 41 modules square.
        assert!(rows.len() >= 15, "{}", rows.len());
        let width = rows[0].chars().count();
        assert!(rows.iter().all(|r| r.chars().count() == width));
        assert!(text
            .chars()
            .all(|c| matches!(c, ' ' | '\u{2580}' | '\u{2584}' | '\u{2588}' | '\n')));
        assert!(
            rows[0].chars().all(|c| c == '\u{2588}'),
            "quiet zone is light: {}",
            rows[0]
        );
    }
}
