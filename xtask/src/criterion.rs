//! Criterion's wall-time medians, for `cargo xtask regress` to report
//! beside its counts (never gated): every
//! `target/criterion/<group>/<bench>/new/estimates.json` found.

use std::path::Path;

/// `(benchmark id, median ns)` of every criterion estimate under `dir`,
/// sorted by id; empty when criterion never ran here.
pub(crate) fn medians(dir: &Path) -> Vec<(String, f64)> {
    let mut found = Vec::new();
    collect(dir, dir, 0, &mut found);
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
}

/// The report's section: every median found, or "no criterion data".
pub(crate) fn section(dir: &Path) -> String {
    let found = medians(dir);
    let mut text = String::from("\n## Criterion wall-time medians (never gated)\n\n");
    if found.is_empty() {
        text.push_str(&format!(
            "no criterion data (no estimates.json under {}; `cargo xtask bench` writes them)\n",
            dir.display()
        ));
        return text;
    }
    text.push_str("| criterion benchmark | median ns |\n|---|---:|\n");
    for (id, ns) in found {
        text.push_str(&format!("| {id} | {ns:.1} |\n"));
    }
    text
}

/// Walks at most four levels (group, function, parameter, `new`).
fn collect(root: &Path, dir: &Path, depth: usize, found: &mut Vec<(String, f64)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if !path.is_dir() || path.file_name().is_some_and(|n| n == "report") {
            continue;
        }
        if path.file_name().is_some_and(|n| n == "new") {
            let median = std::fs::read_to_string(path.join("estimates.json"))
                .ok()
                .and_then(|t| median_ns(&t));
            if let (Some(m), Ok(id)) = (median, dir.strip_prefix(root)) {
                found.push((id.display().to_string(), m));
            }
        } else if depth < 4 {
            collect(root, &path, depth + 1, found);
        }
    }
}

/// The median's point estimate in an `estimates.json`.
pub(crate) fn median_ns(json: &str) -> Option<f64> {
    let after = &json[json.find("\"median\"")?..];
    let value = &after[after.find("\"point_estimate\"")? + "\"point_estimate\"".len()..];
    let value = value.trim_start().strip_prefix(':')?.trim_start();
    let end = value
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+')))
        .unwrap_or(value.len());
    value[..end].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_point_estimate_is_read_not_the_mean() {
        let json = r#"{"mean":{"confidence_interval":{"confidence_level":0.95,"lower_bound":1.0,"upper_bound":3.0},"point_estimate":2.5,"standard_error":0.1},"median":{"confidence_interval":{"confidence_level":0.95,"lower_bound":1.0,"upper_bound":2.0},"point_estimate":1.75e2,"standard_error":0.1}}"#;
        assert_eq!(median_ns(json), Some(175.0));
        assert_eq!(median_ns("{}"), None);
    }

    #[test]
    fn a_missing_criterion_directory_gives_no_medians() {
        assert!(medians(Path::new("/nonexistent/criterion")).is_empty());
    }
}
