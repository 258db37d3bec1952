//! Finding `@username`, `@channel` and `@here` in message text.

/// What a text mentions, before usernames are resolved to members.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed {
    /// Lowercased usernames, without duplicates, in order of appearance.
    pub usernames: Vec<String>,
    pub channel: bool,
    pub here: bool,
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

/// An `@` counts at the start or after a character that cannot be part of a name (so e-mail
/// addresses are not mentions); the name is the longest run of username characters after it,
/// without trailing dots or dashes (sentence punctuation).
pub fn parse(text: &str) -> Parsed {
    let mut out = Parsed::default();
    let mut prev: Option<char> = None;
    for (i, c) in text.char_indices() {
        if c == '@' && !prev.is_some_and(is_name_char) {
            let rest = &text[i + 1..];
            let end = rest.find(|c: char| !is_name_char(c)).unwrap_or(rest.len());
            let name = rest[..end]
                .trim_end_matches(['.', '-'])
                .to_ascii_lowercase();
            match name.as_str() {
                "" => {}
                "channel" | "everyone" | "all" => out.channel = true,
                "here" => out.here = true,
                _ => {
                    if !out.usernames.contains(&name) {
                        out.usernames.push(name);
                    }
                }
            }
        }
        prev = Some(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_names_and_broadcasts() {
        let p = parse("@Ada hi @bob, see @ada. cc @here and @channel! mail a@b.c @");
        assert_eq!(p.usernames, ["ada", "bob"]);
        assert!(p.here);
        assert!(p.channel);
        assert_eq!(parse("nothing here"), Parsed::default());
    }
}
