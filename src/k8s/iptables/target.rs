//! Rule targets (`-j`/`-g` and their options), typed where the walk needs them.
//!
//! Follows the target extensions' option tables (extensions/libxt_DNAT.c, libxt_REDIRECT.c,
//! libxt_TPROXY.c, libxt_MARK.c, libxt_CONNMARK.c, libxt_CT.c). A target with no options that
//! is not a known extension is a user chain; unknown extensions keep their words.

use std::net::IpAddr;

use super::addr::PortRange;
use super::rule::{err, first_arg, mark, port_range, Opt};
use super::ParseError;

/// `-j CONNMARK` operations (libxt_CONNMARK.c); none of them changes the packet mark here
/// except `--restore-mark`, which the walk treats as restoring 0 (a new connection).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConnmarkOp {
    SetXmark { value: u32, mask: u32 },
    SaveMark,
    RestoreMark,
    Other(Vec<String>),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    /// `--to-destination ADDR[:PORT[-PORT]]`; the first port of a range.
    Dnat {
        addr: Option<IpAddr>,
        port: Option<u16>,
    },
    Snat {
        to: String,
    },
    Masquerade {
        random_fully: bool,
    },
    /// `--to-ports N[-M]` / `--to-port N`.
    Redirect {
        port: Option<u16>,
    },
    Tproxy {
        port: u16,
        addr: Option<IpAddr>,
        mark: Option<(u32, u32)>,
    },
    /// `MARK`, every spelling folded to xtables' `--set-xmark V/M`: `mark = (mark & !M) ^ V`
    /// (libxt_MARK.c: `--set-mark V/M` is V/(M|V), `--or-mark V` is V/V, `--and-mark V` is
    /// 0/!V, `--xor-mark V` is V/0).
    Mark {
        value: u32,
        mask: u32,
    },
    Connmark(ConnmarkOp),
    Ct {
        zone: Option<u16>,
        notrack: bool,
    },
    Return,
    Accept,
    Drop,
    Reject {
        with: Option<String>,
    },
    /// A user chain (`-j NAME` or `-g NAME`).
    Chain(String),
    /// A target extension not modelled (LOG, NFLOG, TCPMSS…), with its words.
    Other {
        name: String,
        words: Vec<String>,
    },
}

/// Extension targets that are not chains and never end the walk.
const PASS_THROUGH_TARGETS: &[&str] = &[
    "LOG",
    "NFLOG",
    "ULOG",
    "TRACE",
    "AUDIT",
    "TCPMSS",
    "CLASSIFY",
    "DSCP",
    "TOS",
    "TTL",
    "HL",
    "CHECKSUM",
    "SECMARK",
    "CONNSECMARK",
    "NOTRACK",
    "NFQUEUE",
    "QUEUE",
    "IDLETIMER",
    "LED",
];

/// Splits DNAT's `ADDR[:PORT[-PORT]]` (`[V6]:PORT` for IPv6).
fn dnat_to(s: &str) -> Option<(Option<IpAddr>, Option<u16>)> {
    let (addr, port) = if let Some(rest) = s.strip_prefix('[') {
        let (a, p) = rest.split_once(']')?;
        (a, p.strip_prefix(':'))
    } else if s.matches(':').count() > 1 {
        (s, None) // a bare IPv6 address
    } else {
        match s.split_once(':') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        }
    };
    // An address range `A-B` keeps its first address.
    let addr = addr.split('-').next().unwrap_or("");
    let addr = if addr.is_empty() {
        None
    } else {
        Some(addr.parse().ok()?)
    };
    let port = match port {
        Some(p) => Some(PortRange::parse(p)?.first),
        None => None,
    };
    Some((addr, port))
}

pub(super) fn parse_target(
    name: String,
    opts: Vec<Opt>,
    line: usize,
) -> Result<Target, ParseError> {
    let find = |n: &[&str]| opts.iter().find(|o| n.contains(&o.name.as_str()));
    let t = match name.as_str() {
        "ACCEPT" => Target::Accept,
        "DROP" => Target::Drop,
        "RETURN" => Target::Return,
        "REJECT" => Target::Reject {
            with: find(&["--reject-with"]).and_then(|o| o.args.first().cloned()),
        },
        "DNAT" => match find(&["--to-destination", "--to"]) {
            Some(o) => {
                let s = first_arg(o, line)?;
                let (addr, port) = dnat_to(s).ok_or_else(|| {
                    err(
                        line,
                        format!("expected ADDR[:PORT] after --to-destination, got {s:?}"),
                    )
                })?;
                Target::Dnat { addr, port }
            }
            None => Target::Dnat {
                addr: None,
                port: None,
            },
        },
        "SNAT" => Target::Snat {
            to: find(&["--to-source", "--to"])
                .and_then(|o| o.args.first().cloned())
                .unwrap_or_default(),
        },
        "MASQUERADE" => Target::Masquerade {
            random_fully: find(&["--random-fully"]).is_some(),
        },
        "REDIRECT" => Target::Redirect {
            port: match find(&["--to-ports", "--to-port"]) {
                Some(o) => Some(port_range(first_arg(o, line)?, o, line)?.first),
                None => None,
            },
        },
        "TPROXY" => {
            let port = match find(&["--on-port"]) {
                Some(o) => port_range(first_arg(o, line)?, o, line)?.first,
                None => 0,
            };
            let addr = find(&["--on-ip"])
                .and_then(|o| o.args.first())
                .and_then(|a| a.parse().ok());
            let mark = match find(&["--tproxy-mark"]) {
                Some(o) => Some(mark(first_arg(o, line)?, o, line)?),
                None => None,
            };
            Target::Tproxy { port, addr, mark }
        }
        "MARK" => {
            let o = find(&["--set-xmark", "--set-mark", "--or-mark", "--and-mark", "--xor-mark"])
                .ok_or_else(|| err(line, "expected --set-xmark, --set-mark, --or-mark, --and-mark or --xor-mark after -j MARK"))?;
            let s = first_arg(o, line)?;
            let (v, m) = mark(s, o, line)?;
            let explicit_mask = s.contains('/');
            let (value, mask) = match o.name.as_str() {
                "--set-xmark" => (v, m),
                "--set-mark" => (v, if explicit_mask { m | v } else { u32::MAX }),
                "--or-mark" => (v, v),
                "--and-mark" => (0, !v),
                _ => (v, 0),
            };
            Target::Mark { value, mask }
        }
        "CONNMARK" => Target::Connmark(match opts.first().map(|o| o.name.as_str()) {
            Some("--save-mark") => ConnmarkOp::SaveMark,
            Some("--restore-mark") => ConnmarkOp::RestoreMark,
            Some("--set-xmark" | "--set-mark") => {
                let o = &opts[0];
                let (value, mask) = mark(first_arg(o, line)?, o, line)?;
                ConnmarkOp::SetXmark { value, mask }
            }
            _ => ConnmarkOp::Other(words(&opts)),
        }),
        "CT" => Target::Ct {
            zone: find(&["--zone"])
                .and_then(|o| o.args.first())
                .and_then(|z| z.parse().ok()),
            notrack: find(&["--notrack"]).is_some(),
        },
        n if opts.is_empty() && !PASS_THROUGH_TARGETS.contains(&n) => Target::Chain(name),
        _ => Target::Other {
            name,
            words: words(&opts),
        },
    };
    Ok(t)
}

fn words(opts: &[Opt]) -> Vec<String> {
    let mut w = Vec::new();
    for o in opts {
        w.push(o.name.clone());
        w.extend(o.args.iter().cloned());
    }
    w
}
