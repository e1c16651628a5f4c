//! Tokens of nft's text syntax (`nft list ruleset` and `nft -f` input), with line numbers and byte
//! spans so a rule keeps the text the input wrote.
//!
//! Words are split on whitespace and on `{ } ; , "`; a `#` outside a string starts a comment to the
//! end of the line (nft(8) "LEXICAL CONVENTIONS"), except that `# handle N` (what `nft -a list`
//! prints) becomes a [`Tok::Handle`]. A backslash before a newline joins lines. `.` and `:` stay
//! inside words: nft prints concatenations and map data with spaces (`a . b : goto c`), and
//! addresses (`10.0.0.1`, `fd00::1`, `10.0.0.1:80`) need them. This is not a full nft lexer: it
//! does not know nft's keywords, so `{0:goto x}` without spaces is one word.

/// One token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Tok {
    Word(String),
    /// A `"…"` string, without the quotes.
    Str(String),
    LBrace,
    RBrace,
    Semi,
    Comma,
    Newline,
    /// `# handle N`.
    Handle(u64),
}

/// A token and where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Token {
    pub tok: Tok,
    /// 1-based line.
    pub line: usize,
    pub start: usize,
    pub end: usize,
}

impl Token {
    pub fn word(&self) -> Option<&str> {
        match &self.tok {
            Tok::Word(w) => Some(w),
            _ => None,
        }
    }
    /// A word or a quoted string: what a name may be.
    pub fn name(&self) -> Option<&str> {
        match &self.tok {
            Tok::Word(w) | Tok::Str(w) => Some(w),
            _ => None,
        }
    }
    pub fn is_word(&self, w: &str) -> bool {
        self.word() == Some(w)
    }
}

fn is_break(c: char) -> bool {
    c.is_whitespace() || matches!(c, '{' | '}' | ';' | ',' | '"' | '#')
}

/// Splits `text` into tokens. Never fails: an unterminated string runs to the end of its line.
pub(crate) fn lex(text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut line = 1usize;
    let mut it = text.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        let one = |tok: Tok, line: usize| Token {
            tok,
            line,
            start: i,
            end: i + c.len_utf8(),
        };
        match c {
            '\n' => {
                out.push(one(Tok::Newline, line));
                line += 1;
            }
            '\\' if matches!(it.peek(), Some((_, '\n'))) => {
                it.next();
                line += 1;
            }
            c if c.is_whitespace() => {}
            '{' => out.push(one(Tok::LBrace, line)),
            '}' => out.push(one(Tok::RBrace, line)),
            ';' => out.push(one(Tok::Semi, line)),
            ',' => out.push(one(Tok::Comma, line)),
            '#' => {
                let mut end = i + 1;
                while let Some(&(j, d)) = it.peek() {
                    if d == '\n' {
                        break;
                    }
                    end = j + d.len_utf8();
                    it.next();
                }
                let body = text.get(i + 1..end).unwrap_or("").trim();
                if let Some(n) = body.strip_prefix("handle ") {
                    if let Ok(h) = n.trim().parse() {
                        out.push(Token {
                            tok: Tok::Handle(h),
                            line,
                            start: i,
                            end,
                        });
                    }
                }
            }
            '"' => {
                let mut end = i + 1;
                let mut s = String::new();
                let mut closed = false;
                while let Some(&(j, d)) = it.peek() {
                    if d == '\n' {
                        break;
                    }
                    it.next();
                    end = j + d.len_utf8();
                    if d == '"' {
                        closed = true;
                        break;
                    }
                    s.push(d);
                }
                let _ = closed;
                out.push(Token {
                    tok: Tok::Str(s),
                    line,
                    start: i,
                    end,
                });
            }
            _ => {
                let mut end = i + c.len_utf8();
                let mut w = String::new();
                w.push(c);
                while let Some(&(j, d)) = it.peek() {
                    if is_break(d) {
                        break;
                    }
                    w.push(d);
                    end = j + d.len_utf8();
                    it.next();
                }
                out.push(Token {
                    tok: Tok::Word(w),
                    line,
                    start: i,
                    end,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        lex(s).into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn words_braces_strings_and_handles() {
        assert_eq!(
            toks("map m { # handle 7\n comment \"a b\" ; elements = { 1 . tcp : goto x, }"),
            vec![
                Tok::Word("map".into()),
                Tok::Word("m".into()),
                Tok::LBrace,
                Tok::Handle(7),
                Tok::Newline,
                Tok::Word("comment".into()),
                Tok::Str("a b".into()),
                Tok::Semi,
                Tok::Word("elements".into()),
                Tok::Word("=".into()),
                Tok::LBrace,
                Tok::Word("1".into()),
                Tok::Word(".".into()),
                Tok::Word("tcp".into()),
                Tok::Word(":".into()),
                Tok::Word("goto".into()),
                Tok::Word("x".into()),
                Tok::Comma,
                Tok::RBrace,
            ]
        );
    }

    #[test]
    fn comments_dropped_and_lines_counted() {
        let t = lex("# svc1\nadd \\\n table x # tail\n");
        let words: Vec<_> = t
            .iter()
            .filter_map(|t| t.word().map(|w| (w, t.line)))
            .collect();
        assert_eq!(words, vec![("add", 2), ("table", 3), ("x", 3)]);
    }
}
