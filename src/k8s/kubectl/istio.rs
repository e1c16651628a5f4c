//! Istio's marks on a pod: which kind of data plane it has (sidecar container, native sidecar,
//! ambient), the per-pod interception overrides, and the `istio-iptables` arguments of the
//! injected `istio-init` container.
//!
//! Markers follow Istio's injector (istio/istio pkg/kube/inject: the `sidecar.istio.io/status`
//! annotation, the `security.istio.io/tlsMode=istio` label, containers `istio-proxy` and
//! `istio-init`) and istio-cni's ambient mark (`ambient.istio.io/redirection: enabled`). Flag
//! names follow istio/istio tools/istio-iptables/pkg/constants/constants.go.
//!
//! What it does not do: decide the rules those flags produce (the iptables parser reads the real
//! rules), or know injection templates other than the default one.

use std::collections::BTreeMap;

use super::pod::Container;
use super::Meta;

/// How a pod's traffic reaches a proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SidecarKind {
    /// An `istio-proxy` container in `spec.containers` (classic injection).
    IstioProxy,
    /// `istio-proxy` as an init container with `restartPolicy: Always` (native sidecar).
    IstioNativeSidecar,
    /// Injected by its markers (status annotation or tlsMode label) but no `istio-proxy` listed.
    IstioMarked,
    /// Ambient mode: no sidecar; ztunnel redirects inside the pod netns.
    Ambient,
    /// Another native sidecar (an init container with `restartPolicy: Always`), named here.
    Native { container: String },
}

/// `traffic.sidecar.istio.io/*` and `sidecar.istio.io/interceptionMode` annotation values, raw
/// (Istio parses them when it renders `istio-iptables` flags; see domain section 3.1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Interception {
    pub mode: Option<String>,
    pub include_inbound_ports: Option<String>,
    pub exclude_inbound_ports: Option<String>,
    pub include_outbound_ip_ranges: Option<String>,
    pub exclude_outbound_ip_ranges: Option<String>,
    pub include_outbound_ports: Option<String>,
    pub exclude_outbound_ports: Option<String>,
    pub kubevirt_interfaces: Option<String>,
}

impl Interception {
    pub(crate) fn from_annotations(a: &BTreeMap<String, String>) -> Interception {
        let t = |k: &str| a.get(&format!("traffic.sidecar.istio.io/{k}")).cloned();
        Interception {
            mode: a.get("sidecar.istio.io/interceptionMode").cloned(),
            include_inbound_ports: t("includeInboundPorts"),
            exclude_inbound_ports: t("excludeInboundPorts"),
            include_outbound_ip_ranges: t("includeOutboundIPRanges"),
            exclude_outbound_ip_ranges: t("excludeOutboundIPRanges"),
            include_outbound_ports: t("includeOutboundPorts"),
            exclude_outbound_ports: t("excludeOutboundPorts"),
            kubevirt_interfaces: t("kubevirtInterfaces"),
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == Interception::default()
    }
}

pub(crate) fn sidecar_kind(
    containers: &[Container],
    init: &[Container],
    meta: &Meta,
) -> Option<SidecarKind> {
    if containers.iter().any(|c| c.name == "istio-proxy") {
        return Some(SidecarKind::IstioProxy);
    }
    if init
        .iter()
        .any(|c| c.name == "istio-proxy" && c.is_native_sidecar())
    {
        return Some(SidecarKind::IstioNativeSidecar);
    }
    if meta
        .annotations
        .get("ambient.istio.io/redirection")
        .map(String::as_str)
        == Some("enabled")
    {
        return Some(SidecarKind::Ambient);
    }
    if meta.annotations.contains_key("sidecar.istio.io/status")
        || meta
            .labels
            .get("security.istio.io/tlsMode")
            .map(String::as_str)
            == Some("istio")
    {
        return Some(SidecarKind::IstioMarked);
    }
    init.iter()
        .find(|c| c.is_native_sidecar())
        .map(|c| SidecarKind::Native {
            container: c.name.clone(),
        })
}

/// `istio-iptables` flags as the injector renders them
/// (`-p 15001 -z 15006 -u 1337 -m REDIRECT -i '*' -x "" -b '*' -d 15090,15021,15020`).
/// Values are kept as given; an empty value (`-x ""`) is `Some("")`, a flag not given is `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IstioInitArgs {
    /// `-p` / `--envoy-port`: outbound capture port.
    pub envoy_port: Option<u16>,
    /// `-z` / `--inbound-capture-port`.
    pub inbound_capture_port: Option<u16>,
    /// `-u` / `--proxy-uid`.
    pub proxy_uid: Option<String>,
    /// `-g` / `--proxy-gid`.
    pub proxy_gid: Option<String>,
    /// `-m` / `--istio-inbound-interception-mode`: REDIRECT or TPROXY.
    pub mode: Option<String>,
    /// `-i` / `--istio-service-cidr`.
    pub include_cidrs: Option<String>,
    /// `-x` / `--istio-service-exclude-cidr`.
    pub exclude_cidrs: Option<String>,
    /// `-b` / `--istio-inbound-ports`.
    pub inbound_ports: Option<String>,
    /// `-d` / `--istio-local-exclude-ports`.
    pub exclude_inbound_ports: Option<String>,
    /// `-q` / `--istio-outbound-ports`.
    pub outbound_ports: Option<String>,
    /// `-o` / `--istio-local-outbound-ports-exclude`.
    pub exclude_outbound_ports: Option<String>,
    /// `-k` / `--kube-virt-interfaces`.
    pub kubevirt_interfaces: Option<String>,
    /// Every other token (`--log_output_level=…`, `--redirect-dns`, …), in order.
    pub other: Vec<String>,
}

impl IstioInitArgs {
    /// Read an argv (`command` then `args`). `None` unless it runs `istio-iptables` (alone or as
    /// `pilot-agent istio-iptables`) or starts with one of its flags.
    pub fn from_argv<'a, I: IntoIterator<Item = &'a String>>(argv: I) -> Option<IstioInitArgs> {
        let argv: Vec<&str> = argv.into_iter().map(String::as_str).collect();
        let start = argv
            .iter()
            .position(|a| a.ends_with("istio-iptables"))
            .map(|i| i + 1)
            .or_else(|| argv.first().filter(|a| a.starts_with('-')).map(|_| 0))?;
        Some(Self::from_flags(argv.get(start..).unwrap_or(&[])))
    }

    /// Read the text form `kubectl describe pod` prints (`-p 15001 -z 15006 … -x "" …`):
    /// whitespace-split, with `'…'` and `"…"` quotes removed. There `-x` may be followed by
    /// nothing (the empty value dropped by the printer): a flag followed by a flag reads as empty.
    pub fn from_command_line(line: &str) -> Option<IstioInitArgs> {
        let words = shell_words(line);
        Self::from_argv(&words)
    }

    fn from_flags(flags: &[&str]) -> IstioInitArgs {
        let mut out = IstioInitArgs::default();
        let mut i = 0;
        while let Some(&tok) = flags.get(i) {
            i += 1;
            let (flag, inline) = match tok.split_once('=') {
                Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
                _ => (tok, None),
            };
            let Some(slot) = out.slot(flag) else {
                out.other.push(tok.to_string());
                continue;
            };
            let value = match inline {
                Some(v) => v,
                None => match flags.get(i) {
                    // "-x" followed by the next flag: the printer dropped an empty value.
                    Some(next) if next.starts_with('-') && next.len() > 1 => String::new(),
                    Some(next) => {
                        i += 1;
                        next.to_string()
                    }
                    None => String::new(),
                },
            };
            match slot {
                Slot::Port(p) => *p = value.parse().ok(),
                Slot::Text(t) => *t = Some(value),
            }
        }
        out
    }

    fn slot(&mut self, flag: &str) -> Option<Slot<'_>> {
        Some(match flag {
            "-p" | "--envoy-port" => Slot::Port(&mut self.envoy_port),
            "-z" | "--inbound-capture-port" => Slot::Port(&mut self.inbound_capture_port),
            "-u" | "--proxy-uid" => Slot::Text(&mut self.proxy_uid),
            "-g" | "--proxy-gid" => Slot::Text(&mut self.proxy_gid),
            "-m" | "--istio-inbound-interception-mode" => Slot::Text(&mut self.mode),
            "-i" | "--istio-service-cidr" => Slot::Text(&mut self.include_cidrs),
            "-x" | "--istio-service-exclude-cidr" => Slot::Text(&mut self.exclude_cidrs),
            "-b" | "--istio-inbound-ports" => Slot::Text(&mut self.inbound_ports),
            "-d" | "--istio-local-exclude-ports" => Slot::Text(&mut self.exclude_inbound_ports),
            "-q" | "--istio-outbound-ports" => Slot::Text(&mut self.outbound_ports),
            "-o" | "--istio-local-outbound-ports-exclude" => {
                Slot::Text(&mut self.exclude_outbound_ports)
            }
            "-k" | "--kube-virt-interfaces" => Slot::Text(&mut self.kubevirt_interfaces),
            _ => return None,
        })
    }
}

enum Slot<'a> {
    Port(&'a mut Option<u16>),
    Text(&'a mut Option<String>),
}

/// Whitespace split with single and double quotes grouping (no escapes: describe output has none).
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let (mut cur, mut quote, mut started) = (String::new(), None::<char>, false);
    for ch in line.chars() {
        match quote {
            Some(q) if ch == q => quote = None,
            Some(_) => cur.push(ch),
            None if ch == '\'' || ch == '"' => {
                quote = Some(ch);
                started = true;
            }
            None if ch.is_whitespace() => {
                if started {
                    words.push(std::mem::take(&mut cur));
                    started = false;
                }
            }
            None => {
                cur.push(ch);
                started = true;
            }
        }
    }
    if started {
        words.push(cur);
    }
    words
}
