//! Finding the files of a cluster bundle (docs/bundle.md) and reading them. Parsing is the
//! library's (`k8s`, `mesh`); assembling the parsed state is `cluster.rs`.

use std::path::{Path, PathBuf};

/// One netns directory of a bundle: `node/<NODE>/` or `pod/<NS>/<POD>/`.
#[derive(Clone, Debug, Default)]
pub struct NetnsDir {
    pub dir: PathBuf,
    /// Node name, or (namespace, pod name).
    pub node: Option<String>,
    pub pod: Option<(String, String)>,
    pub captures: Vec<PathBuf>,
}

impl NetnsDir {
    /// `dir/name` when it is a file.
    pub fn file(&self, name: &str) -> Option<PathBuf> {
        let p = self.dir.join(name);
        p.is_file().then_some(p)
    }
}

/// The files of a bundle.
#[derive(Clone, Debug, Default)]
pub struct BundleFiles {
    /// `kubectl/*.json|yaml|yml`.
    pub kubectl: Vec<PathBuf>,
    /// `kubectl/pods-wide.txt`.
    pub pods_wide: Option<PathBuf>,
    pub nodes: Vec<NetnsDir>,
    pub pods: Vec<NetnsDir>,
    /// `capture/*`: captures whose capture point is unknown.
    pub loose_captures: Vec<PathBuf>,
}

fn is_capture(p: &Path) -> bool {
    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
    [".pcap", ".pcapng", ".cap", ".pcap.gz", ".pcapng.gz"]
        .iter()
        .any(|ext| name.ends_with(ext))
}

/// Entries of `dir`, sorted by name (so reports do not depend on directory order).
fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    v.sort();
    v
}

fn name_of(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn captures_in(dir: &Path) -> Vec<PathBuf> {
    entries(dir)
        .into_iter()
        .filter(|p| p.is_file() && is_capture(p))
        .collect()
}

/// Whether `dir` looks like a bundle (has any of the well-known subdirectories).
pub fn is_bundle(dir: &Path) -> bool {
    dir.is_dir()
        && ["kubectl", "node", "pod", "capture"]
            .iter()
            .any(|d| dir.join(d).is_dir())
}

pub fn scan(root: &Path) -> BundleFiles {
    let mut b = BundleFiles::default();
    for p in entries(&root.join("kubectl")) {
        let n = name_of(&p);
        if n == "pods-wide.txt" {
            b.pods_wide = Some(p);
        } else if p.is_file()
            && (n.ends_with(".json") || n.ends_with(".yaml") || n.ends_with(".yml"))
        {
            b.kubectl.push(p);
        }
    }
    for dir in entries(&root.join("node"))
        .into_iter()
        .filter(|p| p.is_dir())
    {
        b.nodes.push(NetnsDir {
            node: Some(name_of(&dir)),
            captures: captures_in(&dir),
            dir,
            pod: None,
        });
    }
    for ns in entries(&root.join("pod"))
        .into_iter()
        .filter(|p| p.is_dir())
    {
        for dir in entries(&ns).into_iter().filter(|p| p.is_dir()) {
            b.pods.push(NetnsDir {
                pod: Some((name_of(&ns), name_of(&dir))),
                captures: captures_in(&dir),
                dir,
                node: None,
            });
        }
    }
    b.loose_captures = captures_in(&root.join("capture"));
    b
}
