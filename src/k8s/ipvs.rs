//! kube-proxy IPVS mode: `ipvsadm -Ln` (virtual services and their real servers) and the
//! configured share of each real server for a connection's facts.
//!
//! Grammar from ipvsadm(8) output as domain.md 2.3 quotes it: a virtual service line
//! `TCP|UDP|SCTP  ADDR:PORT SCHED [persistent N] [flags]`, IPv6 as `[::1]:80`, then real servers
//! `  -> ADDR:PORT FWD WEIGHT ACTIVE INACTIVE`. `FWM N` (firewall-mark) services are read
//! but never match facts (a mark is not an address). Headers (`IP Virtual Server version`,
//! `Prot LocalAddress:Port`, `-> RemoteAddress:Port`) are skipped.
//!
//! What it does not do: predict the scheduler. rr/lc/wrr pick by state kept in the kernel, so
//! [`Ipvs::walk`] gives each real server weight/Σweight: the configured share, not a prediction.
//! Per-connection truth is in `ipvsadm -Lnc` ([`parse_ipvsadm_conns`]) or conntrack.

use std::net::{IpAddr, SocketAddr};

use crate::k8s::walk::{Affinity, Facts, Outcome, Proto, Step, Verdict};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IpvsError {
    #[error("line {line}: {msg}")]
    Line { line: usize, msg: String },
}

/// How a real server is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Forward {
    Masq,
    Route,
    Tunnel,
    Local,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RealServer {
    pub addr: SocketAddr,
    pub forward: Forward,
    pub weight: u32,
    pub active: u64,
    pub inactive: u64,
    pub line: usize,
}

/// A virtual service's address: `ADDR:PORT` or a firewall mark.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VirtualAddr {
    Socket(SocketAddr),
    Fwmark(u32),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VirtualService {
    /// None for `FWM` services.
    pub proto: Option<Proto>,
    pub addr: VirtualAddr,
    pub scheduler: String,
    /// `persistent N` (sessionAffinity ClientIP timeout), seconds.
    pub persistent_secs: Option<u32>,
    pub reals: Vec<RealServer>,
    pub line: usize,
    pub text: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ipvs {
    pub services: Vec<VirtualService>,
}

fn socket(s: &str) -> Option<SocketAddr> {
    if let Ok(a) = s.parse() {
        return Some(a);
    }
    let (ip, port) = s.rsplit_once(':')?;
    Some(SocketAddr::new(
        ip.parse::<IpAddr>().ok()?,
        port.parse().ok()?,
    ))
}

fn err(line: usize, msg: impl Into<String>) -> IpvsError {
    IpvsError::Line {
        line,
        msg: msg.into(),
    }
}

/// Parses `ipvsadm -Ln` output.
pub fn parse_ipvsadm(text: &str) -> Result<Ipvs, IpvsError> {
    let mut out = Ipvs::default();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let t = raw.trim();
        if t.is_empty()
            || t.starts_with("IP Virtual Server")
            || t.starts_with("Prot ")
            || t.starts_with("-> RemoteAddress")
        {
            continue;
        }
        let f: Vec<&str> = t.split_whitespace().collect();
        if f.first() == Some(&"->") {
            let svc = out
                .services
                .last_mut()
                .ok_or_else(|| err(line, "expected a virtual service before this real server"))?;
            let addr = f
                .get(1)
                .and_then(|a| socket(a))
                .ok_or_else(|| err(line, "expected ADDR:PORT after '->'"))?;
            let forward = match f.get(2).copied() {
                Some("Masq") => Forward::Masq,
                Some("Route") => Forward::Route,
                Some("Tunnel") => Forward::Tunnel,
                Some("Local") => Forward::Local,
                _ => return Err(err(line, "expected Masq, Route, Tunnel or Local")),
            };
            let num = |k: usize, what: &str| {
                f.get(k)
                    .and_then(|n| n.parse::<u64>().ok())
                    .ok_or_else(|| err(line, format!("expected the {what} count")))
            };
            svc.reals.push(RealServer {
                addr,
                forward,
                weight: u32::try_from(num(3, "weight")?).unwrap_or(u32::MAX),
                active: num(4, "active connection")?,
                inactive: num(5, "inactive connection")?,
                line,
            });
            continue;
        }
        let proto = match f.first().copied() {
            Some("TCP") => Some(Proto::Tcp),
            Some("UDP") => Some(Proto::Udp),
            Some("SCTP") => Some(Proto::Sctp),
            Some("FWM") => None,
            _ => {
                return Err(err(
                    line,
                    "expected a virtual service (TCP, UDP, SCTP or FWM) or a real server (->)",
                ))
            }
        };
        let a = f.get(1).copied().unwrap_or("");
        let addr = match proto {
            Some(_) => VirtualAddr::Socket(
                socket(a).ok_or_else(|| err(line, "expected ADDR:PORT of the virtual service"))?,
            ),
            None => VirtualAddr::Fwmark(
                a.parse()
                    .map_err(|_| err(line, "expected the firewall mark after FWM"))?,
            ),
        };
        let scheduler = f
            .get(2)
            .ok_or_else(|| err(line, "expected a scheduler"))?
            .to_string();
        let persistent_secs = f
            .iter()
            .position(|w| *w == "persistent")
            .and_then(|k| f.get(k + 1))
            .and_then(|n| n.parse().ok());
        out.services.push(VirtualService {
            proto,
            addr,
            scheduler,
            persistent_secs,
            reals: Vec::new(),
            line,
            text: t.to_string(),
        });
    }
    Ok(out)
}

/// One `ipvsadm -Lnc` entry: which real server IPVS picked for a client connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpvsConn {
    pub proto: Proto,
    /// `MM:SS` left before the entry expires.
    pub expire_secs: u32,
    /// `ESTABLISHED`, `SYN_RECV`, `FIN_WAIT`, `UDP`, `NONE` (persistence templates), …
    pub state: String,
    pub source: SocketAddr,
    pub virtual_addr: SocketAddr,
    pub destination: SocketAddr,
    pub line: usize,
}

/// Parses `ipvsadm -Lnc` output: `pro expire state source virtual destination` rows, as
/// ipvsadm.c `print_conn` prints them (`%-3s %02d:%02d  %-11s %s %s %s`; IPv6 as `[a]:p`).
/// The `IPVS connection entries` and column header lines are skipped; `IP` rows (persistence
/// templates with port 0) are read as TCP-less entries and skipped too, since they name no
/// connection. The format is from ipvsadm's source, not from a captured dump (domain.md 2.3).
pub fn parse_ipvsadm_conns(text: &str) -> Result<Vec<IpvsConn>, IpvsError> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let f: Vec<&str> = raw.split_whitespace().collect();
        let proto = match f.first().copied() {
            None | Some("IPVS") | Some("pro") | Some("IP") => continue,
            Some("TCP") => Proto::Tcp,
            Some("UDP") => Proto::Udp,
            Some("SCTP") => Proto::Sctp,
            Some(_) => {
                return Err(err(
                    line,
                    "expected TCP, UDP or SCTP at the start of a connection entry",
                ))
            }
        };
        let expire_secs = f
            .get(1)
            .and_then(|e| e.split_once(':'))
            .and_then(|(m, s)| {
                m.parse::<u32>()
                    .ok()?
                    .checked_mul(60)?
                    .checked_add(s.parse().ok()?)
            })
            .ok_or_else(|| err(line, "expected the expiry as MM:SS"))?;
        let sock = |k: usize, what: &str| {
            f.get(k)
                .and_then(|a| socket(a))
                .ok_or_else(|| err(line, format!("expected the {what} ADDR:PORT")))
        };
        out.push(IpvsConn {
            proto,
            expire_secs,
            state: f.get(2).copied().unwrap_or("").to_string(),
            source: sock(3, "source")?,
            virtual_addr: sock(4, "virtual")?,
            destination: sock(5, "destination")?,
            line,
        });
    }
    Ok(out)
}

impl Ipvs {
    /// The real servers of the virtual service the facts' destination hits, each with its
    /// weight/Σweight. These are configured shares, not a prediction: rr and lc depend on
    /// kernel state a snapshot does not hold. Weight-0 servers (being drained) get no share.
    /// No matching service gives one `Accept` (IPVS leaves the packet alone).
    pub fn walk(&self, facts: &Facts) -> Vec<Outcome> {
        let dst = SocketAddr::new(facts.dst, facts.dport);
        let Some(svc) = self
            .services
            .iter()
            .find(|s| s.proto == Some(facts.proto) && s.addr == VirtualAddr::Socket(dst))
        else {
            return vec![Outcome {
                probability: 1.0,
                steps: Vec::new(),
                verdict: Verdict::Accept,
                masquerade: false,
                affinity: None,
            }];
        };
        let total: u64 = svc.reals.iter().map(|r| u64::from(r.weight)).sum();
        let vs = match svc.addr {
            VirtualAddr::Socket(a) => format!("{a}"),
            VirtualAddr::Fwmark(m) => format!("FWM {m}"),
        };
        let chain = format!("{} {vs} {}", proto_word(facts.proto), svc.scheduler);
        let mut out: Vec<Outcome> = svc
            .reals
            .iter()
            .filter(|r| r.weight > 0 && total > 0)
            .map(|r| Outcome {
                probability: f64::from(r.weight) / total as f64,
                steps: vec![
                    Step {
                        chain: chain.clone(),
                        line: svc.line,
                        rule: svc.text.clone(),
                    },
                    Step {
                        chain: chain.clone(),
                        line: r.line,
                        rule: format!("-> {} {:?} {}", r.addr, r.forward, r.weight),
                    },
                ],
                verdict: Verdict::Dnat {
                    addr: r.addr.ip(),
                    port: Some(r.addr.port()),
                },
                masquerade: false,
                affinity: svc.persistent_secs.map(|t| Affinity {
                    name: chain.clone(),
                    timeout_secs: t,
                }),
            })
            .collect();
        out.sort_by(|a, b| {
            b.probability
                .total_cmp(&a.probability)
                .then_with(|| dnat_key(&a.verdict).cmp(&dnat_key(&b.verdict)))
        });
        out
    }
}

fn proto_word(p: Proto) -> &'static str {
    match p {
        Proto::Tcp => "TCP",
        Proto::Udp => "UDP",
        Proto::Sctp => "SCTP",
    }
}

fn dnat_key(v: &Verdict) -> Option<(IpAddr, Option<u16>)> {
    match v {
        Verdict::Dnat { addr, port } => Some((*addr, *port)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// domain.md 2.3, quoting feiskyer/kubernetes-handbook's kube-proxy page.
    const SAMPLE: &str = "IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  10.0.0.1:443 rr persistent 10800
  -> 192.168.0.1:6443             Masq    1      1          0
TCP  10.0.0.10:53 rr
  -> 172.17.0.2:53                Masq    1      0          0
";

    #[test]
    fn handbook_sample() {
        let ipvs = parse_ipvsadm(SAMPLE).unwrap();
        assert_eq!(ipvs.services.len(), 2);
        let s = &ipvs.services[0];
        assert_eq!(s.persistent_secs, Some(10800));
        assert_eq!(s.scheduler, "rr");
        assert_eq!(s.reals[0].active, 1);
        assert_eq!(s.reals[0].forward, Forward::Masq);
        let o = ipvs.walk(&Facts::tcp_in(
            "10.1.1.1:40000".parse().unwrap(),
            "10.0.0.1:443".parse().unwrap(),
        ));
        assert_eq!(o.len(), 1);
        assert_eq!(
            o[0].verdict,
            Verdict::Dnat {
                addr: "192.168.0.1".parse().unwrap(),
                port: Some(6443)
            }
        );
        assert_eq!(o[0].affinity.as_ref().map(|a| a.timeout_secs), Some(10800));
        // UDP facts do not hit a TCP service.
        let mut f = Facts::tcp_in(
            "10.1.1.1:40000".parse().unwrap(),
            "10.0.0.10:53".parse().unwrap(),
        );
        f.proto = Proto::Udp;
        assert_eq!(ipvs.walk(&f)[0].verdict, Verdict::Accept);
    }

    #[test]
    fn ipv6_weights_and_fwm() {
        let text = "UDP  [fd00::10]:53 wrr persistent 60
  -> [fd00:1::2]:53               Masq    3      0          0
  -> [fd00:1::3]:53               Masq    1      0          4
  -> [fd00:1::4]:53               Masq    0      0          9
FWM  7 rr
  -> 10.0.0.5:80                  Route   1      0          0
";
        let ipvs = parse_ipvsadm(text).unwrap();
        assert_eq!(ipvs.services[1].addr, VirtualAddr::Fwmark(7));
        let mut f = Facts::tcp_in(
            "[fd00:2::1]:5000".parse().unwrap(),
            "[fd00::10]:53".parse().unwrap(),
        );
        f.proto = Proto::Udp;
        let o = ipvs.walk(&f);
        let shares: Vec<f64> = o.iter().map(|o| o.probability).collect();
        assert_eq!(shares, vec![0.75, 0.25]);
        assert_eq!(o[0].affinity.as_ref().map(|a| a.timeout_secs), Some(60));
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse_ipvsadm("  -> 1.2.3.4:80 Masq 1 0 0\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 1: expected a virtual service before this real server"
        );
        let e = parse_ipvsadm("TCP 1.2.3.4:80 rr\n  -> 1.2.3.5:80 Bogus 1 0 0\n").unwrap_err();
        assert!(e.to_string().starts_with("line 2: expected Masq"), "{e}");
        assert!(parse_ipvsadm("TCP nonsense rr").is_err());
    }

    #[test]
    fn connection_entries() {
        // Hand-made in ipvsadm.c print_conn's layout.
        let text = "IPVS connection entries
pro expire state       source             virtual            destination
TCP 14:59  ESTABLISHED 10.244.1.3:50000   10.96.0.1:443      192.168.0.1:6443
UDP 04:57  UDP         [fd00::3]:41246    [fd00::10]:53      [fd00:1::2]:53
IP  179:59 NONE        10.244.1.3:0       0.0.0.1:0          192.168.0.1:0
";
        let c = parse_ipvsadm_conns(text).unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].expire_secs, 899);
        assert_eq!(c[0].destination, "192.168.0.1:6443".parse().unwrap());
        assert_eq!(c[1].proto, Proto::Udp);
        assert_eq!(c[1].virtual_addr, "[fd00::10]:53".parse().unwrap());
        let e =
            parse_ipvsadm_conns("TCP xx ESTABLISHED 1.1.1.1:1 2.2.2.2:2 3.3.3.3:3").unwrap_err();
        assert_eq!(e.to_string(), "line 1: expected the expiry as MM:SS");
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(s in "\\PC{0,200}") {
            let _ = parse_ipvsadm(&s);
            let _ = parse_ipvsadm_conns(&s);
        }
        #[test]
        fn shaped_text_never_panics(s in "(TCP|FWM|  ->|UDP) [0-9.:\\[\\]a-f]{0,20} [A-Za-z0-9 ]{0,20}\n") {
            if let Ok(i) = parse_ipvsadm(&s) {
                let _ = i.walk(&Facts::tcp_in("1.1.1.1:1".parse().unwrap(), "2.2.2.2:2".parse().unwrap()));
            }
        }
    }
}
