//! The shape of `server/src`: no module uses one that uses it back (however
//! long the way round), and the command line is a surface, not a library
//! (nothing outside `cli/` uses it). Read from the source with `syn`: every
//! `crate::`, `super::` and `self::` path, in `use` trees and in code,
//! resolved to the module (file) it names.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use syn::visit::Visit;

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

/// Collects the absolute module paths one file names.
struct Paths<'a> {
    module: &'a Module,
    /// How deep inside inline modules (`mod tests { .. }`) the visitor is:
    /// their `super` is the file's module, not its parent.
    inline: usize,
    found: Vec<Module>,
}

impl Paths<'_> {
    fn add(&mut self, segments: &[String]) {
        let Some(first) = segments.first() else {
            return;
        };
        let mut base: Module = match first.as_str() {
            "crate" => Vec::new(),
            "super" | "self" => self.module.clone(),
            _ => return,
        };
        let mut inline = self.inline;
        let mut rest = &segments[1..];
        if first == "super" {
            rest = segments;
            while let Some(("super", tail)) = rest.split_first().map(|(h, t)| (h.as_str(), t)) {
                if inline > 0 {
                    inline -= 1;
                } else {
                    base.pop();
                }
                rest = tail;
            }
        }
        base.extend(rest.iter().filter(|s| *s != "self").cloned());
        self.found.push(base);
    }

    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(prefix, &p.tree);
                prefix.pop();
            }
            syn::UseTree::Name(n) => {
                prefix.push(n.ident.to_string());
                self.add(&prefix.clone());
                prefix.pop();
            }
            syn::UseTree::Rename(r) => {
                prefix.push(r.ident.to_string());
                self.add(&prefix.clone());
                prefix.pop();
            }
            syn::UseTree::Glob(_) => self.add(&prefix.clone()),
            syn::UseTree::Group(g) => {
                for item in &g.items {
                    self.use_tree(prefix, item);
                }
            }
        }
    }
}

impl<'ast> Visit<'ast> for Paths<'_> {
    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        self.use_tree(&mut Vec::new(), &item.tree);
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        self.add(&segments);
        syn::visit::visit_path(self, path);
    }

    fn visit_item_mod(&mut self, item: &'ast syn::ItemMod) {
        self.inline += usize::from(item.content.is_some());
        syn::visit::visit_item_mod(self, item);
        self.inline -= usize::from(item.content.is_some());
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        // Paths inside macro calls (`on_pool!`, `format!`) are tokens, not
        // syntax: read any `crate::a::b` / `super::x` runs among them.
        let mut run: Vec<String> = Vec::new();
        let mut colons = false;
        for token in mac.tokens.clone() {
            match token {
                proc_macro2::TokenTree::Ident(i) if run.is_empty() || colons => {
                    run.push(i.to_string());
                    colons = false;
                }
                proc_macro2::TokenTree::Punct(p) if p.as_char() == ':' && !run.is_empty() => {
                    colons = true;
                }
                _ => {
                    self.add(&run);
                    run.clear();
                    colons = false;
                }
            }
        }
        self.add(&run);
        syn::visit::visit_macro(self, mac);
    }
}

/// Which module each module uses (the longest module prefix of each path).
fn uses() -> BTreeMap<Module, BTreeSet<Module>> {
    let modules = modules();
    let mut edges: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for (module, file) in &modules {
        let source = std::fs::read_to_string(file).unwrap();
        let parsed = syn::parse_file(&source)
            .unwrap_or_else(|e| panic!("{} does not parse: {e}", file.display()));
        let mut paths = Paths {
            module,
            inline: 0,
            found: Vec::new(),
        };
        paths.visit_file(&parsed);
        for path in paths.found {
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

/// The groups of modules that reach each other (Tarjan's strongly
/// connected components with more than one member).
fn cycles(graph: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<Vec<Module>> {
    struct State<'g> {
        graph: &'g BTreeMap<Module, BTreeSet<Module>>,
        index: BTreeMap<&'g Module, usize>,
        low: BTreeMap<&'g Module, usize>,
        stack: Vec<&'g Module>,
        on_stack: BTreeSet<&'g Module>,
        found: Vec<Vec<Module>>,
    }
    fn visit<'g>(s: &mut State<'g>, v: &'g Module) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        s.on_stack.insert(v);
        for w in s.graph.get(v).into_iter().flatten() {
            if !s.index.contains_key(w) {
                visit(s, w);
                let low = s.low[v].min(s.low[w]);
                s.low.insert(v, low);
            } else if s.on_stack.contains(w) {
                let low = s.low[v].min(s.index[w]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut group = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                group.push(w.clone());
                if w == v {
                    break;
                }
            }
            if group.len() > 1 {
                s.found.push(group);
            }
        }
    }
    let mut state = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in graph.keys() {
        if !state.index.contains_key(v) {
            visit(&mut state, v);
        }
    }
    state.found
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
    let loops: Vec<String> = cycles(&units)
        .iter()
        .map(|group| {
            group
                .iter()
                .map(|m| m.join("::"))
                .collect::<Vec<_>>()
                .join(" <-> ")
        })
        .collect();
    assert!(
        loops.is_empty(),
        "modules that reach each other: {loops:#?}"
    );
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
