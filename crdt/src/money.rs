//! Amounts in a community's unit, kept as whole hundredths so that sums are
//! exact and balances always add up to zero.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// An amount in hundredths of the community unit (150 = 1.50 hours).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Amount(pub i64);

/// The largest amount one exchange may carry (one million units), so that no
/// sum of amounts can overflow.
pub const MAX_AMOUNT: Amount = Amount(100_000_000);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AmountError {
    #[error("{0:?} is not an amount (expected a number such as 2 or 1.5)")]
    NotANumber(String),
    #[error("an amount has at most two decimals")]
    TooPrecise,
    #[error("an amount must be between 0 and 1000000")]
    OutOfRange,
}

impl FromStr for Amount {
    type Err = AmountError;

    /// Accepts `2`, `1.5`, `1,50` (French decimal comma).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim().replace(',', ".");
        let not_a_number = || AmountError::NotANumber(text.clone());
        let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
        if whole.is_empty() && fraction.is_empty() {
            return Err(not_a_number());
        }
        if !whole.chars().all(|c| c.is_ascii_digit()) || !fraction.chars().all(|c| c.is_ascii_digit()) {
            return Err(not_a_number());
        }
        if fraction.len() > 2 {
            return Err(AmountError::TooPrecise);
        }
        let whole: i64 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| AmountError::OutOfRange)?
        };
        let mut hundredths: i64 = if fraction.is_empty() {
            0
        } else {
            fraction.parse().map_err(|_| not_a_number())?
        };
        if fraction.len() == 1 {
            hundredths *= 10;
        }
        let amount = whole
            .checked_mul(100)
            .and_then(|w| w.checked_add(hundredths))
            .ok_or(AmountError::OutOfRange)?;
        if amount > MAX_AMOUNT.0 {
            return Err(AmountError::OutOfRange);
        }
        Ok(Amount(amount))
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        if abs.is_multiple_of(100) {
            write!(f, "{sign}{}", abs / 100)
        } else {
            write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_parse_with_dot_or_comma_and_print_back() {
        assert_eq!("2".parse::<Amount>().unwrap(), Amount(200));
        assert_eq!("1.5".parse::<Amount>().unwrap(), Amount(150));
        assert_eq!("1,25".parse::<Amount>().unwrap(), Amount(125));
        assert_eq!(Amount(150).to_string(), "1.50");
        assert_eq!(Amount(-200).to_string(), "-2");
        assert!("1.234".parse::<Amount>().is_err());
        assert!("-1".parse::<Amount>().is_err());
        assert!("abc".parse::<Amount>().is_err());
        assert!("99999999999".parse::<Amount>().is_err());
    }
}
