//! A message's Markdown as the plain text a notification shows: the markers (`**`, `_`, `~~`,
//! backticks, `>`, list bullets, link syntax) stripped, the words kept. The UI renders the same
//! subset in the timeline; a notification service would at best show the markers, at worst read
//! them as its own markup.
//!
//! pulldown-cmark parses in linear time without recursion, so hostile input (deep nesting, long
//! runs of asterisks) costs no more than its length. Raw HTML in a message is text here as it is in
//! the app: it is kept, and escaped later when the service renders markup.

use pulldown_cmark::{Event, Options, Parser, TagEnd};

/// The text of `markdown` without its formatting, on one line (runs of white space, line breaks
/// and block boundaries become one space).
pub fn plain_text(markdown: &str) -> String {
    let mut out = String::with_capacity(markdown.len());
    for event in Parser::new_ext(markdown, Options::ENABLE_STRIKETHROUGH) {
        match event {
            Event::Text(text)
            | Event::Code(text)
            | Event::Html(text)
            | Event::InlineHtml(text)
            | Event::InlineMath(text)
            | Event::DisplayMath(text) => out.push_str(&text),
            Event::SoftBreak | Event::HardBreak | Event::Rule => out.push(' '),
            Event::End(
                TagEnd::Paragraph
                | TagEnd::Heading(_)
                | TagEnd::Item
                | TagEnd::CodeBlock
                | TagEnd::BlockQuote(_)
                | TagEnd::TableCell
                | TagEnd::TableRow,
            ) => out.push(' '),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::plain_text;
    use std::time::{Duration, Instant};

    #[test]
    fn markers_are_stripped_and_words_kept() {
        assert_eq!(
            plain_text("**bold** *italic* ~~gone~~ `code`"),
            "bold italic gone code"
        );
        assert_eq!(plain_text("> quoted\n\n- one\n- two"), "quoted one two");
        assert_eq!(plain_text("1. first\n2. second"), "first second");
        assert_eq!(
            plain_text("see [the docs](https://example.com) or <https://x.org>"),
            "see the docs or https://x.org"
        );
        assert_eq!(plain_text("```rust\nfn main() {}\n```"), "fn main() {}");
    }

    #[test]
    fn html_stays_text() {
        assert_eq!(
            plain_text("<b>hi</b> <script>alert(1)</script>"),
            "<b>hi</b> <script>alert(1)</script>"
        );
    }

    #[test]
    fn hostile_input_is_quick() {
        let started = Instant::now();
        plain_text(&"*".repeat(100_000));
        plain_text(&"> ".repeat(1_000));
        plain_text(
            &(0..200)
                .map(|i| format!("{}- x\n", "  ".repeat(i)))
                .collect::<String>(),
        );
        assert!(started.elapsed() < Duration::from_secs(2));
    }
}
