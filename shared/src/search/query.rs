//! Jeco's search language, parsed once into a typed tree that every search backend translates.
//!
//! Both sides search: the server (`GET /api/v1/search`, SQLite FTS5 today, PostgreSQL next) and
//! the client engine's offline cache (its own SQLite FTS5). Handing what a person typed to FTS5's
//! `MATCH` made FTS5's own, larger syntax (column filters, `NEAR`, `^`, bare punctuation) part of
//! the product by accident, turned typos into database errors whose text reached people, and would
//! tie the language to one backend. So the text is parsed here, in the one crate both sides share,
//! into a [`SearchQuery`]: a tree of terms ([`TextQuery`]) plus [`Filters`]. Each backend turns the
//! tree into its own query — every term a quoted phrase, every filter a SQL condition with bound
//! parameters — so no character a person types can reach a backend's parser as syntax.
//!
//! The language:
//!
//! - words: all must occur (punctuation inside a word is part of it: `C++`, `text:`);
//! - `"an exact phrase"` (`""` inside it is one quote; a quote that is never closed runs to the
//!   end of the query, so half-typed phrases still search);
//! - `prefix*` and `"a phr"*`: words starting so;
//! - the capitalised operators `AND`, `OR`, `NOT` (`a NOT b`: a without b) and parentheses; `NOT`
//!   binds tighter than `AND` (also the implicit one between words), which binds tighter than `OR`
//!   (in lower case they are words);
//! - filters, which apply to the whole query wherever they are written (so not inside parentheses
//!   nor next to `OR`/`NOT`): `from:@user` (by username; several `from:` mean any of them),
//!   `in:#name` (a channel or group of that name, case-insensitive; several mean any of them),
//!   `before:YYYY-MM-DD` (sent before that day began, UTC), `after:YYYY-MM-DD` (sent after that day
//!   ended, UTC: the day itself is excluded), `has:file` (with at least one attachment). A word with
//!   any other `name:` is a plain word.
//!
//! A query needs at least one word or filter. Limits keep the work per query small whatever
//! arrives: [`QUERY_MAX_CHARS`] characters, [`MAX_TERMS`] terms, [`MAX_DEPTH`] levels of
//! parentheses, [`MAX_FILTERS`] filters. A query that breaks them, or does not parse, is a
//! [`QueryError`] whose text says what is wrong (the server answers it as `400 invalid_query`).

use std::fmt;

/// Longest query, in characters.
pub const QUERY_MAX_CHARS: usize = 256;
/// Most terms (words and phrases) in one query.
pub const MAX_TERMS: usize = 32;
/// Deepest nesting of parentheses.
pub const MAX_DEPTH: usize = 8;
/// Most filters (`from:`, `in:`, `before:`, `after:`, `has:`) in one query.
pub const MAX_FILTERS: usize = 8;
/// Longest filter value (`from:`'s username, `in:`'s name), in characters.
pub const FILTER_VALUE_MAX: usize = 100;

/// A parsed query: what to match in the text, and what else a message must be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    /// `None` for a query of filters only (every message that passes them).
    pub text: Option<TextQuery>,
    pub filters: Filters,
}

/// The text part: a tree of terms joined by `AND`, `OR` and `NOT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextQuery {
    /// A word or a quoted phrase; `prefix` when it ended in `*` (matches words starting with it).
    Term { text: String, prefix: bool },
    /// Both sides occur (written as `a b` or `a AND b`).
    And(Box<TextQuery>, Box<TextQuery>),
    /// Either side occurs.
    Or(Box<TextQuery>, Box<TextQuery>),
    /// The left side occurs and the right side does not.
    Not(Box<TextQuery>, Box<TextQuery>),
}

/// Conditions on who, where and when, beside the text. All given ones must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    /// Sent by any of these usernames (lower case, without `@`); empty: anyone.
    pub from: Vec<String>,
    /// In a channel or group with any of these names (without `#`, as typed; backends compare
    /// case-insensitively); empty: anywhere.
    pub in_names: Vec<String>,
    /// Sent before this day began (UTC).
    pub before: Option<Date>,
    /// Sent after this day ended (UTC).
    pub after: Option<Date>,
    /// Has at least one attachment.
    pub has_file: bool,
}

/// A calendar day, `YYYY-MM-DD`, always meant in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    pub year: u16,
    pub month: u8,
    pub day: u8,
}

/// Why a query does not parse; the message is shown to the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryError {
    /// No words and no filters.
    Empty,
    TooLong,
    UnclosedParen,
    UnexpectedParen,
    /// An operator (`AND`, `OR`, `NOT`) without a term on one side.
    MissingOperand(&'static str),
    StrayStar,
    TooManyTerms,
    TooDeep,
    TooManyFilters,
    /// A filter inside parentheses or next to an operator (filters apply to the whole query).
    FilterInGroup(&'static str),
    /// A filter whose value is missing or malformed; the message says what it takes.
    BadFilter {
        filter: &'static str,
        expected: &'static str,
    },
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("there are no words or filters to search for"),
            Self::TooLong => write!(f, "a search is at most {QUERY_MAX_CHARS} characters"),
            Self::UnclosedParen => f.write_str("a parenthesis is not closed (a ')' is missing)"),
            Self::UnexpectedParen => f.write_str("')' without a matching '('"),
            Self::MissingOperand(op) => write!(
                f,
                "{op} needs a search term on both sides, as in `cats {op} dogs`"
            ),
            Self::StrayStar => f.write_str("'*' must follow a word, as in `quart*`"),
            Self::TooManyTerms => write!(f, "at most {MAX_TERMS} words and phrases"),
            Self::TooDeep => write!(f, "parentheses nest at most {MAX_DEPTH} deep"),
            Self::TooManyFilters => write!(f, "at most {MAX_FILTERS} filters"),
            Self::FilterInGroup(name) => write!(
                f,
                "{name} applies to the whole search: write it outside parentheses and not next to AND, OR or NOT"
            ),
            Self::BadFilter { filter, expected } => write!(f, "{filter} needs {expected}"),
        }
    }
}

impl std::error::Error for QueryError {}

impl Date {
    /// Reads `YYYY-MM-DD` (a real day of the Gregorian calendar, year 1970 or later).
    pub fn parse(s: &str) -> Option<Date> {
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let num = |r: std::ops::Range<usize>| -> Option<u16> {
            let part = &s[r];
            part.bytes()
                .all(|c| c.is_ascii_digit())
                .then(|| part.parse().ok())?
        };
        let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
        let days_in_month = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        (year >= 1970 && (1..=days_in_month).contains(&day)).then_some(Date {
            year,
            month: month as u8,
            day: day as u8,
        })
    }

    /// Days from 1970-01-01 (Howard Hinnant's `days_from_civil`).
    fn days_since_epoch(self) -> i64 {
        let (m, d) = (i64::from(self.month), i64::from(self.day));
        let y = i64::from(self.year) - i64::from(m <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// Unix milliseconds of this day's first instant (00:00 UTC).
    pub fn start_unix_ms(self) -> i64 {
        self.days_since_epoch() * 86_400_000
    }

    /// Unix milliseconds of the next day's first instant: the end of this day, exclusive.
    pub fn end_unix_ms(self) -> i64 {
        (self.days_since_epoch() + 1) * 86_400_000
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
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
    Filter(Filter),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Filter {
    From(String),
    In(String),
    Before(Date),
    After(Date),
    HasFile,
}

impl Filter {
    fn name(&self) -> &'static str {
        match self {
            Filter::From(_) => "from:",
            Filter::In(_) => "in:",
            Filter::Before(_) => "before:",
            Filter::After(_) => "after:",
            Filter::HasFile => "has:",
        }
    }
}

/// Characters that end a bare word: they are the language's own syntax.
fn is_syntax(c: char) -> bool {
    c.is_whitespace() || matches!(c, '"' | '(' | ')' | '*')
}

/// A bare word that names a filter (`from:…`, `in:…`, …) as that filter; `Ok(None)` for a word.
fn filter(word: &str) -> Result<Option<Filter>, QueryError> {
    let Some((name, value)) = word.split_once(':') else {
        return Ok(None);
    };
    let bad = |filter, expected| QueryError::BadFilter { filter, expected };
    let name_value = |sigil: char, filter, expected| {
        let v = value.strip_prefix(sigil).unwrap_or(value);
        if v.is_empty() || v.chars().count() > FILTER_VALUE_MAX || v.contains(':') {
            Err(bad(filter, expected))
        } else {
            Ok(v.to_owned())
        }
    };
    Ok(Some(match name.to_ascii_lowercase().as_str() {
        "from" => {
            Filter::From(name_value('@', "from:", "a username, as in from:@ada")?.to_lowercase())
        }
        "in" => Filter::In(name_value(
            '#',
            "in:",
            "a channel or group name, as in in:#general",
        )?),
        "before" => Filter::Before(Date::parse(value).ok_or(bad(
            "before:",
            "a date as YYYY-MM-DD, as in before:2026-12-01",
        ))?),
        "after" => Filter::After(Date::parse(value).ok_or(bad(
            "after:",
            "a date as YYYY-MM-DD, as in after:2026-11-30",
        ))?),
        "has" if value.eq_ignore_ascii_case("file") => Filter::HasFile,
        "has" => return Err(bad("has:", "`file`, as in has:file")),
        _ => return Ok(None),
    }))
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
                        // An unclosed quote runs to the end: a phrase being typed still searches.
                        None => break,
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
                    _ => match filter(&text)? {
                        Some(f) if prefix => {
                            return Err(QueryError::BadFilter {
                                filter: f.name(),
                                expected: "a whole value, not a prefix with '*'",
                            });
                        }
                        Some(f) => Token::Filter(f),
                        None => Token::Term { text, prefix },
                    },
                });
            }
        }
        if tokens.len() > 8 * MAX_TERMS {
            return Err(QueryError::TooManyTerms);
        }
    }
    Ok(tokens)
}

/// Takes the filters out of the token stream: they apply to the whole query, so one inside
/// parentheses or beside an operator (where it would look as if it were part of that group) is an
/// error rather than silently meaning something else.
fn take_filters(tokens: Vec<Token>) -> Result<(Vec<Token>, Filters), QueryError> {
    let mut filters = Filters::default();
    let mut count = 0;
    let mut depth = 0usize;
    let mut rest = Vec::with_capacity(tokens.len());
    for (i, token) in tokens.iter().enumerate() {
        match token {
            Token::Open => depth += 1,
            Token::Close => depth = depth.saturating_sub(1),
            Token::Filter(f) => {
                let beside_op =
                    |j: Option<usize>| matches!(j.and_then(|j| tokens.get(j)), Some(Token::Op(_)));
                if depth > 0 || beside_op(i.checked_sub(1)) || beside_op(Some(i + 1)) {
                    return Err(QueryError::FilterInGroup(f.name()));
                }
                count += 1;
                if count > MAX_FILTERS {
                    return Err(QueryError::TooManyFilters);
                }
                match f {
                    Filter::From(u) if !filters.from.contains(u) => filters.from.push(u.clone()),
                    Filter::In(n) if !filters.in_names.contains(n) => {
                        filters.in_names.push(n.clone())
                    }
                    // Several of one bound: the tightest holds (they must all hold).
                    Filter::Before(d) => {
                        filters.before = Some(filters.before.map_or(*d, |b| b.min(*d)))
                    }
                    Filter::After(d) => {
                        filters.after = Some(filters.after.map_or(*d, |a| a.max(*d)))
                    }
                    Filter::HasFile => filters.has_file = true,
                    Filter::From(_) | Filter::In(_) => {}
                }
                continue;
            }
            _ => {}
        }
        rest.push(token.clone());
    }
    Ok((rest, filters))
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

type Node = Option<TextQuery>;

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn or(&mut self) -> Result<Node, QueryError> {
        let mut left = self.and()?;
        while self.peek() == Some(&Token::Op("OR")) {
            self.at += 1;
            let right = self.and()?;
            left = join(left, right, TextQuery::Or);
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
            left = join(left, right, TextQuery::And);
        }
    }

    fn not(&mut self) -> Result<Node, QueryError> {
        let mut left = self.primary("NOT")?;
        while self.peek() == Some(&Token::Op("NOT")) {
            self.at += 1;
            let right = self.primary("NOT")?;
            left = match (left, right) {
                (Some(l), Some(r)) => Some(TextQuery::Not(Box::new(l), Box::new(r))),
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
                Ok(searchable(&text).then_some(TextQuery::Term { text, prefix }))
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
            Some(Token::Close | Token::Filter(_)) | None => {
                Err(match self.tokens.get(self.at.wrapping_sub(1)) {
                    Some(Token::Op(op)) => QueryError::MissingOperand(op),
                    Some(Token::Open) => QueryError::Empty,
                    _ => QueryError::MissingOperand(after),
                })
            }
        }
    }
}

fn join(left: Node, right: Node, make: fn(Box<TextQuery>, Box<TextQuery>) -> TextQuery) -> Node {
    match (left, right) {
        (Some(l), Some(r)) => Some(make(Box::new(l), Box::new(r))),
        (l, r) => l.or(r),
    }
}

impl SearchQuery {
    /// Parses what a person typed (see the module docs for the language).
    pub fn parse(input: &str) -> Result<Self, QueryError> {
        if input.chars().count() > QUERY_MAX_CHARS {
            return Err(QueryError::TooLong);
        }
        let (tokens, filters) = take_filters(tokenize(input)?)?;
        let text = if tokens.is_empty() {
            None
        } else {
            let mut p = Parser {
                tokens,
                at: 0,
                depth: 0,
                terms: 0,
            };
            let text = p.or()?;
            match p.peek() {
                None => {}
                Some(Token::Close) => return Err(QueryError::UnexpectedParen),
                // `or()` stops only at `)` or the end; anything else is an operator without a
                // right side.
                Some(Token::Op(op)) => return Err(QueryError::MissingOperand(op)),
                Some(_) => return Err(QueryError::UnexpectedParen),
            }
            text
        };
        if text.is_none() && filters == Filters::default() {
            return Err(QueryError::Empty);
        }
        Ok(SearchQuery { text, filters })
    }

    /// The query for search-as-you-type: the last term also matches as a prefix (`hello wor`
    /// finds "hello world"), so results appear before a word is finished.
    pub fn last_term_as_prefix(mut self) -> Self {
        let mut node = self.text.as_mut();
        while let Some(n) = node {
            node = match n {
                TextQuery::Term { prefix, .. } => {
                    *prefix = true;
                    None
                }
                TextQuery::And(_, r) | TextQuery::Or(_, r) => Some(r),
                // The right side of NOT is what is excluded: widening it would hide more.
                TextQuery::Not(l, _) => Some(l),
            };
        }
        self
    }
}

impl TextQuery {
    /// The tree in SQLite FTS5 syntax, for the two SQLite stores (the server's and the client
    /// cache's): every term a quoted phrase (a `"` doubled), operators explicit, and parentheses
    /// where precedence needs them, so FTS5 reads exactly this tree. (FTS5's precedence and
    /// left-to-right grouping are the same as [`SearchQuery::parse`]'s.)
    pub fn to_fts5(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, true);
        out
    }

    fn precedence(&self) -> u8 {
        match self {
            TextQuery::Or(..) => 1,
            TextQuery::And(..) => 2,
            TextQuery::Not(..) => 3,
            TextQuery::Term { .. } => 4,
        }
    }

    /// Every term, left to right.
    pub fn terms(&self) -> Vec<(&str, bool)> {
        match self {
            TextQuery::Term { text, prefix } => vec![(text.as_str(), *prefix)],
            TextQuery::And(l, r) | TextQuery::Or(l, r) | TextQuery::Not(l, r) => {
                let mut t = l.terms();
                t.extend(r.terms());
                t
            }
        }
    }

    /// Writes the tree as FTS5 (`fts5`: every term quoted, `AND` explicit) or in this language's
    /// own short form (a term bare where it reads back as the same word, `AND` as a space).
    fn write(&self, out: &mut String, fts5: bool) {
        let (l, op, r) = match self {
            TextQuery::Term { text, prefix } => {
                let bare = !fts5
                    && !text.is_empty()
                    && !text.contains(|c: char| is_syntax(c) || c.is_control() || c == ':')
                    && !matches!(text.as_str(), "AND" | "OR" | "NOT");
                if bare {
                    out.push_str(text);
                } else {
                    out.push('"');
                    out.push_str(&text.replace('"', "\"\""));
                    out.push('"');
                }
                if *prefix {
                    out.push('*');
                }
                return;
            }
            TextQuery::And(l, r) => (l, if fts5 { " AND " } else { " " }, r),
            TextQuery::Or(l, r) => (l, " OR ", r),
            TextQuery::Not(l, r) => (l, " NOT ", r),
        };
        let me = self.precedence();
        // Operators group left to right: a right side of the same precedence needs parentheses.
        let side = |q: &TextQuery, out: &mut String, parens: bool| {
            if parens {
                out.push('(');
            }
            q.write(out, fts5);
            if parens {
                out.push(')');
            }
        };
        side(l, out, l.precedence() < me);
        out.push_str(op);
        side(r, out, r.precedence() <= me);
    }
}

/// This language's short form of the tree; parses back to the same tree.
impl fmt::Display for TextQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        self.write(&mut out, false);
        f.write_str(&out)
    }
}

/// The canonical form, in this language: parses back to the same query. The client engine sends
/// this to the server, so both sides search for exactly the same thing.
impl fmt::Display for SearchQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut sep = "";
        if let Some(text) = &self.text {
            write!(f, "{text}")?;
            sep = " ";
        }
        let fl = &self.filters;
        for u in &fl.from {
            write!(f, "{sep}from:@{u}")?;
            sep = " ";
        }
        for n in &fl.in_names {
            write!(f, "{sep}in:#{n}")?;
            sep = " ";
        }
        if let Some(d) = fl.before {
            write!(f, "{sep}before:{d}")?;
            sep = " ";
        }
        if let Some(d) = fl.after {
            write!(f, "{sep}after:{d}")?;
            sep = " ";
        }
        if fl.has_file {
            write!(f, "{sep}has:file")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fts(q: &str) -> String {
        SearchQuery::parse(q).unwrap().text.unwrap().to_fts5()
    }

    fn filters(q: &str) -> Filters {
        SearchQuery::parse(q).unwrap().filters
    }

    fn date(year: u16, month: u8, day: u8) -> Date {
        Date { year, month, day }
    }

    /// Parses, renders canonically, and checks the rendering parses back to the same query.
    fn round_trip(q: &str) {
        if let Ok(query) = SearchQuery::parse(q) {
            let again = query.to_string();
            assert_eq!(SearchQuery::parse(&again), Ok(query), "{q:?} → {again:?}");
        }
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
        // An unclosed quote runs to the end of the query.
        assert_eq!(
            fts(r#"late "quarterly rep"#),
            r#""late" AND "quarterly rep""#
        );
    }

    #[test]
    fn filters_are_read_and_apply_to_the_whole_query() {
        let q = SearchQuery::parse(
            "report from:@Ada in:#General before:2026-12-01 after:2026-11-01 has:file",
        )
        .unwrap();
        assert_eq!(q.text.unwrap().to_fts5(), r#""report""#);
        assert_eq!(
            q.filters,
            Filters {
                from: vec!["ada".into()],
                in_names: vec!["General".into()],
                before: Some(date(2026, 12, 1)),
                after: Some(date(2026, 11, 1)),
                has_file: true,
            }
        );
        // Without the sigils too; several from/in are any of them; dates keep the tightest.
        let f = filters(
            "from:ada from:@bob from:ADA in:random before:2026-12-01 before:2026-11-15 after:2026-01-01 after:2025-01-01",
        );
        assert_eq!(f.from, ["ada", "bob"]);
        assert_eq!(f.in_names, ["random"]);
        assert_eq!(f.before, Some(date(2026, 11, 15)));
        assert_eq!(f.after, Some(date(2026, 1, 1)));
        // Filters alone are a query (every message that passes them).
        let only = SearchQuery::parse("from:@ada").unwrap();
        assert_eq!(only.text, None);
        // A filter at the end of an OR applies to all of it.
        let q = SearchQuery::parse("a OR b from:@ada").unwrap();
        assert_eq!(q.text.unwrap().to_fts5(), r#""a" OR "b""#);
        // Any other `name:`, a quoted filter, or a filter name alone is a word.
        assert_eq!(fts("text:secret"), r#""text:secret""#);
        assert_eq!(fts(r#""from:@ada""#), r#""from:@ada""#);
        assert_eq!(fts("from"), r#""from""#);
    }

    #[test]
    fn dates_are_utc_days() {
        assert_eq!(date(1970, 1, 1).start_unix_ms(), 0);
        assert_eq!(date(1970, 1, 1).end_unix_ms(), 86_400_000);
        // 2026-12-06T00:00:00Z
        assert_eq!(date(2026, 12, 6).start_unix_ms(), 1_796_515_200_000);
        assert_eq!(date(2024, 3, 1).start_unix_ms(), 1_709_251_200_000);
        assert_eq!(Date::parse("2024-02-29"), Some(date(2024, 2, 29)));
        for bad in [
            "2023-02-29",
            "2026-13-01",
            "2026-00-10",
            "2026-04-31",
            "1969-12-31",
            "2026-1-01",
            "2026-01-01T00:00",
            "+026-01-01",
            "２０２６-01-01",
            "",
        ] {
            assert_eq!(Date::parse(bad), None, "{bad}");
        }
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
        // SQL is text as well (it only ever reaches a backend as a bound parameter).
        assert_eq!(
            fts("'; DROP TABLE messages; --"),
            r#""DROP" AND "TABLE" AND "messages;""#
        );
        assert_eq!(
            filters("from:@x'--").from,
            ["x'--"],
            "a filter value is a bound parameter, never SQL"
        );
    }

    #[test]
    fn errors_say_what_is_wrong() {
        for (q, e) in [
            ("", QueryError::Empty),
            ("   ", QueryError::Empty),
            ("- …", QueryError::Empty),
            ("()", QueryError::Empty),
            ("\"", QueryError::Empty),
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
            ("a OR from:@ada", QueryError::FilterInGroup("from:")),
            ("from:@ada OR a", QueryError::FilterInGroup("from:")),
            ("(a in:#x)", QueryError::FilterInGroup("in:")),
            ("a NOT has:file", QueryError::FilterInGroup("has:")),
            (
                "from:",
                QueryError::BadFilter {
                    filter: "from:",
                    expected: "a username, as in from:@ada",
                },
            ),
            (
                "in:#",
                QueryError::BadFilter {
                    filter: "in:",
                    expected: "a channel or group name, as in in:#general",
                },
            ),
            (
                "before:yesterday",
                QueryError::BadFilter {
                    filter: "before:",
                    expected: "a date as YYYY-MM-DD, as in before:2026-12-01",
                },
            ),
            (
                "after:2026-02-30",
                QueryError::BadFilter {
                    filter: "after:",
                    expected: "a date as YYYY-MM-DD, as in after:2026-11-30",
                },
            ),
            (
                "has:link",
                QueryError::BadFilter {
                    filter: "has:",
                    expected: "`file`, as in has:file",
                },
            ),
            (
                "from:@ad*",
                QueryError::BadFilter {
                    filter: "from:",
                    expected: "a whole value, not a prefix with '*'",
                },
            ),
        ] {
            assert_eq!(SearchQuery::parse(q), Err(e), "{q}");
        }
        // Messages are prose for people.
        assert_eq!(
            QueryError::BadFilter {
                filter: "before:",
                expected: "a date as YYYY-MM-DD, as in before:2026-12-01"
            }
            .to_string(),
            "before: needs a date as YYYY-MM-DD, as in before:2026-12-01"
        );
    }

    #[test]
    fn limits() {
        let longest = vec!["w"; MAX_TERMS].join(" ");
        assert!(!fts(&longest).contains('('), "long queries render flat");
        let many = vec!["w"; MAX_TERMS + 1].join(" ");
        assert_eq!(SearchQuery::parse(&many), Err(QueryError::TooManyTerms));
        let long = "a".repeat(QUERY_MAX_CHARS + 1);
        assert_eq!(SearchQuery::parse(&long), Err(QueryError::TooLong));
        assert!(SearchQuery::parse(&"a".repeat(QUERY_MAX_CHARS)).is_ok());
        // Characters, not bytes.
        assert!(SearchQuery::parse(&"é".repeat(QUERY_MAX_CHARS)).is_ok());
        let filters = ["has:file"; MAX_FILTERS + 1].join(" ");
        assert_eq!(
            SearchQuery::parse(&filters),
            Err(QueryError::TooManyFilters)
        );
        let long_name = format!("from:@{}", "a".repeat(FILTER_VALUE_MAX + 1));
        assert!(matches!(
            SearchQuery::parse(&long_name),
            Err(QueryError::BadFilter { .. })
        ));
        // Many tokens of nothing (operators, parentheses) are refused early, not walked.
        let noise = "( ".repeat(QUERY_MAX_CHARS / 2);
        assert!(SearchQuery::parse(&noise).is_err());
    }

    #[test]
    fn canonical_form_parses_back() {
        for q in [
            "a",
            "a b OR c NOT (d OR \"e f\"*)",
            "日本語 Ünïcödé",
            "x ) y",
            "\"\"\"\"",
            "\"*\"*",
            "report from:@ada in:#General before:2026-12-01 after:2026-11-01 has:file",
            "from:@ada in:#x",
            "a OR b from:@ada",
            "NEAR(a b) col:x ^y",
            "\"unclosed phrase",
            "'); DROP TABLE messages; --",
        ] {
            round_trip(q);
        }
        assert_eq!(
            SearchQuery::parse("in:#x a from:ada").unwrap().to_string(),
            "a from:@ada in:#x"
        );
        // Short: no longer than what was typed, so the engine can send it to the server.
        assert_eq!(
            SearchQuery::parse(r#"a "b" "c d" (e OR f) "AND" "x:y" C++ g*"#)
                .unwrap()
                .to_string(),
            r#"a b "c d" (e OR f) "AND" "x:y" C++ g*"#
        );
    }

    #[test]
    fn as_you_type_widens_the_last_term() {
        let typed = |q: &str| {
            SearchQuery::parse(q)
                .unwrap()
                .last_term_as_prefix()
                .to_string()
        };
        assert_eq!(typed("hello wor"), "hello wor*");
        assert_eq!(typed("a OR b"), "a OR b*");
        assert_eq!(typed("a NOT b"), "a* NOT b");
        assert_eq!(typed("from:@ada"), "from:@ada");
    }

    /// Hostile inputs: whatever arrives, parsing answers (no panic, no blow-up), and what parses
    /// renders to a query that parses back to itself.
    #[test]
    fn hostile_inputs() {
        let nasty = [
            "\"".repeat(255),
            "(".repeat(255),
            ")".repeat(255),
            "*".repeat(255),
            "NOT ".repeat(60),
            "a OR ".repeat(50),
            "from:@".repeat(40),
            "in:#a ".repeat(40),
            "\u{0}\u{feff}\u{202e}\u{fffd}".repeat(60),
            "🦀* ".repeat(60),
            "a\"b\"c\"d".repeat(30),
            "col:(a OR b)".into(),
            "{a b}".into(),
            "a + b".into(),
            "NEAR(a b, 2)".into(),
        ];
        for q in &nasty {
            let _ = SearchQuery::parse(q);
            round_trip(q);
        }
    }
}
