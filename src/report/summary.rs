//! The capture summary: inputs, interfaces, time span, what was not TCP or not readable.

use super::escape::escape;
use super::text::Shown;
use super::timefmt::{bytes, date_clock, duration, rfc3339};
use crate::pipeline::Summary;
use std::io::{self, Write};

/// LINKTYPE_* name as tcpdump prints it (DLT names), for the link types hopscope decodes.
pub fn link_type_name(link_type: u32) -> String {
    let name = match link_type {
        0 => "NULL",
        1 => "EN10MB",
        12 | 14 | 101 => "RAW",
        108 => "LOOP",
        113 => "LINUX_SLL",
        228 => "IPV4",
        229 => "IPV6",
        239 => "NFLOG",
        276 => "LINUX_SLL2",
        other => return format!("LINKTYPE {other}"),
    };
    name.to_string()
}

fn counts<K: std::fmt::Display>(map: impl IntoIterator<Item = (K, u64)>) -> String {
    let parts: Vec<String> = map.into_iter().map(|(k, v)| format!("{k} {v}")).collect();
    parts.join(", ")
}

/// Writes the summary block of the text report.
pub fn write_summary(w: &mut dyn Write, s: &Summary, shown: &Shown) -> io::Result<()> {
    writeln!(w)?;
    writeln!(w, "summary")?;
    for f in &s.files {
        writeln!(
            w,
            "  input      {}: {}, {} packets, {}",
            escape(&f.name),
            f.format,
            f.packets,
            bytes(f.bytes)
        )?;
    }
    for (i, iface) in s.interfaces.iter().enumerate() {
        let name = iface.name.as_deref().map(escape).unwrap_or_default();
        writeln!(
            w,
            "  interface  #{i} {}{}({}, snaplen {}){}",
            name,
            if name.is_empty() { "" } else { " " },
            link_type_name(iface.link_type),
            iface.snaplen,
            if s.files.len() > 1 {
                format!(" in input {}", iface.file + 1)
            } else {
                String::new()
            }
        )?;
    }
    if let (Some(first), Some(last)) = (s.first, s.last) {
        writeln!(
            w,
            "  time       {} → {} ({})",
            date_clock(first),
            date_clock(last),
            duration(s.span())
        )?;
    }
    writeln!(
        w,
        "  packets    {} ({} captured, {} on the wire), {} TCP",
        s.frames,
        bytes(s.captured_bytes),
        bytes(s.wire_bytes),
        s.decode.tcp
    )?;
    if !s.decode.other.is_empty() {
        writeln!(
            w,
            "  non-TCP    {}",
            counts(s.decode.other.iter().map(|(k, v)| (k, *v)))
        )?;
    }
    if !s.decode.skipped.is_empty() {
        writeln!(
            w,
            "  skipped    {}",
            counts(s.decode.skipped.iter().map(|(k, v)| (k, *v)))
        )?;
        if !s.decode.unknown_link_types.is_empty() {
            let types = s
                .decode
                .unknown_link_types
                .iter()
                .map(|(t, n)| (link_type_name(*t), *n));
            writeln!(w, "  link types {} (not decoded)", counts(types))?;
        }
    }
    if s.decode.snaplen_cut > 0 {
        writeln!(
            w,
            "  snaplen    {} TCP segments cut short by the snapshot length",
            s.decode.snaplen_cut
        )?;
    }
    let fr = &s.decode.fragments;
    if fr.fragments > 0 || fr.atomic > 0 {
        writeln!(
            w,
            "  fragments  {} fragments, {} datagrams reassembled, {} never completed, {} expired, {} over limits, {} overlapping, {} atomic",
            fr.fragments, fr.reassembled, fr.pending, fr.expired, fr.dropped_over_limit, fr.overlapping, fr.atomic
        )?;
    }
    writeln!(
        w,
        "  tcp        {} connections ({}), {} retransmissions, {} gap bytes",
        shown.connections,
        counts(shown.ends.iter().map(|(k, v)| (k, *v))),
        shown.retransmissions,
        shown.gap_bytes
    )?;
    let classes: Vec<String> = shown
        .by_class
        .iter()
        .enumerate()
        .filter(|(_, n)| **n > 0)
        .map(|(c, n)| format!("{c}xx {n}"))
        .collect();
    writeln!(
        w,
        "  http       {} exchanges{}{}",
        shown.exchanges,
        if classes.is_empty() {
            String::new()
        } else {
            format!(": {}", classes.join(", "))
        },
        if shown.incomplete > 0 {
            format!(", {} incomplete", shown.incomplete)
        } else {
            String::new()
        }
    )?;
    for e in &s.errors {
        writeln!(w, "  damage     {}", escape(&e.to_string()))?;
    }
    Ok(())
}

/// The closing `"kind": "summary"` JSON line.
pub fn summary_json(s: &Summary) -> serde_json::Value {
    let files: Vec<_> = s
        .files
        .iter()
        .map(|f| {
            serde_json::json!({
                "name": f.name,
                "format": f.format.to_string(),
                "packets": f.packets,
                "bytes": f.bytes,
            })
        })
        .collect();
    let interfaces: Vec<_> = s
        .interfaces
        .iter()
        .enumerate()
        .map(|(i, iface)| {
            serde_json::json!({
                "index": i,
                "input": iface.file,
                "name": iface.name,
                "link_type": iface.link_type,
                "link_type_name": link_type_name(iface.link_type),
                "snaplen": iface.snaplen,
            })
        })
        .collect();
    serde_json::json!({
        "kind": "summary",
        "inputs": files,
        "interfaces": interfaces,
        "first": s.first.map(rfc3339),
        "last": s.last.map(rfc3339),
        "packets": s.frames,
        "captured_bytes": s.captured_bytes,
        "wire_bytes": s.wire_bytes,
        "tcp_packets": s.decode.tcp,
        "non_tcp": s.decode.other,
        "skipped": s.decode.skipped,
        "unknown_link_types": s.decode.unknown_link_types,
        "snaplen_cut": s.decode.snaplen_cut,
        "fragments": s.decode.fragments,
        "connections": s.connections,
        "exchanges": s.exchanges,
        "errors": s.errors.iter().map(|e| e.to_string()).collect::<Vec<_>>(),
    })
}
