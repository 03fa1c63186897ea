//! The shape of `server/src`: no module uses one that uses it back, and the
//! command line is a surface, not a library (nothing outside `cli/` uses
//! it). Read from the source: every `crate::` and `super::` path, resolved
//! to the module (file) it names.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Module = Vec<String>;

/// Every module of the crate by its path (`rules::facts`), with its file.
fn modules() -> BTreeMap<Module, PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = BTreeMap::new();
    let mut dirs = vec![root.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let rel = path.strip_prefix(&root).unwrap().with_extension("");
            let mut segments: Module = rel
                .iter()
                .map(|s| s.to_string_lossy().into_owned())
                .collect();
            if path.extension().is_none_or(|e| e != "rs")
                || matches!(segments.as_slice(), [one] if one == "lib" || one == "main")
            {
                continue;
            }
            if segments.last().is_some_and(|s| s == "mod") {
                segments.pop();
            }
            found.insert(segments, path);
        }
    }
    found
}

/// The paths a file names after `crate::` or `super::`, `{a, b::c}` lists
/// opened, made absolute.
fn named_paths(module: &Module, source: &str) -> Vec<Module> {
    let mut out = Vec::new();
    for line in source.lines() {
        let code = line.split("//").next().unwrap_or_default();
        for (base, start) in ["crate::", "super::"]
            .iter()
            .flat_map(|b| code.match_indices(b).map(move |(i, _)| (*b, i + b.len())))
        {
            if code[..start - base.len()]
                .chars()
                .last()
                .is_some_and(|c| c.is_alphanumeric() || c == '_')
            {
                continue; // part of a longer name
            }
            let rest = &code[start..];
            let items: Vec<&str> = match rest.strip_prefix('{') {
                Some(list) => list
                    .split('}')
                    .next()
                    .unwrap_or_default()
                    .split(',')
                    .collect(),
                None => vec![rest],
            };
            for item in items {
                let segments: Module = item
                    .trim()
                    .split("::")
                    .map(|s| {
                        s.chars()
                            .take_while(|c| c.is_alphanumeric() || *c == '_')
                            .collect::<String>()
                    })
                    .take_while(|s| !s.is_empty() && s != "self")
                    .collect();
                let mut full = if base == "crate::" {
                    Vec::new()
                } else {
                    module[..module.len().saturating_sub(1)].to_vec()
                };
                full.extend(segments);
                out.push(full);
            }
        }
    }
    out
}

/// Which module each module uses (the longest module prefix of each path).
fn uses() -> BTreeMap<Module, BTreeSet<Module>> {
    let modules = modules();
    let mut edges: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for (module, file) in &modules {
        let source = std::fs::read_to_string(file).unwrap();
        for path in named_paths(module, &source) {
            let target = (1..=path.len())
                .rev()
                .map(|k| path[..k].to_vec())
                .find(|prefix| modules.contains_key(prefix));
            if let Some(target) = target.filter(|t| t != module) {
                edges.entry(module.clone()).or_default().insert(target);
            }
        }
    }
    edges
}

#[test]
fn no_module_uses_one_that_uses_it_back() {
    // Compared where two paths part: `cli::rule` using `trace` is `cli`
    // using `trace`; `rules::facts` using `rules::sensitive` stays as it is.
    // A module and the modules inside it know each other by design.
    let mut units: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for (from, targets) in uses() {
        for to in targets {
            if from.starts_with(&to) || to.starts_with(&from) {
                continue;
            }
            let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
            units
                .entry(from[..=common].to_vec())
                .or_default()
                .insert(to[..=common].to_vec());
        }
    }
    let mut loops = Vec::new();
    for (a, targets) in &units {
        for b in targets {
            if a < b && units.get(b).is_some_and(|back| back.contains(a)) {
                loops.push(format!("{} <-> {}", a.join("::"), b.join("::")));
            }
        }
    }
    assert!(loops.is_empty(), "modules that use each other: {loops:#?}");
}

#[test]
fn the_command_line_is_used_by_nothing_else() {
    let users: Vec<String> = uses()
        .into_iter()
        .filter(|(from, to)| from[0] != "cli" && to.iter().any(|t| t[0] == "cli"))
        .map(|(from, _)| from.join("::"))
        .collect();
    assert!(users.is_empty(), "outside cli/, these use it: {users:?}");
}
