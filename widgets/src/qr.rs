//! QR codes drawn in the terminal with Unicode half blocks (two modules per character): the
//! one renderer behind `painel 2fa enroll` and the TUI's Settings › Security screen.

use qrcode::render::unicode::Dense1x2;
use qrcode::{EcLevel, QrCode};

pub use qrcode::types::QrError;

/// The code for `data` as rows of text, light modules as blocks: on the usual light-on-dark
/// terminal the code reads as dark-on-light, the polarity every scanner expects. The quiet
/// zone is kept.
pub fn qr_lines(data: &str) -> Result<Vec<String>, QrError> {
    let code = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M)?;
    let text = code
        .render::<Dense1x2>()
        .dark_color(Dense1x2::Light)
        .light_color(Dense1x2::Dark)
        .quiet_zone(true)
        .build();
    Ok(text.lines().map(str::to_owned).collect())
}

#[cfg(test)]
mod tests {
    #[test]
    fn renders_half_block_rows() {
        let rows = super::qr_lines("otpauth://totp/painel:ana?secret=JBSWY3DPEHPK3PXP&issuer=painel").unwrap();
        // Two modules per row: a version-4 code plus quiet zone is 41 modules square.
        assert!(rows.len() >= 15, "{}", rows.len());
        let width = rows[0].chars().count();
        assert!(rows.iter().all(|r| r.chars().count() == width));
        assert!(rows
            .iter()
            .flat_map(|r| r.chars())
            .all(|c| matches!(c, ' ' | '\u{2580}' | '\u{2584}' | '\u{2588}')));
        assert!(
            rows[0].chars().all(|c| c == '\u{2588}'),
            "quiet zone is light: {}",
            rows[0]
        );
    }
}
