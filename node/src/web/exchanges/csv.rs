//! The community's ledger as a CSV file a spreadsheet opens as it is.
//!
//! Choices, for a spreadsheet set up in French (LibreOffice Calc, Excel):
//! - the separator is `;`: French spreadsheets use the comma as the decimal
//!   mark, so Excel in a French locale splits columns on `;` and would read
//!   a comma-separated file as one column; Calc detects `;` too;
//! - amounts carry the decimal mark of the page's language (`1,50` in
//!   French), which the `;` separator leaves unambiguous;
//! - the file starts with a UTF-8 byte order mark, without which Excel reads
//!   it as Windows-1252 and garbles the accents of household names;
//! - lines end with CRLF and fields are quoted as RFC 4180 says;
//! - a text field that a spreadsheet would take for a formula (`=`, `+`,
//!   `-`, `@`…) is prefixed with `'`: names and notes are written by other
//!   households, and opening the ledger must not run what they typed.

use super::amount_text;
use super::model::Ledger;
use crate::web::Page;
use maillage_crdt::exchange::ExchangeState;

const SEPARATOR: char = ';';
const BYTE_ORDER_MARK: &str = "\u{feff}";

/// Confirmed exchanges, oldest first: date of confirmation, who gave, who
/// received, amount, unit, what.
pub fn ledger(page: &Page, ledger: &Ledger) -> String {
    let mut confirmed: Vec<_> = ledger
        .confirmed
        .iter()
        .filter(|row| row.state == ExchangeState::Confirmed)
        .filter_map(|row| row.confirmed_at().map(|at| (at, row)))
        .collect();
    confirmed.sort_by_key(|(at, row)| (*at, row.id));

    let mut out = String::from(BYTE_ORDER_MARK);
    let header = [
        "exchanges-csv-date",
        "exchanges-csv-giver",
        "exchanges-csv-receiver",
        "exchanges-csv-amount",
        "exchanges-csv-unit",
        "exchanges-csv-what",
    ]
    .map(|id| page.t(id));
    push_line(&mut out, &header);
    for (at, row) in confirmed {
        let what = match (&row.about, row.note.is_empty()) {
            (Some(about), true) => about.title.clone(),
            _ => row.note.clone(),
        };
        push_line(
            &mut out,
            &[
                page.date(at),
                row.giver().name.clone(),
                row.receiver().name.clone(),
                amount_text(page, row.amount),
                // The unit as the community named it, never pluralised: a
                // spreadsheet groups and filters on this column.
                ledger.unit.clone(),
                what,
            ],
        );
    }
    out
}

fn push_line(out: &mut String, fields: &[String]) {
    for (index, field) in fields.iter().enumerate() {
        if index > 0 {
            out.push(SEPARATOR);
        }
        out.push_str(&field_text(field));
    }
    out.push_str("\r\n");
}

/// One field, defused and quoted when needed.
fn field_text(field: &str) -> String {
    // Amounts are never negative here and dates start with a digit, so only
    // text a household typed can start like a formula.
    let defused = if field.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{field}")
    } else {
        field.to_owned()
    };
    if defused.contains([SEPARATOR, '"', '\n', '\r']) {
        format!("\"{}\"", defused.replace('"', "\"\""))
    } else {
        defused
    }
}

#[cfg(test)]
mod tests {
    use super::field_text;

    #[test]
    fn fields_are_quoted_and_formulas_defused() {
        assert_eq!(field_text("Prêt de la perceuse"), "Prêt de la perceuse");
        assert_eq!(field_text("œufs; farine"), "\"œufs; farine\"");
        assert_eq!(field_text("le \"grand\" four"), "\"le \"\"grand\"\" four\"");
        assert_eq!(field_text("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(field_text("-2"), "'-2");
        assert_eq!(field_text("deux\nlignes"), "\"deux\nlignes\"");
    }
}
