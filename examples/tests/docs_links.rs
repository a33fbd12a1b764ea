//! The docs check: every relative link in `docs/` and in the READMEs points at a file that
//! exists, and every `#anchor` at a heading of the target page, with GitHub's slugs (what the
//! links resolve to on GitHub and, for `docs/`, in the mdBook).
//!
//! External links (`https://…`, `mailto:`) are not fetched: the tests need no network.

use std::collections::HashMap;
use std::fs;
use std::path::{Component, Path, PathBuf};

/// The workspace root (this crate is `examples/`).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("examples/ has a parent")
        .to_path_buf()
}

/// The pages checked: `docs/**/*.md` and every `README.md` outside `target/`.
fn pages(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    walk(root, root, &mut found);
    found.sort();
    found
}

fn walk(root: &Path, dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if !name.starts_with('.') && name != "target" && name != "node_modules" {
                walk(root, &path, found);
            }
        } else if name == "README.md"
            || (path.starts_with(root.join("docs")) && name.ends_with(".md"))
        {
            found.push(path);
        }
    }
}

/// The page's lines outside fenced code blocks, with their line numbers (1-based).
fn prose_lines(text: &str) -> Vec<(usize, String)> {
    let mut fence: Option<String> = None;
    let mut lines = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let marker: String = trimmed
            .chars()
            .take_while(|c| *c == '`' || *c == '~')
            .collect();
        if marker.len() >= 3
            && marker
                .chars()
                .all(|c| c == marker.chars().next().unwrap_or('`'))
        {
            match &fence {
                None => {
                    fence = Some(marker);
                    continue;
                }
                Some(open) if marker.starts_with(open.as_str()) => {
                    fence = None;
                    continue;
                }
                Some(_) => {}
            }
        }
        if fence.is_none() {
            lines.push((i + 1, line.to_owned()));
        }
    }
    lines
}

/// `line` without its inline code spans (links inside them are not links).
fn without_code_spans(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(start) = rest.find('`') {
        out.push_str(&rest[..start]);
        let ticks = rest[start..].chars().take_while(|c| *c == '`').count();
        let after = &rest[start + ticks..];
        let closing = "`".repeat(ticks);
        match after.find(&closing) {
            Some(end) => rest = &after[end + ticks..],
            None => {
                // An unmatched backtick is literal text.
                out.push_str(&rest[start..start + ticks]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The targets of the inline links `[text](target)` and `![alt](target)` of a line, and of a
/// reference definition `[label]: target`.
fn link_targets(line: &str) -> Vec<String> {
    let line = without_code_spans(line);
    let mut targets = Vec::new();
    let trimmed = line.trim_start();
    if trimmed.starts_with('[')
        && let Some(end) = trimmed.find("]:")
    {
        let target = trimmed[end + 2..].split_whitespace().next().unwrap_or("");
        if !target.is_empty() {
            targets.push(target.trim_matches(['<', '>']).to_owned());
        }
    }
    let bytes = line.as_bytes();
    let mut i = 0;
    while let Some(pos) = line[i..].find("](") {
        let open = i + pos + 2;
        // The target ends at the matching ')', allowing one level of nested parentheses.
        let mut depth = 0usize;
        let mut end = None;
        for (j, &b) in bytes.iter().enumerate().skip(open) {
            match b {
                b'(' => depth += 1,
                b')' if depth == 0 => {
                    end = Some(j);
                    break;
                }
                b')' => depth -= 1,
                _ => {}
            }
        }
        let Some(end) = end else { break };
        let inner = line[open..end].trim();
        // `[text](target "title")`
        let target = inner.split_whitespace().next().unwrap_or("");
        targets.push(target.trim_matches(['<', '>']).to_owned());
        i = end + 1;
    }
    targets
}

/// GitHub's anchor for a heading's text: lower case, inline markup dropped, every character
/// that is not a letter, a digit, `-`, `_` or a space removed, spaces turned into `-`.
fn slug(heading: &str) -> String {
    // `[text](url)` → `text`.
    let mut text = String::new();
    let mut rest = heading;
    while let Some(start) = rest.find('[') {
        let Some(mid) = rest[start..].find("](") else {
            break;
        };
        let Some(close) = rest[start + mid..].find(')') else {
            break;
        };
        text.push_str(&rest[..start]);
        text.push_str(&rest[start + 1..start + mid]);
        rest = &rest[start + mid + close + 1..];
    }
    text.push_str(rest);
    text.to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '-' || *c == '_' || *c == ' ')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The anchors of a page: its headings' slugs, the second and later of equal slugs with
/// `-1`, `-2`, … as GitHub numbers them; and explicit `<a id="…">` / `<a name="…">`.
fn anchors(text: &str) -> Vec<String> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut out = Vec::new();
    for (_, line) in prose_lines(text) {
        let trimmed = line.trim_start();
        let hashes = trimmed.chars().take_while(|c| *c == '#').count();
        if (1..=6).contains(&hashes) && trimmed[hashes..].starts_with(' ') {
            let heading = trimmed[hashes..].trim().trim_end_matches('#').trim();
            let base = slug(heading);
            let n = seen.entry(base.clone()).or_insert(0);
            out.push(if *n == 0 {
                base.clone()
            } else {
                format!("{base}-{n}")
            });
            *n += 1;
        }
        for attr in ["id=\"", "name=\""] {
            let mut rest = line.as_str();
            while let Some(pos) = rest.find(attr) {
                let value = &rest[pos + attr.len()..];
                if let Some(end) = value.find('"') {
                    out.push(value[..end].to_owned());
                }
                rest = &rest[pos + attr.len()..];
            }
        }
    }
    out
}

/// `base/target`, with `.` and `..` resolved lexically.
fn resolve(base: &Path, target: &str) -> PathBuf {
    let mut path = PathBuf::new();
    for component in base.join(target).components() {
        match component {
            Component::ParentDir => {
                path.pop();
            }
            Component::CurDir => {}
            other => path.push(other.as_os_str()),
        }
    }
    path
}

fn is_external(target: &str) -> bool {
    target.contains("://") || target.starts_with("mailto:") || target.starts_with("tel:")
}

/// Every broken relative link or anchor of `page`, as `file:line: target (why)`.
fn broken_links(root: &Path, page: &Path) -> Vec<String> {
    let text = fs::read_to_string(page).unwrap_or_default();
    let dir = page.parent().unwrap_or(root);
    let shown = page
        .strip_prefix(root)
        .unwrap_or(page)
        .display()
        .to_string();
    let mut broken = Vec::new();
    for (number, line) in prose_lines(&text) {
        for target in link_targets(&line) {
            if target.is_empty() || is_external(&target) {
                continue;
            }
            let (file, anchor) = match target.split_once('#') {
                Some((file, anchor)) => (file, Some(anchor)),
                None => (target.as_str(), None),
            };
            let file = file.split('?').next().unwrap_or(file);
            let target_path = if file.is_empty() {
                page.to_path_buf()
            } else {
                resolve(dir, file)
            };
            if !target_path.exists() {
                broken.push(format!("{shown}:{number}: {target} (no such file)"));
                continue;
            }
            let Some(anchor) = anchor else { continue };
            if target_path.extension().and_then(|e| e.to_str()) != Some("md") {
                continue; // e.g. `#L10` on a source file: GitHub's, not a heading
            }
            let target_text = fs::read_to_string(&target_path).unwrap_or_default();
            if !anchors(&target_text).iter().any(|a| a == anchor) {
                broken.push(format!("{shown}:{number}: {target} (no such heading)"));
            }
        }
    }
    broken
}

#[test]
fn every_relative_link_and_anchor_in_the_docs_resolves() {
    let root = root();
    let pages = pages(&root);
    assert!(
        pages.iter().any(|p| p.ends_with("docs/SUMMARY.md")),
        "no docs found under {}",
        root.display()
    );
    let broken: Vec<String> = pages
        .iter()
        .flat_map(|page| broken_links(&root, page))
        .collect();
    assert!(
        broken.is_empty(),
        "{} broken links:\n{}",
        broken.len(),
        broken.join("\n")
    );
}

#[test]
fn every_docs_page_is_in_the_books_summary() {
    let root = root();
    let summary = fs::read_to_string(root.join("docs/SUMMARY.md")).expect("docs/SUMMARY.md");
    let listed: Vec<String> = summary.lines().flat_map(link_targets).collect();
    let missing: Vec<String> = pages(&root)
        .iter()
        .filter(|p| p.starts_with(root.join("docs")) && !p.ends_with("SUMMARY.md"))
        .filter_map(|p| {
            let relative = p
                .strip_prefix(root.join("docs"))
                .ok()?
                .to_string_lossy()
                .into_owned();
            (!listed.contains(&relative)).then_some(relative)
        })
        .collect();
    assert!(
        missing.is_empty(),
        "pages missing from docs/SUMMARY.md (mdBook would not build them): {missing:?}"
    );
}

#[test]
fn the_checker_finds_broken_links_and_anchors() {
    assert_eq!(
        slug("Token version: `requested_access_token_version`"),
        "token-version-requested_access_token_version"
    );
    assert_eq!(slug("The seed's own gaps"), "the-seeds-own-gaps");
    assert_eq!(
        slug("From Node (MSAL, passport-azure-ad)"),
        "from-node-msal-passport-azure-ad"
    );
    assert_eq!(
        slug("auth-layer: the `Validator`"),
        "auth-layer-the-validator"
    );
    assert_eq!(
        anchors("# A\n## A\n```\n# not a heading\n```\n## B\n<a id=\"x\"></a>\n"),
        ["a", "a-1", "b", "x"]
    );
    assert_eq!(
        link_targets("see [a](b.md#c), `[no](link)` and ![i](img.png \"title\")"),
        ["b.md#c", "img.png"]
    );
    assert_eq!(link_targets("[ref]: ../x.md"), ["../x.md"]);

    let dir = std::env::temp_dir().join(format!("docs-links-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("other.md"), "# Here\n").unwrap();
    let page = dir.join("page.md");
    fs::write(
        &page,
        "[ok](other.md#here) [bad anchor](other.md#there) [missing](nope.md) [self](#top)\n\n# Top\n```\n[in code](nope.md)\n```\n[web](https://example.com/nope)\n",
    )
    .unwrap();
    let broken = broken_links(&dir, &page);
    fs::remove_dir_all(&dir).ok();
    assert_eq!(broken.len(), 2, "{broken:?}");
    assert!(broken[0].contains("other.md#there (no such heading)"));
    assert!(broken[1].contains("nope.md (no such file)"));
}
