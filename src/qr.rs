//! QR codes for `painel 2fa enroll`: the renderer lives in `widgets::qr`, shared with the TUI.

use anyhow::Result;

/// The code for `data` as one block of text (see [`widgets::qr::qr_lines`]).
pub fn render(data: &str) -> Result<String> {
    Ok(widgets::qr::qr_lines(data)?.join("\n"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn renders_one_row_per_line() {
        let text = super::render("otpauth://totp/painel:ana?secret=JBSWY3DPEHPK3PXP&issuer=painel").unwrap();
        assert!(text.lines().count() >= 15);
        assert!(text.lines().next().unwrap().chars().all(|c| c == '\u{2588}'));
    }
}
