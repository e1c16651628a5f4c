//! `kubectl get pods [-A] -o wide` text: the table kubectl prints for humans, read back into
//! [`Pod`] values with the fields it shows (namespace, name, phase, IP, node).
//!
//! Columns are found by name in the header line and sliced at the header's positions, because
//! kubectl's printer (k8s.io/cli-runtime printers, a tabwriter) left-aligns every cell under its
//! header and cells may contain single spaces (`RESTARTS` reads `10 (3m55s ago)`; the headers
//! `NOMINATED NODE` and `READINESS GATES` are two words). Without `-A` there is no `NAMESPACE`
//! column and pods are put in `default`. `IP` may be `<none>`; so may `NODE`.
//!
//! What it cannot know: `hostNetwork` (the table does not say), so a host-network pod read from
//! text looks like a normal pod; the [`super::Inventory`] still names an IP that is a known node
//! address as the node. STATUS is mapped to a phase roughly (CrashLoopBackOff is Running,
//! Completed is Succeeded, Error/Evicted are Failed, Init:…/ContainerCreating are Pending).

use std::net::IpAddr;

use super::{Interception, KubeError, Pod};

/// A header cell and the character column it starts at.
struct Column {
    name: String,
    start: usize,
}

fn header_columns(line: &str) -> Vec<Column> {
    let chars: Vec<char> = line.chars().collect();
    let mut cols = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        if c == ' ' || c == '\t' {
            i += 1;
            continue;
        }
        let start = i;
        // A cell ends at two blanks in a row (one blank separates words of one header).
        while i < chars.len() {
            let blank = |c: Option<&char>| matches!(c, Some(' ' | '\t') | None);
            if blank(chars.get(i)) && blank(chars.get(i + 1)) {
                break;
            }
            i += 1;
        }
        let name: String = chars.get(start..i).unwrap_or(&[]).iter().collect();
        cols.push(Column {
            name: name.trim().to_string(),
            start,
        });
    }
    cols
}

fn phase_of(status: &str) -> &'static str {
    match status {
        "Completed" | "Succeeded" => "Succeeded",
        "Error" | "Failed" | "Evicted" | "ContainerStatusUnknown" => "Failed",
        "Unknown" => "Unknown",
        "Pending" | "ContainerCreating" | "PodInitializing" | "ErrImagePull"
        | "ImagePullBackOff" => "Pending",
        s if s.starts_with("Init:") => "Pending",
        _ => "Running",
    }
}

/// Parse `kubectl get pods [-A] -o wide` output (any columns in any order; `NAME` required).
pub fn parse_pods_wide(text: &str) -> Result<Vec<Pod>, KubeError> {
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_end_matches('\r')))
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((header_line, header)) = lines.next() else {
        return Ok(Vec::new());
    };
    if header.trim_start().starts_with("No resources found") {
        return Ok(Vec::new());
    }
    let cols = header_columns(header);
    let find = |name: &str| cols.iter().position(|c| c.name == name);
    let Some(name_col) = find("NAME") else {
        return Err(KubeError::Table {
            line: header_line,
            msg: "expected a header line with a NAME column".into(),
        });
    };
    let (ns_col, status_col, ip_col, node_col) =
        (find("NAMESPACE"), find("STATUS"), find("IP"), find("NODE"));
    let mut pods = Vec::new();
    for (line, row) in lines {
        let chars: Vec<char> = row.chars().collect();
        let cell = |idx: Option<usize>| -> String {
            let Some(i) = idx else { return String::new() };
            let start = cols.get(i).map_or(0, |c| c.start);
            let end = cols.get(i + 1).map_or(chars.len(), |c| c.start);
            let end = end.min(chars.len());
            chars
                .get(start..end)
                .unwrap_or(&[])
                .iter()
                .collect::<String>()
                .trim()
                .to_string()
        };
        let name = cell(Some(name_col));
        if name.is_empty() || name.contains(' ') {
            return Err(KubeError::Table {
                line,
                msg: format!(
                    "expected a pod name under NAME, found {name:?} (columns misaligned?)"
                ),
            });
        }
        let ip_text = cell(ip_col);
        let mut pod_ips = Vec::new();
        if !ip_text.is_empty() && ip_text != "<none>" {
            let ip: IpAddr = ip_text.parse().map_err(|_| KubeError::Table {
                line,
                msg: format!("expected an IP address or <none> under IP, found {ip_text:?}"),
            })?;
            pod_ips.push(ip);
        }
        let node = Some(cell(node_col)).filter(|n| !n.is_empty() && n != "<none>");
        let status = cell(status_col);
        let namespace = Some(cell(ns_col)).filter(|n| !n.is_empty());
        pods.push(Pod {
            namespace: namespace.unwrap_or_else(|| "default".into()),
            name,
            uid: None,
            node,
            host_network: false,
            pod_ips,
            host_ips: Vec::new(),
            phase: Some(status)
                .filter(|s| !s.is_empty())
                .map(|s| phase_of(&s).to_string()),
            labels: Default::default(),
            annotations: Default::default(),
            containers: Vec::new(),
            init_containers: Vec::new(),
            sidecar: None,
            interception: Interception::default(),
            istio_init: None,
        });
    }
    Ok(pods)
}
