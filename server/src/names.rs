//! One validation for every name people see: team, channel and group names, display names — and
//! the one check that a reaction is an emoji.
//!
//! Names end up in other people's sidebars, notifications and mentions, so a name must look like
//! what it is. [`clean`] therefore:
//!
//! - normalizes to **NFC**, so `é` typed two ways is one name;
//! - turns every kind of white space (line breaks too: a name is one line) into a plain space,
//!   collapses runs and trims;
//! - refuses **control characters** (NUL, escape…), **format and bidi-control characters**
//!   (U+202E RIGHT-TO-LEFT OVERRIDE turns `gnp.exe` into a "png"; zero-width spaces and joiners make
//!   `general` and `gen​eral` two different names that look the same), **default-ignorable**
//!   characters (Hangul fillers and other invisible letters), private-use and unassigned ones. The exceptions are what emoji are made of: variation selectors
//!   (`❤️`) and a zero-width joiner between two pictographs (`👩‍💻`).
//!
//! Uniqueness (channel names within a team) compares [`uniqueness_key`]s, not the names: the
//! Unicode confusable **skeleton** (UTS #39) of the case-folded name, so `general`, `General`,
//! `gеneral` with a Cyrillic `е`, and `genera1` with a digit one are the same name. The key is
//! computed where the check runs, inside the storage transaction that inserts or renames, so it
//! always follows the current Unicode data and needs no stored column to migrate.
//!
//! Reactions are accepted only when [`emoji`] finds them in the Unicode emoji list (the `emojis`
//! crate, Unicode 17, with skin tones), stored in their fully-qualified form so `❤` and `❤️` are
//! one reaction. Every emoji the desktop picker offers is such an emoji (a test reads the
//! picker's list).
//!
//! Usernames are not cleaned here: they are ASCII `[a-z0-9_.-]` already
//! (`jeco_shared::auth::username_problem`), which nothing can spoof.

use icu_normalizer::ComposingNormalizerBorrowed;
use icu_properties::props::{
    DefaultIgnorableCodePoint, ExtendedPictographic, GeneralCategory, WhiteSpace,
};
use icu_properties::{CodePointMapData, CodePointSetData};

const ZWJ: char = '\u{200D}';

/// Whether `c` is one of the invisible or reordering characters a name may not hold, with `prev`
/// and `next` its neighbours (a joiner is fine between two pictographs).
fn refused(c: char, prev: Option<char>, next: Option<char>) -> Option<&'static str> {
    let gc = CodePointMapData::<GeneralCategory>::new().get(c);
    let pictograph = |c: Option<char>| {
        c.is_some_and(|c| {
            CodePointSetData::new::<ExtendedPictographic>().contains(c)
                || matches!(c, '\u{FE0F}' | '\u{1F3FB}'..='\u{1F3FF}')
        })
    };
    match gc {
        GeneralCategory::Control => Some("must not contain control characters"),
        GeneralCategory::Format if c == ZWJ && pictograph(prev) && pictograph(next) => None,
        GeneralCategory::Format => Some("must not contain invisible or text-direction characters"),
        GeneralCategory::PrivateUse | GeneralCategory::Unassigned | GeneralCategory::Surrogate => {
            Some("must not contain private-use or unassigned characters")
        }
        _ if matches!(c, '\u{FE0E}' | '\u{FE0F}') => None,
        _ if CodePointSetData::new::<DefaultIgnorableCodePoint>().contains(c) => {
            Some("must not contain invisible characters")
        }
        _ => None,
    }
}

/// A name as stored: NFC, one line, spaces collapsed and trimmed, 1 to `max_chars` characters,
/// nothing invisible (see the module doc). The error says what is wrong, for a field message.
pub fn clean(raw: &str, max_chars: usize) -> Result<String, String> {
    let nfc = ComposingNormalizerBorrowed::new_nfc().normalize(raw);
    let chars: Vec<char> = nfc.chars().collect();
    let mut out = String::with_capacity(nfc.len());
    let mut pending_space = false;
    for (i, &c) in chars.iter().enumerate() {
        if CodePointSetData::new::<WhiteSpace>().contains(c) {
            pending_space = !out.is_empty();
            continue;
        }
        let prev = i.checked_sub(1).map(|p| chars[p]);
        if let Some(problem) = refused(c, prev, chars.get(i + 1).copied()) {
            return Err(problem.to_owned());
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        out.push(c);
    }
    let len = out.chars().count();
    if len == 0 {
        return Err("must not be empty".to_owned());
    }
    if len > max_chars {
        return Err(format!("must be at most {max_chars} characters"));
    }
    Ok(out)
}

/// What two names must differ in to be different names: the confusable skeleton of the
/// lower-cased name (see the module doc).
pub fn uniqueness_key(name: &str) -> String {
    let lower = name.to_lowercase();
    let skeleton: String = unicode_security::skeleton(&lower).collect();
    skeleton.to_lowercase()
}

/// The emoji `raw` is, fully qualified, or why it is not one.
pub fn emoji(raw: &str) -> Result<&'static str, &'static str> {
    emojis::get(raw.trim())
        .map(emojis::Emoji::as_str)
        .ok_or("must be a single emoji")
}

/// The `names` fuzz target (`fuzz/`): cleaning never panics, a clean name is clean (cleaning it
/// again changes nothing) and holds nothing [`refused`]; an accepted emoji is canonical.
#[cfg(any(test, fuzzing))]
pub fn fuzz_names(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(name) = clean(text, 100) {
        assert_eq!(
            clean(&name, 100).as_ref(),
            Ok(&name),
            "cleaning is idempotent"
        );
        assert!(!name.chars().any(char::is_control));
        assert!(!name.starts_with(' ') && !name.ends_with(' '));
    }
    let _ = uniqueness_key(text);
    if let Ok(e) = emoji(text) {
        assert_eq!(emoji(e), Ok(e));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fuzz_corpus_and_regressions_replay() {
        crate::fuzz_cases::replay("names", fuzz_names);
    }

    #[test]
    fn names_are_normalized_trimmed_and_one_line() {
        assert_eq!(clean("  Design   team ", 100).unwrap(), "Design team");
        assert_eq!(clean("e\u{301}quipe", 100).unwrap(), "\u{e9}quipe");
        assert_eq!(
            clean("tab\tand\u{3000}ideographic", 100).unwrap(),
            "tab and ideographic"
        );
        assert_eq!(
            clean("Ünïcödé 日本語 العربية", 100).unwrap(),
            "Ünïcödé 日本語 العربية"
        );
        // Line breaks of every kind are white space: a name is one line.
        assert_eq!(
            clean("two\nlines\u{2028}here", 100).unwrap(),
            "two lines here"
        );
        assert!(clean("   ", 100).is_err());
        assert!(clean("abcdef", 5).is_err());
        assert_eq!(clean("abcde", 5).unwrap(), "abcde");
    }

    #[test]
    fn invisible_and_reordering_characters_are_refused() {
        for bad in [
            "nul\0here",
            "esc\u{1b}[31m",
            "gnp\u{202E}exe.png",
            "rtl\u{2067}isolate",
            "gen\u{200B}eral",
            "zero\u{200D}joiner",
            "bom\u{FEFF}",
            "soft\u{AD}hyphen",
            "filler\u{3164}",
            "private\u{E000}",
            "unassigned\u{40000}",
            "tag\u{E0041}",
        ] {
            assert!(clean(bad, 100).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn emoji_in_names_survive() {
        for good in ["Dev 👩‍💻", "❤️ team", "👍🏽", "🏳️‍🌈 pride", "🇫🇷"]
        {
            assert_eq!(clean(good, 100).unwrap(), good);
        }
    }

    #[test]
    fn look_alikes_share_a_key() {
        let general = uniqueness_key("general");
        for same in ["General", "GENERAL", "g\u{435}neral", "genera1", "gеnеrаl"] {
            assert_eq!(uniqueness_key(same), general, "{same:?}");
        }
        assert_ne!(uniqueness_key("generals"), general);
        assert_ne!(uniqueness_key("random"), general);
    }

    #[test]
    fn reactions_must_be_emoji() {
        assert_eq!(emoji("👍"), Ok("👍"));
        assert_eq!(emoji("👍🏽"), Ok("👍🏽"));
        assert_eq!(emoji("❤"), Ok("❤️"));
        assert_eq!(emoji("👩‍💻"), Ok("👩‍💻"));
        for bad in ["str", "", " ", "👍👍", ":+1:", "a", "\0", "👍\u{202E}"] {
            assert!(emoji(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn every_emoji_the_desktop_picker_offers_is_accepted() {
        let picker = include_str!("../../ui/src/components/emoji.ts");
        let list = &picker[picker.find("const LIST").expect("the picker's LIST")..];
        let list = &list[..list.find("];").expect("the end of LIST")];
        let mut seen = 0;
        for line in list.lines() {
            let Some(rest) = line.trim().strip_prefix("['") else {
                continue;
            };
            let glyph = &rest[..rest.find('\'').unwrap()];
            assert!(
                emoji(glyph).is_ok(),
                "the picker offers {glyph}, which is refused"
            );
            seen += 1;
        }
        assert!(seen > 100, "read only {seen} emoji from the picker");
    }
}
