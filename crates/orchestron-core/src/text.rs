//! Shortening text for people: the one rule every face and every part of the core uses when a
//! string must fit (a recorded field, a line of context, a title in a summary).

use std::borrow::Cow;

/// What ends a string that was cut.
pub const MARK: char = '…';

/// `text` cut to at most `max` characters, followed by [`MARK`] when it was cut.
pub fn clip(text: &str, max: usize) -> Cow<'_, str> {
    // A string of at most `max` bytes has at most `max` characters.
    if text.len() <= max {
        return Cow::Borrowed(text);
    }
    match text.char_indices().nth(max) {
        Some((end, _)) => Cow::Owned(format!("{}{MARK}", &text[..end])),
        None => Cow::Borrowed(text),
    }
}

/// `text` on one line (every run of white space, newlines included, becomes one space), cut
/// as [`clip`] cuts.
pub fn clip_line(text: &str, max: usize) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    clip(&one_line, max).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clips_at_characters_and_marks_the_cut() {
        assert_eq!(clip("short", 5), "short");
        assert_eq!(clip("longer", 4), "long…");
        assert_eq!(clip("ééééé", 2), "éé…");
        assert_eq!(clip_line("a\n  b\tc", 10), "a b c");
        assert_eq!(clip_line("one two three", 7), "one two…");
    }
}
