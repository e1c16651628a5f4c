//! Shell-like tokenising of one iptables-save / iptables-restore line.
//!
//! Follows what iptables-restore's `add_param_to_argv` accepts (iptables/xshared.c): words split
//! on blanks, `"…"` groups a word, `\"` and `\\` escape inside quotes, and a quote may start
//! mid-word. Single quotes (seen in hand-written transcripts) group without escapes. It does
//! not expand variables or globs: these are data, not shell commands.
//!
//! Each token remembers whether any part of it was quoted, so a quoted `"-> 10.0.0.1:80"` is
//! always an argument, never an option.

use super::ParseError;

/// One word of a rule line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    pub text: String,
    /// Some part of the word was inside quotes.
    pub quoted: bool,
}

impl Token {
    /// An option word (`-s`, `--dport`) as opposed to an argument: starts with `-`, was not
    /// quoted, and is not a lone `-` (the "no policy" placeholder).
    pub fn is_option(&self) -> bool {
        !self.quoted && self.text.starts_with('-') && self.text.len() > 1
    }

    /// The negation word `!`.
    pub fn is_bang(&self) -> bool {
        !self.quoted && self.text == "!"
    }
}

/// Splits `line` (line number `line_no`, for errors) into tokens.
pub fn tokenize(line: &str, line_no: usize) -> Result<Vec<Token>, ParseError> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    out.push(Token {
                        text: std::mem::take(&mut cur),
                        quoted,
                    });
                    quoted = false;
                    in_word = false;
                }
            }
            '"' => {
                in_word = true;
                quoted = true;
                let mut closed = false;
                while let Some(q) = chars.next() {
                    match q {
                        '"' => {
                            closed = true;
                            break;
                        }
                        '\\' => match chars.next() {
                            Some(e @ ('"' | '\\')) => cur.push(e),
                            Some(e) => {
                                cur.push('\\');
                                cur.push(e);
                            }
                            None => cur.push('\\'),
                        },
                        q => cur.push(q),
                    }
                }
                if !closed {
                    return Err(ParseError::new(
                        line_no,
                        "expected a closing '\"' before the end of the line",
                    ));
                }
            }
            '\'' => {
                in_word = true;
                quoted = true;
                let mut closed = false;
                for q in chars.by_ref() {
                    if q == '\'' {
                        closed = true;
                        break;
                    }
                    cur.push(q);
                }
                if !closed {
                    return Err(ParseError::new(
                        line_no,
                        "expected a closing \"'\" before the end of the line",
                    ));
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        out.push(Token { text: cur, quoted });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        tokenize(s, 1)
            .unwrap()
            .into_iter()
            .map(|t| t.text)
            .collect()
    }

    #[test]
    fn bare_quoted_and_escaped_words() {
        assert_eq!(
            words(r#"-m comment --comment "ns/svc:p80 -> 10.0.0.1:80" -j X"#),
            [
                "-m",
                "comment",
                "--comment",
                "ns/svc:p80 -> 10.0.0.1:80",
                "-j",
                "X"
            ]
        );
        assert_eq!(
            words("--comment ns1/svc1:p80"),
            ["--comment", "ns1/svc1:p80"]
        );
        assert_eq!(
            words(r#"--comment "say \"hi\" \\ ok""#),
            ["--comment", r#"say "hi" \ ok"#]
        );
        assert_eq!(words(r#"a"b c"d"#), ["ab cd"]);
        assert_eq!(words(r#""""#), [""]);
        assert_eq!(words("  x\t y  "), ["x", "y"]);
        assert_eq!(words("'a b'"), ["a b"]);
    }

    #[test]
    fn quoted_dash_is_an_argument() {
        let t = tokenize(r#""-x" -x - !"#, 1).unwrap();
        assert!(!t[0].is_option());
        assert!(t[1].is_option());
        assert!(!t[2].is_option());
        assert!(t[3].is_bang());
    }

    #[test]
    fn unterminated_quote_names_the_line() {
        let e = tokenize(r#"-A X -m comment --comment "open"#, 7).unwrap_err();
        assert_eq!(e.line, 7);
        assert!(e.to_string().starts_with("line 7: expected"), "{e}");
    }
}
