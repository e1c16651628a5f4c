//! Random input never panics any kubectl parser.

use proptest::prelude::*;

use super::super::*;
use super::ip;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn arbitrary_text_never_panics(s in "\\PC{0,300}") {
        let _ = parse(&s);
        let _ = parse_pods_wide(&s);
        if let Ok(objs) = parse(&s) {
            let _ = Inventory::from_objects(objs).name_ip(ip("10.0.0.1"));
        }
    }

    #[test]
    fn yamlish_and_jsonish_never_panic(s in "[-:{}\\[\\],\"' \\n a-z0-9&*!|>#.]{0,200}") {
        let _ = parse(&s);
        let _ = parse_pods_wide(&s);
    }

    #[test]
    fn mutated_fixture_never_panics(cut in 0usize..6000, byte in any::<u8>()) {
        let mut b = fixture!("victoriametrics-minikube-podlist-etcd.json").as_bytes().to_vec();
        if let Some(x) = b.get_mut(cut) { *x = byte; }
        let s = String::from_utf8_lossy(&b);
        let _ = parse(&s);
    }
}

#[test]
fn deep_nesting_is_refused_not_a_stack_overflow() {
    for text in [
        format!("a: {}", "[".repeat(100_000)),
        "- ".repeat(50_000) + "x",
        format!("a: {}", "{b: ".repeat(50_000)),
        "[".repeat(100_000),
    ] {
        assert!(parse(&text).is_err());
    }
}
