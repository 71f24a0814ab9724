//! QR codes drawn as inline SVG, so an invitation can be printed or scanned
//! from the screen without an image file or a script.

use std::fmt::Write as _;

use maud::{Markup, html};
use qrcode::{Color, EcLevel, QrCode};

/// White modules around the code: scanners need four to find its edges.
const QUIET_ZONE: usize = 4;

/// The QR code of `text` as an `<svg role="img">` labelled `label`, or
/// `None` when the text is too long for a QR code (the text itself is always
/// printed beside it).
///
/// Callers pass invite codes in upper case: base32 in capitals fits QR's
/// alphanumeric mode, which holds more characters than its byte mode, and
/// invite codes are read case-insensitively.
pub fn svg(text: &str, label: &str) -> Option<Markup> {
    // Level L (7 % redundancy): the code is long, a printed page or a screen
    // is clean, and a higher level would not fit the longest codes.
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::L).ok()?;
    let width = code.width();
    let size = width + 2 * QUIET_ZONE;
    let path = dark_runs_path(&code.to_colors(), width);
    Some(html! {
        svg xmlns="http://www.w3.org/2000/svg" viewBox=(format!("0 0 {size} {size}"))
            role="img" aria-label=(label) shape-rendering="crispEdges" {
            rect width=(size) height=(size) fill="#ffffff" {}
            path d=(path) fill="#000000" {}
        }
    })
}

/// One path for every horizontal run of dark modules: a few thousand small
/// rectangles for the largest codes, instead of one element per module.
fn dark_runs_path(colors: &[Color], width: usize) -> String {
    let mut path = String::new();
    for (y, row) in colors.chunks(width).enumerate() {
        let mut x = 0;
        while x < row.len() {
            if row[x] != Color::Dark {
                x += 1;
                continue;
            }
            let start = x;
            while x < row.len() && row[x] == Color::Dark {
                x += 1;
            }
            let run = x - start;
            let _ = write!(path, "M{} {}h{run}v1h-{run}z", start + QUIET_ZONE, y + QUIET_ZONE);
        }
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads the rectangles back from the path: the modules they cover.
    fn drawn_modules(path: &str, width: usize) -> Vec<bool> {
        let mut dark = vec![false; width * width];
        for rectangle in path.split('M').filter(|part| !part.is_empty()) {
            let (x, rest) = rectangle.split_once(' ').unwrap();
            let (y, rest) = rest.split_once('h').unwrap();
            let run = rest.split('v').next().unwrap();
            let (x, y, run): (usize, usize, usize) = (x.parse().unwrap(), y.parse().unwrap(), run.parse().unwrap());
            for column in x..x + run {
                dark[(y - QUIET_ZONE) * width + column - QUIET_ZONE] = true;
            }
        }
        dark
    }

    #[test]
    fn the_drawing_covers_exactly_the_dark_modules() {
        let text = "MAILLAGE1-ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".repeat(20);
        let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::L).unwrap();
        let width = code.width();
        let expected: Vec<bool> = code.to_colors().iter().map(|c| *c == Color::Dark).collect();
        let path = dark_runs_path(&code.to_colors(), width);
        assert_eq!(drawn_modules(&path, width), expected);
    }

    #[test]
    fn the_svg_is_an_image_with_its_label() {
        let markup = svg("MAILLAGE1-ABC", "Code d’invitation").unwrap().into_string();
        assert!(markup.starts_with("<svg"), "{markup}");
        assert!(markup.contains(r#"role="img""#));
        assert!(markup.contains(r#"aria-label="Code d’invitation""#));
    }

    #[test]
    fn a_text_too_long_for_any_qr_code_gives_none() {
        assert!(svg(&"A".repeat(5000), "trop long").is_none());
    }
}
