//! The crate's layering, checked: every `crate::…` path in `src/` may only point to a module
//! on a lower layer. The layers are written once, in the ```layers block of
//! `docs/ARCHITECTURE.md`; this test reads them from there, so the document and the check
//! cannot drift apart. Unit tests at a file's foot (`#[cfg(test)] mod …`) are not part of the
//! shipped graph and are not read.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Layer of each top-level module, from the ```layers block (`N: a b c` per line).
fn layers() -> BTreeMap<String, usize> {
    let doc = std::fs::read_to_string(root().join("docs/ARCHITECTURE.md"))
        .expect("docs/ARCHITECTURE.md is readable");
    let block = doc
        .split("```layers\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("docs/ARCHITECTURE.md has a ```layers block");
    let mut layers = BTreeMap::new();
    for line in block.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (n, modules) = line
            .split_once(':')
            .unwrap_or_else(|| panic!("layer line {line:?} is not `N: modules`"));
        let n: usize = n.trim().parse().expect("a layer number");
        for m in modules.split_whitespace() {
            assert!(
                layers.insert(m.to_owned(), n).is_none(),
                "module {m} is listed on two layers"
            );
        }
    }
    layers
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file belongs to (`src/room/window.rs` → `room`).
fn module_of(file: &Path) -> String {
    let rel = file.strip_prefix(root().join("src")).expect("under src/");
    let first = rel.components().next().expect("a path").as_os_str();
    first.to_string_lossy().trim_end_matches(".rs").to_owned()
}

/// The code of a file without comments and without its unit tests.
fn shipped_code(text: &str) -> String {
    let mut out = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("#[cfg(test)]")
            && lines
                .peek()
                .is_some_and(|next| next.trim_start().starts_with("mod "))
        {
            break;
        }
        let code = match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        };
        out.push_str(code);
        out.push('\n');
    }
    out
}

/// The top-level modules named by `crate::…` paths in `code`, with `use crate::{a, b::c}`
/// groups opened.
fn imports(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    for (at, _) in code.match_indices("crate::") {
        let before = code[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
            continue; // `$crate::` in macros, `my_crate::`
        }
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0usize;
            let mut item = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        found.insert(ident(item.trim()));
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                if depth == 0 || c != '{' {
                    item.push(c);
                }
            }
            found.insert(ident(item.trim()));
        } else {
            found.insert(ident(rest));
        }
    }
    found.retain(|m| !m.is_empty() && m != "self");
    found
}

#[test]
fn modules_import_only_lower_layers() {
    let layers = layers();
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    files.sort();
    let mut problems = Vec::new();
    let mut modules = BTreeSet::new();
    for file in &files {
        let module = module_of(file);
        // `tests.rs` files are a module's unit tests (`#[cfg(test)] mod tests;`).
        if matches!(module.as_str(), "lib" | "main") || file.ends_with("tests.rs") {
            continue;
        }
        modules.insert(module.clone());
        let Some(&own) = layers.get(&module) else {
            problems.push(format!("module {module} is on no layer of ARCHITECTURE.md"));
            continue;
        };
        let text = std::fs::read_to_string(file).expect("a readable source file");
        for target in imports(&shipped_code(&text)) {
            if target == module {
                continue;
            }
            match layers.get(&target) {
                None => problems.push(format!(
                    "{}: imports {target}, which is on no layer",
                    file.display()
                )),
                Some(&theirs) if theirs >= own => problems.push(format!(
                    "{}: {module} (layer {own}) imports {target} (layer {theirs})",
                    file.strip_prefix(root()).unwrap_or(file).display()
                )),
                Some(_) => {}
            }
        }
    }
    for listed in layers.keys() {
        if !modules.contains(listed) {
            problems.push(format!(
                "ARCHITECTURE.md lists {listed}, which is not in src/"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "layering broken:\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn the_import_reader_opens_groups_and_skips_tests() {
    let code = shipped_code(
        "use crate::analyze::{Analysis, Intent};\nuse crate::{room::RoomState, store};\n\
         let x = crate::clock::now_ms(); // crate::server\n$crate::nope\n\
         #[cfg(test)]\nmod tests {\n use crate::server;\n}\n",
    );
    let found: Vec<String> = imports(&code).into_iter().collect();
    assert_eq!(found, ["analyze", "clock", "room", "store"]);
}

/// Every file reads in one sitting (issue 18: none over 800 lines in `src/`).
#[test]
fn no_source_file_is_over_800_lines() {
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    let long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let n = std::fs::read_to_string(f).ok()?.lines().count();
            (n > 800).then(|| format!("{} ({n} lines)", f.display()))
        })
        .collect();
    assert!(long.is_empty(), "split these by concept: {long:?}");
}
