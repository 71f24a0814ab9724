//! Charts as inline SVG drawn on the server: no script, no library, a few
//! kilobytes a chart, fast on a Raspberry Pi. Each chart is an `<svg
//! role="img">` whose label says what it shows; the numbers themselves are
//! also given as a table by the caller (screen readers, printing, copying).
//!
//! Meaning never rests on colour: every bar carries its number as text, and
//! the share chart shows its filled part as a solid bar against an outline.

use maud::{Markup, html};

/// One bar: what it is, how long it is, and the number written beside it.
#[derive(Clone, Debug)]
pub struct Bar {
    pub label: String,
    pub value: f64,
    /// The value as the villager reads it ("3", "12,5 heures").
    pub shown: String,
}

const WIDTH: f64 = 640.0;
const ROW: f64 = 36.0;
const LABEL_WIDTH: f64 = 210.0;
/// Room kept right of the longest bar for its number.
const VALUE_ROOM: f64 = 130.0;
/// Characters of a label drawn in the chart; the table has the full text.
const LABEL_CHARS: usize = 24;

/// A bar's length in `room` units, the longest bar filling it. A non-zero
/// value is always visible, however small next to the others.
fn length(value: f64, max: f64, room: f64) -> f64 {
    if max <= 0.0 || value <= 0.0 {
        return 0.0;
    }
    (value / max * room).max(2.0)
}

fn shorten(label: &str) -> String {
    if label.chars().count() <= LABEL_CHARS {
        return label.to_owned();
    }
    let mut short: String = label.chars().take(LABEL_CHARS - 1).collect();
    short.push('…');
    short
}

/// Rounds a coordinate so the SVG stays short.
fn at(value: f64) -> String {
    format!("{:.1}", value)
}

/// One horizontal bar per item, labels on the left: for categories, whose
/// names are long and many.
pub fn horizontal_bars(bars: &[Bar], summary: &str) -> Markup {
    let max = bars.iter().map(|bar| bar.value).fold(0.0, f64::max);
    let room = WIDTH - LABEL_WIDTH - VALUE_ROOM;
    let height = ROW * bars.len() as f64 + 8.0;
    html! {
        svg xmlns="http://www.w3.org/2000/svg" viewBox=(format!("0 0 {WIDTH} {height}"))
            role="img" aria-label=(summary) class="bars" {
            @for (row, bar) in bars.iter().enumerate() {
                @let top = 4.0 + ROW * row as f64;
                @let long = length(bar.value, max, room);
                text x=(at(LABEL_WIDTH - 10.0)) y=(at(top + ROW / 2.0 + 6.0)) text-anchor="end" class="label" {
                    (shorten(&bar.label))
                }
                rect x=(at(LABEL_WIDTH)) y=(at(top + 6.0)) width=(at(long)) height=(at(ROW - 12.0)) class="bar" {}
                text x=(at(LABEL_WIDTH + long + 8.0)) y=(at(top + ROW / 2.0 + 6.0)) class="value" { (bar.shown) }
            }
            line x1=(at(LABEL_WIDTH)) y1="0" x2=(at(LABEL_WIDTH)) y2=(at(height)) class="axis" {}
        }
    }
}

/// One vertical column per item, in order: for months. `ticks` are the
/// labels under the columns (a second line, such as the year, after `\n`).
pub fn columns(bars: &[Bar], summary: &str) -> Markup {
    const HEIGHT: f64 = 280.0;
    const TOP: f64 = 28.0;
    const BOTTOM: f64 = 52.0;
    let max = bars.iter().map(|bar| bar.value).fold(0.0, f64::max);
    let slot = WIDTH / bars.len().max(1) as f64;
    let room = HEIGHT - TOP - BOTTOM;
    let base = HEIGHT - BOTTOM;
    html! {
        svg xmlns="http://www.w3.org/2000/svg" viewBox=(format!("0 0 {WIDTH} {HEIGHT}"))
            role="img" aria-label=(summary) class="columns" {
            @for (index, bar) in bars.iter().enumerate() {
                @let centre = slot * (index as f64 + 0.5);
                @let tall = length(bar.value, max, room);
                rect x=(at(centre - slot * 0.3)) y=(at(base - tall)) width=(at(slot * 0.6)) height=(at(tall)) class="bar" {}
                text x=(at(centre)) y=(at(base - tall - 8.0)) text-anchor="middle" class="value" { (bar.shown) }
                @let mut lines = bar.label.split('\n');
                text x=(at(centre)) y=(at(base + 20.0)) text-anchor="middle" class="label" {
                    (lines.next().unwrap_or_default())
                    @if let Some(second) = lines.next() {
                        tspan x=(at(centre)) dy="20" { (second) }
                    }
                }
            }
            line x1="0" y1=(at(base)) x2=(at(WIDTH)) y2=(at(base)) class="axis" {}
        }
    }
}

/// A part of a whole: a solid bar inside an outlined one, and the sentence
/// that says it ("3 sur 4, 75 %").
pub fn share(part: usize, whole: usize, sentence: &str, summary: &str) -> Markup {
    const HEIGHT: f64 = 84.0;
    let room = WIDTH - 4.0;
    let filled = if whole == 0 {
        0.0
    } else {
        room * part.min(whole) as f64 / whole as f64
    };
    html! {
        svg xmlns="http://www.w3.org/2000/svg" viewBox=(format!("0 0 {WIDTH} {HEIGHT}"))
            role="img" aria-label=(summary) class="share" {
            rect x="2" y="2" width=(at(room)) height="40" class="whole" {}
            rect x="2" y="2" width=(at(filled)) height="40" class="bar" {}
            text x="2" y="72" class="value" { (sentence) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(label: &str, value: f64) -> Bar {
        Bar {
            label: label.to_owned(),
            value,
            shown: value.to_string(),
        }
    }

    #[test]
    fn the_longest_bar_fills_the_room_and_others_are_in_proportion() {
        assert_eq!(length(4.0, 4.0, 300.0), 300.0);
        assert_eq!(length(1.0, 4.0, 300.0), 75.0);
        assert_eq!(length(0.0, 4.0, 300.0), 0.0);
        // A small value stays visible next to a large one.
        assert!(length(1.0, 10_000.0, 300.0) >= 2.0);
        assert_eq!(length(0.0, 0.0, 300.0), 0.0);
    }

    #[test]
    fn labels_from_villagers_are_escaped_and_every_bar_shows_its_number() {
        let markup = horizontal_bars(&[bar("<b>jardin</b>", 3.0), bar("bricolage", 1.0)], "Offres").into_string();
        assert!(markup.contains("&lt;b&gt;jardin&lt;/b&gt;"), "{markup}");
        assert!(!markup.contains("<b>"));
        assert!(markup.contains(">3</text>") && markup.contains(">1</text>"), "{markup}");
        assert!(markup.contains(r#"role="img""#) && markup.contains(r#"aria-label="Offres""#));
    }

    #[test]
    fn long_labels_are_shortened_in_the_drawing() {
        let long = "un nom de catégorie vraiment très long";
        assert_eq!(shorten(long).chars().count(), LABEL_CHARS);
        assert!(shorten(long).ends_with('…'));
        assert_eq!(shorten("jardin"), "jardin");
    }

    #[test]
    fn column_labels_take_a_second_line() {
        let markup = columns(&[bar("janv.\n2026", 2.0), bar("févr.", 0.0)], "Échanges").into_string();
        assert!(markup.contains("janv.<tspan"), "{markup}");
        assert!(markup.contains(">2026</tspan>"));
    }

    #[test]
    fn a_share_of_nothing_draws_an_empty_bar() {
        let markup = share(0, 0, "0 sur 0", "Demandes").into_string();
        assert!(markup.contains(r#"width="0.0""#), "{markup}");
    }
}
