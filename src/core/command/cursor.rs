//! A list's cursor: where the next page of a list begins, and which list it belongs to.
//!
//! A list walks the company's creation order from the newest down (every reservation's `seq`,
//! which grows by one per reservation created and is never reused). A page ends somewhere in
//! it, and its cursor says "the next page begins at this position, and goes on to older ones":
//! the position of the first reservation the page did not answer. A position, unlike an offset,
//! stays where it is while others create, confirm and cancel: a reservation's `seq` never
//! changes, so a walk answers each reservation at most once, and every reservation older than
//! the position that still matches is still ahead of it. Reservations created after the walk
//! began are newer than every position it hands out, so they never appear on a later page.
//!
//! The cursor also carries a fingerprint of the company and the filters it was made for
//! ([`ListFilter::scope`](super::ListFilter::scope)), so a cursor used with another company or
//! other filters is refused instead of silently answering a different list from the middle.
//!
//! On the wire it is `c1` followed by the position and the fingerprint, each as 16 lowercase
//! hexadecimal digits. Callers treat it as opaque; `1` is the version of this layout, so a
//! later layout can be told apart from it and refused or read.

use crate::core::error::BookError;
use std::fmt;

/// What every cursor of this layout starts with.
const PREFIX: &str = "c1";
/// Hexadecimal digits of each number in the cursor (a `u64`).
const NUMBER_DIGITS: usize = 16;
/// Length of a cursor, in bytes.
const CURSOR_BYTES: usize = PREFIX.len() + 2 * NUMBER_DIGITS;

/// Where the next page of a list begins (see the module doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListCursor {
    /// The next page answers reservations whose `seq` is this or lower.
    start_seq: u64,
    /// The fingerprint of the company and filters the cursor was made for.
    scope: u64,
}

impl ListCursor {
    /// The cursor whose page begins at `start_seq` in the list with fingerprint `scope`.
    pub fn new(start_seq: u64, scope: u64) -> ListCursor {
        ListCursor { start_seq, scope }
    }

    /// Reads a cursor as [`ListCursor`]'s `Display` writes it; anything else is an invalid
    /// `cursor`.
    pub fn parse(text: &str) -> Result<ListCursor, BookError> {
        let malformed = || BookError::invalid("cursor", "is not a cursor this server answered");
        let digits = text.strip_prefix(PREFIX).ok_or_else(malformed)?;
        // Lowercase only: one text per cursor, and `from_str_radix` alone would take a sign.
        let hex = |text: &str| {
            text.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        };
        if text.len() != CURSOR_BYTES || !hex(digits) {
            return Err(malformed());
        }
        let (start_seq, scope) = digits.split_at(NUMBER_DIGITS);
        let number = |text: &str| u64::from_str_radix(text, 16).map_err(|_| malformed());
        Ok(ListCursor {
            start_seq: number(start_seq)?,
            scope: number(scope)?,
        })
    }

    /// The next page begins at this creation position and goes on to older ones.
    pub fn start_seq(&self) -> u64 {
        self.start_seq
    }

    /// The fingerprint of the company and filters the cursor belongs to.
    pub fn scope(&self) -> u64 {
        self.scope
    }
}

impl fmt::Display for ListCursor {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "{PREFIX}{:016x}{:016x}",
            self.start_seq, self.scope
        )
    }
}

/// FNV-1a, 64 bits: the cursor's fingerprint of a company and its filters. Written out here
/// rather than taken from `std::hash`, whose algorithm may change between Rust releases: a
/// cursor must mean the same to the next build of the server (a restart in the middle of a
/// walk). Not a defence against forgery, which would gain nothing: a forged cursor can only
/// start a list the caller may read anyway somewhere in the middle.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fingerprint(u64);

impl Fingerprint {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;

    pub(crate) fn new() -> Fingerprint {
        Fingerprint(Fingerprint::OFFSET_BASIS)
    }

    fn bytes(mut self, bytes: &[u8]) -> Fingerprint {
        for byte in bytes {
            self.0 ^= u64::from(*byte);
            self.0 = self.0.wrapping_mul(Fingerprint::PRIME);
        }
        self
    }

    /// Adds a text, length first, so that `("ab", "c")` and `("a", "bc")` differ.
    pub(crate) fn text(self, text: &str) -> Fingerprint {
        self.bytes(&(text.len() as u64).to_le_bytes())
            .bytes(text.as_bytes())
    }

    /// Adds an optional text, marked present or absent.
    pub(crate) fn optional_text(self, text: Option<&str>) -> Fingerprint {
        match text {
            Some(text) => self.bytes(&[1]).text(text),
            None => self.bytes(&[0]),
        }
    }

    /// Adds an optional number, marked present or absent.
    pub(crate) fn optional_number(self, number: Option<i64>) -> Fingerprint {
        match number {
            Some(number) => self.bytes(&[1]).bytes(&number.to_le_bytes()),
            None => self.bytes(&[0]),
        }
    }

    pub(crate) fn finish(self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Goal: a cursor reads back as it was written, and every other text is refused naming
    /// `cursor`: wrong prefix or length, uppercase, a sign, non-hexadecimal digits.
    #[test]
    fn cursors_read_back_and_nothing_else_does() {
        for (start_seq, scope) in [(0, 0), (42, 0xdead_beef), (u64::MAX, u64::MAX)] {
            let cursor = ListCursor::new(start_seq, scope);
            let text = cursor.to_string();
            assert_eq!(text.len(), CURSOR_BYTES);
            assert_eq!(ListCursor::parse(&text), Ok(cursor));
        }
        let good = ListCursor::new(7, 9).to_string();
        let mut wrong = vec![
            String::new(),
            "c1".into(),
            good.replacen("c1", "c2", 1),
            good.to_uppercase(),
            format!("{good}0"),
            good[..good.len() - 1].to_owned(),
            good.replacen("00", "+0", 1),
            good.replacen("00", "zz", 1),
            good.replacen("00", "é", 1),
        ];
        wrong.push(format!("c1{}", "0".repeat(2 * NUMBER_DIGITS - 1) + "-"));
        for text in wrong {
            match ListCursor::parse(&text) {
                Err(BookError::InvalidRequest { field, .. }) => assert_eq!(field, "cursor"),
                other => panic!("{text:?} read as {other:?}"),
            }
        }
    }

    /// Goal: the fingerprint is FNV-1a as published (a change of algorithm would void every
    /// cursor handed out before a restart), and field boundaries count.
    #[test]
    fn fingerprint_is_fnv_1a_and_marks_boundaries() {
        assert_eq!(Fingerprint::new().finish(), 0xcbf2_9ce4_8422_2325);
        assert_eq!(
            Fingerprint::new().bytes(b"a").finish(),
            0xaf63_dc4c_8601_ec8c
        );
        let split = |a: &str, b: &str| Fingerprint::new().text(a).text(b).finish();
        assert_ne!(split("ab", "c"), split("a", "bc"));
        let absent = Fingerprint::new().optional_text(None).finish();
        assert_ne!(absent, Fingerprint::new().optional_text(Some("")).finish());
        assert_ne!(
            Fingerprint::new().optional_number(None).finish(),
            Fingerprint::new().optional_number(Some(0)).finish()
        );
    }
}
