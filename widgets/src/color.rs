//! Colour parsing and the small amount of colour arithmetic the theme needs.
//!
//! Theme files and tenant branding both arrive as text ("#3b82f6", "red", "reset"), so parsing
//! lives here with a typed error instead of ratatui's `FromStr`, whose error carries no detail
//! and which accepts spellings we do not want to promise to users.

use ratatui::style::Color;

/// Why a colour string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ColorError {
    #[error("empty colour")]
    Empty,
    #[error("invalid hex colour {0:?}: expected \"#rrggbb\" or \"#rgb\"")]
    BadHex(String),
    #[error("unknown colour name {0:?}: expected \"#rrggbb\", 0-255, or a name such as red, lightblue, reset")]
    UnknownName(String),
}

/// The named colours, in the spelling [`color_to_string`] writes back.
const NAMES: &[(&str, Color)] = &[
    ("reset", Color::Reset),
    ("black", Color::Black),
    ("red", Color::Red),
    ("green", Color::Green),
    ("yellow", Color::Yellow),
    ("blue", Color::Blue),
    ("magenta", Color::Magenta),
    ("cyan", Color::Cyan),
    ("gray", Color::Gray),
    ("darkgray", Color::DarkGray),
    ("lightred", Color::LightRed),
    ("lightgreen", Color::LightGreen),
    ("lightyellow", Color::LightYellow),
    ("lightblue", Color::LightBlue),
    ("lightmagenta", Color::LightMagenta),
    ("lightcyan", Color::LightCyan),
    ("white", Color::White),
];

/// The colour of a `#rrggbb`/`#rgb` value, if it is one, for a swatch beside it. Named
/// colours are not swatched: a status value "red" is more likely text than a colour.
pub(crate) fn swatch_color(value: &str) -> Option<Color> {
    let value = value.trim();
    value.starts_with('#').then(|| parse_color(value).ok()).flatten()
}

/// Parses `"#rrggbb"`, `"#rgb"`, an xterm index `"0"`–`"255"`, or a colour name
/// (`red`, `light-blue`, `dark_gray`, `grey`, `reset`, … — case, `-`, `_` and spaces ignored).
pub fn parse_color(text: &str) -> Result<Color, ColorError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(ColorError::Empty);
    }
    if let Some(hex) = text.strip_prefix('#') {
        return parse_hex(hex).ok_or_else(|| ColorError::BadHex(text.to_owned()));
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return text
            .parse::<u8>()
            .map(Color::Indexed)
            .map_err(|_| ColorError::UnknownName(text.to_owned()));
    }
    let key: String = text
        .chars()
        .filter(|c| !matches!(c, '-' | '_' | ' '))
        .flat_map(char::to_lowercase)
        .collect::<String>()
        .replace("grey", "gray");
    // "default" is what most terminal docs call the reset colour.
    let key = if key == "default" { "reset".to_owned() } else { key };
    NAMES
        .iter()
        .find(|(name, _)| *name == key)
        .map(|(_, color)| *color)
        .ok_or_else(|| ColorError::UnknownName(text.to_owned()))
}

fn parse_hex(hex: &str) -> Option<Color> {
    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let nibble = |i: usize| u8::from_str_radix(hex.get(i..=i)?, 16).ok();
    let byte = |i: usize| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok();
    match hex.len() {
        6 => Some(Color::Rgb(byte(0)?, byte(2)?, byte(4)?)),
        3 => Some(Color::Rgb(nibble(0)? * 17, nibble(1)? * 17, nibble(2)? * 17)),
        _ => None,
    }
}

/// Writes a colour back in the form [`parse_color`] reads (`#rrggbb` in lower case for RGB).
pub fn color_to_string(color: Color) -> String {
    match color {
        Color::Rgb(r, g, b) => format!("#{r:02x}{g:02x}{b:02x}"),
        Color::Indexed(i) => i.to_string(),
        named => NAMES
            .iter()
            .find(|(_, c)| *c == named)
            .map_or_else(|| "reset".to_owned(), |(name, _)| (*name).to_owned()),
    }
}

/// The xterm default palette, used to reason about named colours (contrast, 256-colour mapping).
/// Terminals differ; these are only good guesses.
const ANSI16: [(u8, u8, u8); 16] = [
    (0, 0, 0),
    (205, 0, 0),
    (0, 205, 0),
    (205, 205, 0),
    (0, 0, 238),
    (205, 0, 205),
    (0, 205, 205),
    (229, 229, 229),
    (127, 127, 127),
    (255, 0, 0),
    (0, 255, 0),
    (255, 255, 0),
    (92, 92, 255),
    (255, 0, 255),
    (0, 255, 255),
    (255, 255, 255),
];

/// Best guess at the RGB a terminal shows for `color`; `None` for `Reset` (unknowable).
pub(crate) fn approx_rgb(color: Color) -> Option<(u8, u8, u8)> {
    let index = match color {
        Color::Reset => return None,
        Color::Rgb(r, g, b) => return Some((r, g, b)),
        Color::Indexed(i) => i,
        Color::Black => 0,
        Color::Red => 1,
        Color::Green => 2,
        Color::Yellow => 3,
        Color::Blue => 4,
        Color::Magenta => 5,
        Color::Cyan => 6,
        Color::Gray => 7,
        Color::DarkGray => 8,
        Color::LightRed => 9,
        Color::LightGreen => 10,
        Color::LightYellow => 11,
        Color::LightBlue => 12,
        Color::LightMagenta => 13,
        Color::LightCyan => 14,
        Color::White => 15,
    };
    Some(indexed_rgb(index))
}

fn indexed_rgb(index: u8) -> (u8, u8, u8) {
    const LEVELS: [u8; 6] = [0, 95, 135, 175, 215, 255];
    match index {
        0..=15 => ANSI16[usize::from(index)],
        16..=231 => {
            let i = usize::from(index - 16);
            (LEVELS[i / 36], LEVELS[(i / 6) % 6], LEVELS[i % 6])
        }
        _ => {
            let level = 8 + (index - 232) * 10;
            (level, level, level)
        }
    }
}

/// Nearest xterm-256 colour (cube or grey ramp, never the user-redefinable 0–15).
pub(crate) fn nearest_indexed(r: u8, g: u8, b: u8) -> u8 {
    let dist = |(x, y, z): (u8, u8, u8)| {
        let d = |a: u8, b: u8| (i32::from(a) - i32::from(b)).pow(2);
        d(x, r) + d(y, g) + d(z, b)
    };
    (16..=255u8).min_by_key(|&i| dist(indexed_rgb(i))).unwrap_or(16)
}

/// WCAG relative luminance, 0.0 (black) to 1.0 (white).
pub(crate) fn luminance((r, g, b): (u8, u8, u8)) -> f64 {
    let channel = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.039_28 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)
}

/// WCAG contrast ratio between two colours, 1.0 to 21.0.
pub(crate) fn contrast(a: (u8, u8, u8), b: (u8, u8, u8)) -> f64 {
    let (la, lb) = (luminance(a), luminance(b));
    let (hi, lo) = if la > lb { (la, lb) } else { (lb, la) };
    (hi + 0.05) / (lo + 0.05)
}

/// Moves `color` towards `target` in 10% steps until it reaches `min_ratio` against `bg`.
/// Brand colours are picked for web pages, not for our background, so a navy brand on the dark
/// theme would otherwise vanish.
pub(crate) fn ensure_contrast(
    color: (u8, u8, u8),
    bg: (u8, u8, u8),
    target: (u8, u8, u8),
    min_ratio: f64,
) -> (u8, u8, u8) {
    let mix = |a: u8, b: u8, t: f64| {
        let v = f64::from(a) + (f64::from(b) - f64::from(a)) * t;
        // The value is already within 0..=255, the clamp only guards the cast.
        v.round().clamp(0.0, 255.0) as u8
    };
    (0..=10)
        .map(|step| {
            let t = f64::from(step) / 10.0;
            (
                mix(color.0, target.0, t),
                mix(color.1, target.1, t),
                mix(color.2, target.2, t),
            )
        })
        .find(|c| contrast(*c, bg) >= min_ratio)
        .unwrap_or(target)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn parses_names_and_hex() {
        assert_eq!(parse_color("#3b82f6"), Ok(Color::Rgb(0x3b, 0x82, 0xf6)));
        assert_eq!(parse_color("#FFF"), Ok(Color::Rgb(255, 255, 255)));
        assert_eq!(parse_color("Light-Blue"), Ok(Color::LightBlue));
        assert_eq!(parse_color("dark_grey"), Ok(Color::DarkGray));
        assert_eq!(parse_color("reset"), Ok(Color::Reset));
        assert_eq!(parse_color("default"), Ok(Color::Reset));
        assert_eq!(parse_color("42"), Ok(Color::Indexed(42)));
    }

    #[test]
    fn rejects_with_typed_errors() {
        assert_eq!(parse_color(""), Err(ColorError::Empty));
        assert_eq!(parse_color("#12345"), Err(ColorError::BadHex("#12345".into())));
        assert_eq!(parse_color("#gg0000"), Err(ColorError::BadHex("#gg0000".into())));
        assert_eq!(parse_color("blurple"), Err(ColorError::UnknownName("blurple".into())));
        assert_eq!(parse_color("256"), Err(ColorError::UnknownName("256".into())));
    }

    #[test]
    fn names_round_trip() {
        for (name, color) in NAMES {
            assert_eq!(color_to_string(*color), *name);
            assert_eq!(parse_color(name), Ok(*color));
        }
    }

    #[test]
    fn contrast_is_pulled_up() {
        let navy = (0x10, 0x1a, 0x40);
        let bg = (0x0d, 0x11, 0x17);
        let fixed = ensure_contrast(navy, bg, (255, 255, 255), 3.0);
        assert!(contrast(fixed, bg) >= 3.0);
        // A colour that is already readable is left alone.
        let sky = (0x58, 0xa6, 0xff);
        assert_eq!(ensure_contrast(sky, bg, (255, 255, 255), 3.0), sky);
    }

    proptest! {
        #[test]
        fn any_hex_round_trips(r: u8, g: u8, b: u8) {
            let text = format!("#{r:02x}{g:02x}{b:02x}");
            let color = parse_color(&text).unwrap();
            prop_assert_eq!(color, Color::Rgb(r, g, b));
            prop_assert_eq!(color_to_string(color), text.clone());
            prop_assert_eq!(parse_color(&text.to_uppercase()).unwrap(), color);
        }

        #[test]
        fn garbage_never_panics(text in "\\PC*") {
            let _ = parse_color(&text);
        }

        #[test]
        fn hash_garbage_never_panics(text in "#[\\PC]{0,8}") {
            let _ = parse_color(&text);
        }

        #[test]
        fn indexed_round_trips(i: u8) {
            prop_assert_eq!(parse_color(&color_to_string(Color::Indexed(i))).unwrap(), Color::Indexed(i));
        }
    }
}
