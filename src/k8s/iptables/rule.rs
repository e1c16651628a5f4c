//! One rule's matches and target, typed where the walk or the kube-proxy / Istio views need
//! them and kept as raw words where they do not.
//!
//! The option grammar follows iptables' `do_parse` (iptables/xshared.c) and the extensions'
//! option tables (extensions/libxt_*.c): `[!] -s/-d/-i/-o/-p`, then `-m MODULE` blocks whose
//! `[!] --option [ARG…]` words belong to the last module opened (`-p tcp` opens its implicit
//! `tcp` module, so `-p tcp ! --dport 53` works as istio-iptables writes it), then `-j`/`-g`
//! `TARGET [--option ARG…]`. The old `-s ! ADDR` negation spelling is accepted too.
//!
//! Unknown modules, options and targets are kept as raw words (`Match::Unknown`,
//! `Target::Other`), never an error: a dump from a node with extra software must still parse.
//! Malformed values of the options modelled here (a bad CIDR, port, mark or probability) are
//! errors naming the line and what was expected.

use std::net::IpAddr;

use super::addr::{parse_mark, parse_u32, Cidr, PortRange};
use super::target::{parse_target, Target};
use super::token::Token;
use super::ParseError;

/// One match of a rule; `negated` is the `!` before it.
#[derive(Clone, Debug, PartialEq)]
pub struct Match {
    pub negated: bool,
    pub kind: MatchKind,
}

/// `-m statistic` modes (libxt_statistic.c).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Statistic {
    /// `--mode random --probability P`.
    Random { probability: f64 },
    /// `--mode nth --every N [--packet P]`.
    Nth { every: u32, packet: u32 },
}

/// What `-m recent` does (libxt_recent.c); `--set` also matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecentOp {
    Set,
    Rcheck,
    Update,
    Remove,
}

/// `-m recent` in full.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recent {
    pub op: RecentOp,
    /// The list name (`DEFAULT` when not given, as in xt_recent).
    pub name: String,
    pub seconds: Option<u32>,
    pub hitcount: Option<u32>,
    pub reap: bool,
    /// `--rsource` (the default) rather than `--rdest`.
    pub rsource: bool,
    pub mask: Option<IpAddr>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum MatchKind {
    Source(Cidr),
    Destination(Cidr),
    InIface(String),
    OutIface(String),
    /// `-p`, lower-cased (`tcp`, `udp`, `6`, `all`).
    Protocol(String),
    DPort(PortRange),
    SPort(PortRange),
    /// `-m multiport --dports`.
    DPorts(Vec<PortRange>),
    SPorts(Vec<PortRange>),
    /// `-m multiport --ports`: either port.
    Ports(Vec<PortRange>),
    Comment(String),
    Statistic(Statistic),
    Recent(Recent),
    /// `-m addrtype --src-type T[,T]`, upper-cased.
    SrcType(Vec<String>),
    DstType(Vec<String>),
    /// `-m mark --mark V/M`: `(mark & mask) == value`.
    Mark {
        value: u32,
        mask: u32,
    },
    ConnMark {
        value: u32,
        mask: u32,
    },
    /// `-m conntrack --ctstate` or `-m state --state`, upper-cased.
    CtState(Vec<String>),
    UidOwner {
        first: u32,
        last: u32,
    },
    GidOwner {
        first: u32,
        last: u32,
    },
    /// `-m set --match-set NAME FLAGS`.
    Set {
        name: String,
        flags: String,
    },
    /// Anything else, with its module (or `None` outside a module) and words.
    Unknown {
        module: Option<String>,
        words: Vec<String>,
    },
}

/// A rule's parsed specification.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct RuleSpec {
    pub matches: Vec<Match>,
    pub target: Option<Target>,
    /// `-g` rather than `-j`: a RETURN from the target chain returns past this chain.
    pub goto: bool,
}

/// One `[!] --option ARG…` inside a module or target.
pub(super) struct Opt {
    pub(super) negated: bool,
    pub(super) name: String,
    pub(super) args: Vec<String>,
}

pub(super) fn err(line: usize, what: impl Into<String>) -> ParseError {
    ParseError::new(line, what)
}

/// Parses the words of a rule after `-A CHAIN [N]`.
pub fn parse_spec(tokens: &[Token], line: usize) -> Result<RuleSpec, ParseError> {
    let mut spec = RuleSpec::default();
    // Blocks of long options, each with its module name (None: before any module).
    let mut blocks: Vec<(Option<String>, Vec<Opt>)> = Vec::new();
    let mut target: Option<(String, Vec<Opt>)> = None;
    let mut i = 0;
    let mut negated = false;
    while let Some(tok) = tokens.get(i) {
        i += 1;
        if tok.is_bang() {
            negated = !negated;
            continue;
        }
        let word = tok.text.as_str();
        if !tok.is_option() {
            spec.matches.push(Match {
                negated,
                kind: MatchKind::Unknown {
                    module: None,
                    words: vec![word.to_string()],
                },
            });
            negated = false;
            continue;
        }
        let short = match word {
            "-s" | "--source" | "--src" => Some("-s"),
            "-d" | "--destination" | "--dst" => Some("-d"),
            "-i" | "--in-interface" => Some("-i"),
            "-o" | "--out-interface" => Some("-o"),
            "-p" | "--protocol" => Some("-p"),
            "-m" | "--match" => Some("-m"),
            "-j" | "--jump" => Some("-j"),
            "-g" | "--goto" => Some("-g"),
            "-c" | "--set-counters" => Some("-c"),
            "-f" | "--fragment" => Some("-f"),
            _ => None,
        };
        if let Some(short) = short {
            if short == "-f" {
                spec.matches.push(Match {
                    negated,
                    kind: MatchKind::Unknown {
                        module: None,
                        words: vec![word.to_string()],
                    },
                });
                negated = false;
                continue;
            }
            if short == "-c" {
                i += 2; // -c PKTS BYTES: counters, not a match.
                continue;
            }
            // Old spelling: `-s ! 10.0.0.1`.
            if tokens.get(i).is_some_and(Token::is_bang) {
                negated = !negated;
                i += 1;
            }
            let Some(arg) = tokens.get(i).filter(|t| !t.is_option()) else {
                return Err(err(line, format!("expected a value after {word}")));
            };
            i += 1;
            let arg = arg.text.as_str();
            let kind = match short {
                "-s" | "-d" => {
                    let cidr = Cidr::parse(arg).ok_or_else(|| {
                        err(
                            line,
                            format!("expected an address or CIDR after {word}, got {arg:?}"),
                        )
                    })?;
                    if short == "-s" {
                        MatchKind::Source(cidr)
                    } else {
                        MatchKind::Destination(cidr)
                    }
                }
                "-i" => MatchKind::InIface(arg.to_string()),
                "-o" => MatchKind::OutIface(arg.to_string()),
                "-p" => {
                    let p = arg.to_ascii_lowercase();
                    blocks.push((Some(p.clone()), Vec::new()));
                    MatchKind::Protocol(p)
                }
                "-m" => {
                    blocks.push((Some(arg.to_ascii_lowercase()), Vec::new()));
                    continue;
                }
                _ => {
                    // -j / -g: the target and its options (up to the next non-target word).
                    spec.goto = short == "-g";
                    let mut opts = Vec::new();
                    while let Some(t) = tokens.get(i) {
                        if !t.is_option() || !t.text.starts_with("--") {
                            break;
                        }
                        let name = t.text.clone();
                        i += 1;
                        let mut args = Vec::new();
                        while let Some(a) = tokens.get(i).filter(|a| !a.is_option() && !a.is_bang())
                        {
                            args.push(a.text.clone());
                            i += 1;
                        }
                        opts.push(Opt {
                            negated: false,
                            name,
                            args,
                        });
                    }
                    target = Some((arg.to_string(), opts));
                    continue;
                }
            };
            spec.matches.push(Match { negated, kind });
            negated = false;
            continue;
        }
        // A long option of the last module opened.
        let mut args = Vec::new();
        while let Some(a) = tokens.get(i).filter(|a| !a.is_option() && !a.is_bang()) {
            args.push(a.text.clone());
            i += 1;
        }
        if blocks.is_empty() {
            blocks.push((None, Vec::new()));
        }
        if let Some((_, opts)) = blocks.last_mut() {
            opts.push(Opt {
                negated,
                name: word.to_string(),
                args,
            });
        }
        negated = false;
    }
    for (module, opts) in blocks {
        module_matches(module, opts, line, &mut spec.matches)?;
    }
    if let Some((name, opts)) = target {
        spec.target = Some(parse_target(name, opts, line)?);
    }
    Ok(spec)
}

pub(super) fn first_arg(o: &Opt, line: usize) -> Result<&str, ParseError> {
    o.args
        .first()
        .map(String::as_str)
        .ok_or_else(|| err(line, format!("expected a value after {}", o.name)))
}

pub(super) fn port_range(s: &str, o: &Opt, line: usize) -> Result<PortRange, ParseError> {
    PortRange::parse(s).ok_or_else(|| {
        err(
            line,
            format!("expected a port or port range after {}, got {s:?}", o.name),
        )
    })
}

fn port_list(s: &str, o: &Opt, line: usize) -> Result<Vec<PortRange>, ParseError> {
    s.split(',').map(|p| port_range(p, o, line)).collect()
}

pub(super) fn mark(s: &str, o: &Opt, line: usize) -> Result<(u32, u32), ParseError> {
    parse_mark(s).ok_or_else(|| {
        err(
            line,
            format!("expected a mark VALUE[/MASK] after {}, got {s:?}", o.name),
        )
    })
}

fn number(s: &str, o: &Opt, line: usize) -> Result<u32, ParseError> {
    parse_u32(s).ok_or_else(|| {
        err(
            line,
            format!("expected a number after {}, got {s:?}", o.name),
        )
    })
}

fn id_range(s: &str, o: &Opt, line: usize) -> Result<Option<(u32, u32)>, ParseError> {
    // A user or group name cannot be resolved here: None (never matches, `!` always matches).
    if !s.starts_with(|c: char| c.is_ascii_digit()) {
        return Ok(None);
    }
    let (a, b) = s.split_once('-').unwrap_or((s, s));
    Ok(Some((number(a, o, line)?, number(b, o, line)?)))
}

fn upper_list(s: &str) -> Vec<String> {
    s.split(',').map(|w| w.to_ascii_uppercase()).collect()
}

fn unknown(module: &Option<String>, o: &Opt) -> MatchKind {
    let mut words = vec![o.name.clone()];
    words.extend(o.args.iter().cloned());
    MatchKind::Unknown {
        module: module.clone(),
        words,
    }
}

/// Turns one module block into matches.
fn module_matches(
    module: Option<String>,
    opts: Vec<Opt>,
    line: usize,
    out: &mut Vec<Match>,
) -> Result<(), ParseError> {
    let m = module.as_deref().unwrap_or("");
    match m {
        "statistic" => {
            let (mut mode, mut p, mut every, mut packet, mut neg) =
                ("random", None, None, 0, false);
            for o in &opts {
                neg |= o.negated;
                match o.name.as_str() {
                    "--mode" => {
                        mode = if first_arg(o, line)? == "nth" {
                            "nth"
                        } else {
                            "random"
                        }
                    }
                    "--probability" => {
                        let s = first_arg(o, line)?;
                        let v: f64 = s
                            .parse()
                            .ok()
                            .filter(|v: &f64| (0.0..=1.0).contains(v))
                            .ok_or_else(|| {
                                err(line, format!("expected a probability 0..1, got {s:?}"))
                            })?;
                        p = Some(v);
                    }
                    "--every" => every = Some(number(first_arg(o, line)?, o, line)?),
                    "--packet" => packet = number(first_arg(o, line)?, o, line)?,
                    _ => out.push(Match {
                        negated: o.negated,
                        kind: unknown(&module, o),
                    }),
                }
            }
            let kind = if mode == "nth" {
                Statistic::Nth {
                    every: every.unwrap_or(1).max(1),
                    packet,
                }
            } else {
                Statistic::Random {
                    probability: p.unwrap_or(1.0),
                }
            };
            out.push(Match {
                negated: neg,
                kind: MatchKind::Statistic(kind),
            });
        }
        "recent" => {
            let mut r = Recent {
                op: RecentOp::Set,
                name: "DEFAULT".to_string(),
                seconds: None,
                hitcount: None,
                reap: false,
                rsource: true,
                mask: None,
            };
            let mut neg = false;
            for o in &opts {
                neg |= o.negated;
                match o.name.as_str() {
                    "--set" => r.op = RecentOp::Set,
                    "--rcheck" => r.op = RecentOp::Rcheck,
                    "--update" => r.op = RecentOp::Update,
                    "--remove" => r.op = RecentOp::Remove,
                    "--name" => r.name = first_arg(o, line)?.to_string(),
                    "--seconds" => r.seconds = Some(number(first_arg(o, line)?, o, line)?),
                    "--hitcount" => r.hitcount = Some(number(first_arg(o, line)?, o, line)?),
                    "--reap" => r.reap = true,
                    "--rsource" => r.rsource = true,
                    "--rdest" => r.rsource = false,
                    "--mask" => r.mask = first_arg(o, line)?.parse().ok(),
                    _ => out.push(Match {
                        negated: o.negated,
                        kind: unknown(&module, o),
                    }),
                }
            }
            out.push(Match {
                negated: neg,
                kind: MatchKind::Recent(r),
            });
        }
        _ => {
            for o in &opts {
                let kind = match (m, o.name.as_str()) {
                    (_, "--dport" | "--destination-port") if m != "multiport" => {
                        MatchKind::DPort(port_range(first_arg(o, line)?, o, line)?)
                    }
                    (_, "--sport" | "--source-port") if m != "multiport" => {
                        MatchKind::SPort(port_range(first_arg(o, line)?, o, line)?)
                    }
                    ("multiport", "--dports" | "--destination-ports" | "--dport") => {
                        MatchKind::DPorts(port_list(first_arg(o, line)?, o, line)?)
                    }
                    ("multiport", "--sports" | "--source-ports" | "--sport") => {
                        MatchKind::SPorts(port_list(first_arg(o, line)?, o, line)?)
                    }
                    ("multiport", "--ports") => {
                        MatchKind::Ports(port_list(first_arg(o, line)?, o, line)?)
                    }
                    ("comment", "--comment") => MatchKind::Comment(o.args.join(" ")),
                    ("addrtype", "--src-type") => {
                        MatchKind::SrcType(upper_list(first_arg(o, line)?))
                    }
                    ("addrtype", "--dst-type") => {
                        MatchKind::DstType(upper_list(first_arg(o, line)?))
                    }
                    ("mark", "--mark") => {
                        let (value, mask) = mark(first_arg(o, line)?, o, line)?;
                        MatchKind::Mark { value, mask }
                    }
                    ("connmark", "--mark") => {
                        let (value, mask) = mark(first_arg(o, line)?, o, line)?;
                        MatchKind::ConnMark { value, mask }
                    }
                    ("conntrack", "--ctstate") | ("state", "--state") => {
                        MatchKind::CtState(upper_list(first_arg(o, line)?))
                    }
                    ("owner", "--uid-owner" | "--gid-owner") => {
                        match id_range(first_arg(o, line)?, o, line)? {
                            Some((first, last)) if o.name == "--uid-owner" => {
                                MatchKind::UidOwner { first, last }
                            }
                            Some((first, last)) => MatchKind::GidOwner { first, last },
                            None => unknown(&module, o),
                        }
                    }
                    ("set", "--match-set") => MatchKind::Set {
                        name: first_arg(o, line)?.to_string(),
                        flags: o.args.get(1).cloned().unwrap_or_default(),
                    },
                    _ => unknown(&module, o),
                };
                out.push(Match {
                    negated: o.negated,
                    kind,
                });
            }
        }
    }
    Ok(())
}
