//! The rule of the floors (docs/ARCHITECTURE.md), kept by a test: ground modules import no
//! domain and no edge; a domain imports the ground and the domains listed before it, never a
//! later one and never an edge. Text matching of `crate::…` paths is enough to keep it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The ground floor: knows no domain, takes plain values.
pub const GROUND: &[&str] = &[
    "cache",
    "config",
    "context",
    "db",
    "encryption",
    "error",
    "ids",
    "instance",
    "live",
    "mail",
    "numbers",
    "telemetry",
    "tenancy",
    "validation",
];

/// The domains, in the order they may use each other: each may import those before it.
/// `admin` comes last: it consumes every domain and none imports it.
pub const DOMAINS: &[&str] = &[
    "billing",
    "analytics",
    "tenants",
    "accounts",
    "bots",
    "inbox",
    "onboarding",
    "admin",
];

/// The edges: parse, authenticate, call services, apply effects, render. They may import
/// anything; nothing imports them.
pub const EDGES: &[&str] = &[
    "cli", "commands", "floors", "jobs", "lib", "main", "server", "state", "web",
];

/// One import that goes the wrong way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub file: PathBuf,
    pub line: usize,
    pub from: String,
    pub to: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}: `{}` may not import `{}`",
            self.file.display(),
            self.line,
            self.from,
            self.to
        )
    }
}

/// Where a top-level module stands: (floor, rank within the floor); None if unplaced.
fn place(module: &str) -> Option<(u8, usize)> {
    if GROUND.contains(&module) {
        return Some((0, 0));
    }
    if let Some(rank) = DOMAINS.iter().position(|d| *d == module) {
        return Some((1, rank));
    }
    EDGES.contains(&module).then_some((2, 0))
}

/// Whether `from` may import `to`.
fn allowed(from: (u8, usize), to: (u8, usize)) -> bool {
    match (from.0, to.0) {
        // Edges import anything.
        (2, _) => true,
        // A domain imports the domains before it.
        (1, 1) => to.1 <= from.1,
        // Otherwise only down, or across the ground.
        (from, to) => to < from || (from == 0 && to == 0),
    }
}

/// The top-level modules `lib.rs` declares.
pub fn declared_modules(src: &Path) -> std::io::Result<BTreeSet<String>> {
    let lib = std::fs::read_to_string(src.join("lib.rs"))?;
    Ok(lib
        .lines()
        .filter_map(|l| {
            l.trim()
                .strip_prefix("pub mod")
                .or(l.trim().strip_prefix("mod"))
        })
        .map(|rest| rest.trim().trim_end_matches(';').trim().to_owned())
        .collect())
}

/// The `crate::X` names a line of code mentions, `use crate::{a, b::c}` groups included.
fn crate_names(line: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("crate::") {
        let after = &rest[at + "crate::".len()..];
        if let Some(group) = after.strip_prefix('{') {
            let inner = group.split('}').next().unwrap_or_default();
            for part in inner.split(',') {
                let name: String = part
                    .trim()
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    names.push(name);
                }
            }
        } else {
            let name: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            names.push(name);
        }
        rest = after;
    }
    names
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            rust_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    Ok(())
}

/// Every import under `src` that breaks the rule, and every declared module with no floor.
pub fn check(src: &Path) -> std::io::Result<(Vec<Violation>, Vec<String>)> {
    let modules = declared_modules(src)?;
    let unplaced = modules
        .iter()
        .filter(|m| place(m).is_none())
        .cloned()
        .collect();
    let mut files = Vec::new();
    rust_files(src, &mut files)?;
    files.sort();
    let mut violations = Vec::new();
    for file in files {
        let relative = file.strip_prefix(src).unwrap_or(&file);
        let first = relative
            .components()
            .next()
            .map(|c| {
                c.as_os_str()
                    .to_string_lossy()
                    .trim_end_matches(".rs")
                    .to_owned()
            })
            .unwrap_or_default();
        let Some(from) = place(&first) else { continue };
        let text = std::fs::read_to_string(&file)?;
        for (index, line) in text.lines().enumerate() {
            // Test code may reach anywhere to set things up; the rule is for what ships.
            if line.trim_start().starts_with("#[cfg(test)]") {
                break;
            }
            let code = line.split("//").next().unwrap_or_default();
            for name in crate_names(code) {
                if name == first || !modules.contains(&name) {
                    continue;
                }
                let to = place(&name).unwrap_or((2, 0));
                if !allowed(from, to) {
                    violations.push(Violation {
                        file: relative.to_path_buf(),
                        line: index + 1,
                        from: first.clone(),
                        to: name,
                    });
                }
            }
        }
    }
    Ok((violations, unplaced))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(violations: &[Violation]) -> String {
        violations
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn imports_go_down_the_floors_only() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let (violations, unplaced) = check(&src).unwrap();
        assert!(
            unplaced.is_empty(),
            "give these modules a floor in src/floors.rs: {unplaced:?}"
        );
        assert!(violations.is_empty(), "{}", report(&violations));
    }

    /// The checker itself: a tree with one import of each wrong kind.
    #[test]
    fn a_wrong_import_is_reported_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path();
        std::fs::write(
            src.join("lib.rs"),
            "pub mod config;\npub mod billing;\npub mod bots;\npub mod web;\n",
        )
        .unwrap();
        std::fs::write(src.join("config.rs"), "use crate::bots::model::Bot;\n").unwrap();
        std::fs::create_dir(src.join("billing")).unwrap();
        std::fs::write(
            src.join("billing/mod.rs"),
            "use crate::{config, bots};\n// use crate::web is only a comment\n",
        )
        .unwrap();
        std::fs::write(
            src.join("bots.rs"),
            "use crate::billing::Plan;\nfn f() { crate::web::page(); }\n#[cfg(test)]\nuse crate::web;\n",
        )
        .unwrap();
        std::fs::write(src.join("web.rs"), "use crate::bots;\n").unwrap();

        let (violations, unplaced) = check(src).unwrap();
        assert!(unplaced.is_empty());
        let found: Vec<(String, usize, String)> = violations
            .into_iter()
            .map(|v| (v.file.display().to_string(), v.line, v.to))
            .collect();
        assert_eq!(
            found,
            vec![
                ("billing/mod.rs".to_owned(), 1, "bots".to_owned()),
                ("bots.rs".to_owned(), 2, "web".to_owned()),
                ("config.rs".to_owned(), 1, "bots".to_owned()),
            ]
        );
    }

    #[test]
    fn a_module_without_a_floor_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("lib.rs"),
            "pub mod config;\npub mod newcomer;\n",
        )
        .unwrap();
        let (_, unplaced) = check(dir.path()).unwrap();
        assert_eq!(unplaced, vec!["newcomer".to_owned()]);
    }
}
