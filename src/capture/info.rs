//! What the capture layer tells about its inputs: file format, per-input counts, interfaces.
//!
//! These are small owned values that outlive the readers (the report prints them at the end).

use std::fmt;

/// Record-header variant of a pcap file. Wireshark's wiretap/libpcap.c names them; the
/// patched ("modified", Alexey Kuznetsov) libpcaps of 1999 added fields to each record header.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum PcapVariant {
    /// Standard: 16-byte record header, microsecond timestamps (magic a1b2c3d4).
    Micro,
    /// Standard layout, nanosecond timestamps (magic a1b23c4d).
    Nano,
    /// Standard magic, 24-byte record header (ifindex, protocol, pkt_type, pad): Red Hat 6.1.
    Ss990417,
    /// Modified magic a1b2cd34, 28-byte record header (adds cpu1, cpu2 and 3 pad bytes): SuSE 6.3.
    Ss990915,
    /// Modified magic a1b2cd34, 24-byte record header: the usual "modified tcpdump" format.
    Ss991029,
    /// Standard magic, 20-byte record header (4 unknown bytes): Nokia IPSO.
    Nokia,
}

impl PcapVariant {
    /// Bytes of the per-record header.
    pub const fn record_header_len(self) -> usize {
        match self {
            PcapVariant::Micro | PcapVariant::Nano => 16,
            PcapVariant::Nokia => 20,
            PcapVariant::Ss990417 | PcapVariant::Ss991029 => 24,
            PcapVariant::Ss990915 => 28,
        }
    }
}

/// Container format of one input.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Container {
    Pcap(PcapVariant),
    Pcapng,
}

/// Format of one input: `pcap`, `pcap (nanosecond)`, `pcap (modified)`, `pcapng`, with ` gzip`
/// appended when the file was gzip-compressed.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct FileFormat {
    pub container: Container,
    pub gzip: bool,
}

impl fmt::Display for FileFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.container {
            Container::Pcap(PcapVariant::Micro) => "pcap",
            Container::Pcap(PcapVariant::Nano) => "pcap (nanosecond)",
            Container::Pcap(PcapVariant::Ss991029) => "pcap (modified)",
            Container::Pcap(PcapVariant::Ss990915) => "pcap (modified ss990915)",
            Container::Pcap(PcapVariant::Ss990417) => "pcap (modified ss990417)",
            Container::Pcap(PcapVariant::Nokia) => "pcap (nokia)",
            Container::Pcapng => "pcapng",
        })?;
        if self.gzip {
            f.write_str(" gzip")?;
        }
        Ok(())
    }
}

/// One input as read so far.
#[derive(Clone, Debug)]
pub struct FileSummary {
    /// As given (`-` for stdin).
    pub name: String,
    pub format: FileFormat,
    /// Frames read from this input.
    pub packets: u64,
    /// Bytes of the input consumed (compressed bytes for a gzip input).
    pub bytes: u64,
}

/// One capture interface. A pcap file has one; a pcapng file one per Interface Description
/// Block, counted over all its sections. Its position in `Capture::interfaces()` is the
/// global index that `Frame.interface` carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterfaceInfo {
    /// Input index (0-based, order given).
    pub file: usize,
    /// pcapng `if_name` (option 2).
    pub name: Option<String>,
    /// pcapng `if_description` (option 3).
    pub description: Option<String>,
    /// LINKTYPE_* value (low 16 bits of the pcap header's field).
    pub link_type: u32,
    /// Snapshot length; 0 in pcapng means "no limit".
    pub snaplen: u32,
    /// Timestamp resolution as pcapng's `if_tsresol` byte: 6 = microseconds, 9 = nanoseconds,
    /// high bit set = negative power of 2.
    pub tsresol: u8,
    /// pcapng `if_tsoffset` (option 14): seconds added to every timestamp.
    pub tsoffset: i64,
    /// Frame check sequence length in bits when the file says (pcap link-type field bits
    /// 26..31, see pcap-linktype(7); pcapng `if_fcslen`, option 13).
    pub fcs_bits: Option<u8>,
    /// pcapng section number (0-based) within the file; 0 for pcap.
    pub section: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_names() {
        let f = |container, gzip| FileFormat { container, gzip }.to_string();
        assert_eq!(f(Container::Pcap(PcapVariant::Micro), false), "pcap");
        assert_eq!(
            f(Container::Pcap(PcapVariant::Nano), false),
            "pcap (nanosecond)"
        );
        assert_eq!(
            f(Container::Pcap(PcapVariant::Ss991029), false),
            "pcap (modified)"
        );
        assert_eq!(f(Container::Pcapng, true), "pcapng gzip");
    }
}
