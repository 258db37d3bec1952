//! The search query language, parsed here rather than by the database.
//!
//! `GET /search?q=` documents a small language: words (all must occur), `"a phrase"`, `prefix*`,
//! `OR`, `NOT`, `AND` and parentheses. Handing the text to SQLite's FTS5 parser as it was typed
//! made FTS5's own, larger syntax (column filters, `NEAR`, `^`, bare punctuation) part of the API
//! by accident, turned typos into database errors, and would tie the API to one backend. So the
//! text is parsed into a [`SearchQuery`] here, with errors that say what is wrong, and each storage
//! backend renders the tree into its own syntax ([`SearchQuery::to_fts5`] for SQLite). Every term
//! is rendered as a quoted phrase, so no character a person types can reach the backend's parser
//! as syntax.
//!
//! Limits keep the work per query small whatever arrives: at most [`MAX_TERMS`] terms and
//! [`MAX_DEPTH`] levels of parentheses (the request itself is at most 256 characters).

/// Most terms (words and phrases) in one query.
pub const MAX_TERMS: usize = 32;
/// Deepest nesting of parentheses.
pub const MAX_DEPTH: usize = 8;

/// A parsed query: a tree of terms joined by `AND`, `OR` and `NOT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchQuery {
    /// A word or a quoted phrase; `prefix` when it ended in `*` (matches words starting with it).
    Term { text: String, prefix: bool },
    /// Both sides occur (written as `a b` or `a AND b`).
    And(Box<SearchQuery>, Box<SearchQuery>),
    /// Either side occurs.
    Or(Box<SearchQuery>, Box<SearchQuery>),
    /// The left side occurs and the right side does not.
    Not(Box<SearchQuery>, Box<SearchQuery>),
}

/// Why a query does not parse; the message is shown to the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("there are no words to search for")]
    Empty,
    #[error("a quoted phrase is not closed (a \" is missing)")]
    UnclosedQuote,
    #[error("a parenthesis is not closed (a ')' is missing)")]
    UnclosedParen,
    #[error("')' without a matching '('")]
    UnexpectedParen,
    #[error("{0} needs a search term on both sides, as in `cats {0} dogs`")]
    MissingOperand(&'static str),
    #[error("'*' must follow a word, as in `quart*`")]
    StrayStar,
    #[error("at most {MAX_TERMS} words and phrases")]
    TooManyTerms,
    #[error("parentheses nest at most {MAX_DEPTH} deep")]
    TooDeep,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Open,
    Close,
    /// `AND`, `OR` or `NOT`, written in capitals (in lower case they are words).
    Op(&'static str),
    Term {
        text: String,
        prefix: bool,
    },
}

/// Characters that end a bare word: they are the language's own syntax.
fn is_syntax(c: char) -> bool {
    c.is_whitespace() || matches!(c, '"' | '(' | ')' | '*')
}

fn tokenize(input: &str) -> Result<Vec<Token>, QueryError> {
    let mut tokens = Vec::new();
    // Control characters (NUL included, which ends a string for FTS5's parser) separate words.
    let mut chars = input
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' => {
                chars.next();
                tokens.push(Token::Open);
            }
            ')' => {
                chars.next();
                tokens.push(Token::Close);
            }
            '*' => return Err(QueryError::StrayStar),
            '"' => {
                chars.next();
                let mut text = String::new();
                loop {
                    match chars.next() {
                        None => return Err(QueryError::UnclosedQuote),
                        // `""` inside a phrase is one literal quote, as in FTS5 and SQL.
                        Some('"') if chars.peek() == Some(&'"') => {
                            chars.next();
                            text.push('"');
                        }
                        Some('"') => break,
                        Some(c) => text.push(c),
                    }
                }
                let prefix = chars.next_if_eq(&'*').is_some();
                tokens.push(Token::Term { text, prefix });
            }
            _ => {
                let mut text = String::new();
                while let Some(c) = chars.next_if(|&c| !is_syntax(c)) {
                    text.push(c);
                }
                let prefix = chars.next_if_eq(&'*').is_some();
                tokens.push(match text.as_str() {
                    "AND" if !prefix => Token::Op("AND"),
                    "OR" if !prefix => Token::Op("OR"),
                    "NOT" if !prefix => Token::Op("NOT"),
                    _ => Token::Term { text, prefix },
                });
            }
        }
        if tokens.len() > 8 * MAX_TERMS {
            return Err(QueryError::TooManyTerms);
        }
    }
    Ok(tokens)
}

/// Whether a term holds anything the index can match: a term of punctuation only (`-`, `…`)
/// matches nothing and is left out rather than failing the query.
fn searchable(text: &str) -> bool {
    text.chars().any(char::is_alphanumeric)
}

/// Recursive descent over the tokens; precedence as in FTS5: `NOT` binds tighter than `AND`
/// (also the implicit one between adjacent terms), which binds tighter than `OR`. An operand
/// whose terms are all unsearchable is `None`, and an operator with a `None` side keeps the other.
struct Parser {
    tokens: Vec<Token>,
    at: usize,
    depth: usize,
    terms: usize,
}

type Node = Option<SearchQuery>;

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn or(&mut self) -> Result<Node, QueryError> {
        let mut left = self.and()?;
        while self.peek() == Some(&Token::Op("OR")) {
            self.at += 1;
            let right = self.and()?;
            left = join(left, right, SearchQuery::Or);
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Node, QueryError> {
        let mut left = self.not()?;
        loop {
            match self.peek() {
                Some(Token::Op("AND")) => self.at += 1,
                Some(Token::Open | Token::Term { .. }) => {}
                _ => return Ok(left),
            }
            let right = self.not()?;
            left = join(left, right, SearchQuery::And);
        }
    }

    fn not(&mut self) -> Result<Node, QueryError> {
        let mut left = self.primary("NOT")?;
        while self.peek() == Some(&Token::Op("NOT")) {
            self.at += 1;
            let right = self.primary("NOT")?;
            left = match (left, right) {
                (Some(l), Some(r)) => Some(SearchQuery::Not(Box::new(l), Box::new(r))),
                // Excluding nothing searchable excludes nothing; nothing minus anything is nothing.
                (l, _) => l,
            };
        }
        Ok(left)
    }

    /// A term or a parenthesized query; `after` names the operator before it, for the error.
    fn primary(&mut self, after: &'static str) -> Result<Node, QueryError> {
        match self.tokens.get(self.at).cloned() {
            Some(Token::Term { text, prefix }) => {
                self.at += 1;
                self.terms += 1;
                if self.terms > MAX_TERMS {
                    return Err(QueryError::TooManyTerms);
                }
                Ok(searchable(&text).then_some(SearchQuery::Term { text, prefix }))
            }
            Some(Token::Open) => {
                self.at += 1;
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    return Err(QueryError::TooDeep);
                }
                let inner = self.or()?;
                if self.peek() != Some(&Token::Close) {
                    return Err(match self.peek() {
                        None => QueryError::UnclosedParen,
                        Some(Token::Op(op)) => QueryError::MissingOperand(op),
                        Some(_) => QueryError::UnexpectedParen,
                    });
                }
                self.at += 1;
                self.depth -= 1;
                Ok(inner)
            }
            Some(Token::Op(op)) => Err(QueryError::MissingOperand(op)),
            Some(Token::Close) if self.at == 0 => Err(QueryError::UnexpectedParen),
            Some(Token::Close) | None => Err(match self.tokens.get(self.at.wrapping_sub(1)) {
                Some(Token::Op(op)) => QueryError::MissingOperand(op),
                Some(Token::Open) => QueryError::Empty,
                _ => QueryError::MissingOperand(after),
            }),
        }
    }
}

fn join(
    left: Node,
    right: Node,
    make: fn(Box<SearchQuery>, Box<SearchQuery>) -> SearchQuery,
) -> Node {
    match (left, right) {
        (Some(l), Some(r)) => Some(make(Box::new(l), Box::new(r))),
        (l, r) => l.or(r),
    }
}

impl SearchQuery {
    /// Parses what a person typed (see the module docs for the language).
    pub fn parse(input: &str) -> Result<Self, QueryError> {
        let tokens = tokenize(input)?;
        if tokens.is_empty() {
            return Err(QueryError::Empty);
        }
        let mut p = Parser {
            tokens,
            at: 0,
            depth: 0,
            terms: 0,
        };
        let query = p.or()?;
        match p.peek() {
            None => query.ok_or(QueryError::Empty),
            Some(Token::Close) => Err(QueryError::UnexpectedParen),
            // `or()` stops only at `)` or the end; anything else is an operator without a right side.
            Some(Token::Op(op)) => Err(QueryError::MissingOperand(op)),
            Some(_) => Err(QueryError::UnexpectedParen),
        }
    }

    /// The query in SQLite FTS5 syntax: every term a quoted phrase (a `"` doubled), operators
    /// explicit, and parentheses where precedence needs them, so FTS5 reads exactly this tree.
    /// (FTS5's precedence and left-to-right grouping are the same as [`SearchQuery::parse`]'s, so
    /// the text also parses back to this tree, no deeper than the query that was typed.)
    pub fn to_fts5(&self) -> String {
        let mut out = String::new();
        self.write_fts5(&mut out);
        out
    }

    fn precedence(&self) -> u8 {
        match self {
            SearchQuery::Or(..) => 1,
            SearchQuery::And(..) => 2,
            SearchQuery::Not(..) => 3,
            SearchQuery::Term { .. } => 4,
        }
    }

    fn write_fts5(&self, out: &mut String) {
        let (l, op, r) = match self {
            SearchQuery::Term { text, prefix } => {
                out.push('"');
                out.push_str(&text.replace('"', "\"\""));
                out.push('"');
                if *prefix {
                    out.push('*');
                }
                return;
            }
            SearchQuery::And(l, r) => (l, "AND", r),
            SearchQuery::Or(l, r) => (l, "OR", r),
            SearchQuery::Not(l, r) => (l, "NOT", r),
        };
        let me = self.precedence();
        // Operators group left to right: a right side of the same precedence needs parentheses.
        let side = |q: &SearchQuery, out: &mut String, parens: bool| {
            if parens {
                out.push('(');
            }
            q.write_fts5(out);
            if parens {
                out.push(')');
            }
        };
        side(l, out, l.precedence() < me);
        out.push(' ');
        out.push_str(op);
        out.push(' ');
        side(r, out, r.precedence() <= me);
    }
}

/// The `search_query` fuzz target (`fuzz/`): parsing never panics; what parses renders to text
/// that parses back to the same tree, within the limits; and SQLite's FTS5 accepts every
/// rendering, on a table made like the server's index.
#[cfg(any(test, fuzzing))]
pub fn fuzz_search_query(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(query) = SearchQuery::parse(text) else {
        return;
    };
    let fts = query.to_fts5();
    assert_eq!(SearchQuery::parse(&fts).as_ref(), Ok(&query), "{fts}");
    thread_local! {
        static DB: rusqlite::Connection = {
            let db = rusqlite::Connection::open_in_memory().unwrap();
            // As `messages_fts` in the server's migrations.
            db.execute_batch(
                "CREATE VIRTUAL TABLE t USING fts5(text, tokenize = 'unicode61 remove_diacritics 2',
                     prefix = '2 3');
                 INSERT INTO t VALUES ('the quarterly report is late'), ('Ünïcödé 日本語 text');",
            )
            .unwrap();
            db
        };
    }
    DB.with(|db| {
        let found: Result<i64, _> =
            db.query_row("SELECT count(*) FROM t WHERE t MATCH ?1", [&fts], |r| {
                r.get(0)
            });
        if let Err(e) = found {
            panic!("FTS5 refused {fts:?} (from {text:?}): {e}");
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fts(q: &str) -> String {
        SearchQuery::parse(q).unwrap().to_fts5()
    }

    #[test]
    fn fuzz_corpus_and_regressions_replay() {
        crate::fuzz_cases::replay("search_query", fuzz_search_query);
    }

    #[test]
    fn words_phrases_prefixes_and_operators() {
        assert_eq!(fts("quarterly report"), r#""quarterly" AND "report""#);
        assert_eq!(
            fts(r#""quarterly report" late"#),
            r#""quarterly report" AND "late""#
        );
        assert_eq!(fts("quart*"), r#""quart"*"#);
        assert_eq!(fts(r#""quarterly re"*"#), r#""quarterly re"*"#);
        assert_eq!(fts("a OR b c"), r#""a" OR "b" AND "c""#);
        assert_eq!(fts("a b NOT c"), r#""a" AND "b" NOT "c""#);
        assert_eq!(fts("a NOT (b NOT c)"), r#""a" NOT ("b" NOT "c")"#);
        assert_eq!(fts("(a OR b) c"), r#"("a" OR "b") AND "c""#);
        assert_eq!(fts("((a)) (b)"), r#""a" AND "b""#);
        // Lower-case operators are words.
        assert_eq!(fts("cats and dogs"), r#""cats" AND "and" AND "dogs""#);
        // What the desktop engine sends (each word quoted, the last a prefix) is accepted.
        assert_eq!(fts(r#""quarterly" "rep"*"#), r#""quarterly" AND "rep"*"#);
    }

    #[test]
    fn backend_syntax_is_only_text() {
        // FTS5 column filters, NEAR, `^`, `-` and `+` are words with punctuation in them.
        assert_eq!(fts("text: secret"), r#""text:" AND "secret""#);
        assert_eq!(fts("NEAR(a b)"), r#""NEAR" AND ("a" AND "b")"#);
        assert_eq!(
            fts("^start -minus C++"),
            r#""^start" AND "-minus" AND "C++""#
        );
        assert_eq!(fts(r#""say ""hi"" now""#), r#""say ""hi"" now""#);
        // Terms of punctuation only match nothing and are left out.
        assert_eq!(fts("a - b"), r#""a" AND "b""#);
        assert_eq!(fts("a OR …"), r#""a""#);
        // Control characters separate words, inside phrases too (FTS5 would stop at a NUL).
        assert_eq!(fts("a\0b \"c\u{1}d\""), r#""a" AND "b" AND "c d""#);
        assert_eq!(fts("a NOT -"), r#""a""#);
    }

    #[test]
    fn errors_say_what_is_wrong() {
        for (q, e) in [
            ("", QueryError::Empty),
            ("   ", QueryError::Empty),
            ("- …", QueryError::Empty),
            ("()", QueryError::Empty),
            ("\"unbalanced", QueryError::UnclosedQuote),
            ("(find", QueryError::UnclosedParen),
            ("find)", QueryError::UnexpectedParen),
            (")find", QueryError::UnexpectedParen),
            ("find AND", QueryError::MissingOperand("AND")),
            ("OR find", QueryError::MissingOperand("OR")),
            ("NOT find", QueryError::MissingOperand("NOT")),
            ("a OR OR b", QueryError::MissingOperand("OR")),
            ("(a NOT) b", QueryError::MissingOperand("NOT")),
            ("*", QueryError::StrayStar),
            ("\0\u{1}\t", QueryError::Empty),
            ("a **", QueryError::StrayStar),
            ("((((((((((a))))))))))", QueryError::TooDeep),
        ] {
            assert_eq!(SearchQuery::parse(q), Err(e), "{q}");
        }
        // Long queries render flat, not one parenthesis per word.
        let longest = vec!["w"; MAX_TERMS].join(" ");
        assert!(!fts(&longest).contains('('));
        let many = vec!["w"; MAX_TERMS + 1].join(" ");
        assert_eq!(SearchQuery::parse(&many), Err(QueryError::TooManyTerms));
        assert!(SearchQuery::parse(&vec!["w"; MAX_TERMS].join(" ")).is_ok());
    }

    #[test]
    fn renderings_parse_back_and_fts5_accepts_them() {
        for q in [
            "a",
            "a b OR c NOT (d OR \"e f\"*)",
            "日本語 Ünïcödé",
            "x ) y",
            "\"\"\"\"",
            "\"*\"*",
        ] {
            fuzz_search_query(q.as_bytes());
        }
    }
}
