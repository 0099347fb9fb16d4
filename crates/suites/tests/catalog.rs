//! The built-in catalog is what the fault-catalog issue promised and what
//! docs/chaos.md says: 60+ scenarios in the seven categories, each with a
//! description, an expectation and settings the TN3270 target accepts.

use ballast_chaos::scenario::{CATEGORIES, catalog};
use ballast_suites::chaos::{BEGIN_MARK, END_MARK, markdown};
use ballast_suites::tn3270::Setup;

#[test]
fn the_catalog_has_sixty_scenarios_with_three_in_every_category() {
    let all = catalog();
    assert!(all.len() >= 60, "{} scenarios", all.len());
    for category in CATEGORIES {
        let n = all.iter().filter(|s| s.category == *category).count();
        assert!(n >= 3, "category {category} has {n} scenarios");
    }
    for s in &all {
        assert!(
            CATEGORIES.contains(&s.category.as_str()),
            "{}: category {} is not one of {CATEGORIES:?}",
            s.name,
            s.category
        );
        assert!(!s.description.is_empty(), "{}: no description", s.name);
        assert!(!s.expected.is_empty(), "{}: no expectation", s.name);
        if let Err(e) = Setup::of(s) {
            panic!("{}: {e}", s.name);
        }
    }
    let mut names: Vec<&str> = all.iter().map(|s| s.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), all.len(), "scenario names are unique");
}

#[test]
fn docs_chaos_md_holds_the_current_catalog_table() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/chaos.md");
    let doc = std::fs::read_to_string(path).expect("docs/chaos.md");
    let begin = doc
        .find(BEGIN_MARK)
        .expect("docs/chaos.md has the begin mark");
    let end = doc.find(END_MARK).expect("docs/chaos.md has the end mark");
    let table = doc[begin + BEGIN_MARK.len()..end].trim();
    assert_eq!(
        table,
        markdown(&catalog()).trim(),
        "docs/chaos.md is stale: regenerate it with `cargo xtask chaos -- --list --markdown`"
    );
}
