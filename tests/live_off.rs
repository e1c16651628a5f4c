//! Without the `live` feature, `hopscope live` exists and says in one line how to get it.
#![cfg(not(feature = "live"))]

#[test]
fn live_says_how_to_build_it() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hopscope"))
        .args(["live", "--pid", "1", "-w", "x.pcap"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("cargo build --release --features live"),
        "{err}"
    );
    assert!(err.contains("libpcap-dev"), "{err}");
    assert!(out.stdout.is_empty());
}
