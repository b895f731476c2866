//! What to suggest for a key that is not one of those allowed: a close spelling (strsim's optimal string
//! alignment distance), a longer key that contains it, or the section it belongs in.

/// The fix for `name`, a key of the mapping at `path` that is not one of `known`; `section` is the section
/// of the top level that has such a key.
pub(super) fn fix(path: &str, name: &str, known: &[&str], section: Option<&str>) -> String {
    if let Some(close) = closest(name, known) {
        return format!("remove it, or did you mean `{close}`?");
    }
    let lower = name.to_ascii_lowercase();
    let containing: Vec<String> = known
        .iter()
        .filter(|k| name.len() >= 4 && k.contains(lower.as_str()))
        .map(|k| format!("`{k}`"))
        .collect();
    if !containing.is_empty() {
        return format!("remove it, or did you mean {}?", containing.join(" or "));
    }
    if path.is_empty() {
        // A key of a section written at the top level: point it to its section.
        if let Some(section) = section {
            return format!("move it under `{section}:`");
        }
        return format!(
            "remove it; the keys allowed at the top level are {}",
            known.join(", ")
        );
    }
    format!(
        "remove it; the keys allowed in `{path}` are {}",
        known.join(", ")
    )
}

/// The known key closest to `name` within an edit distance of 2, if any.
pub(crate) fn closest<'k>(name: &str, known: &[&'k str]) -> Option<&'k str> {
    known
        .iter()
        .map(|k| (edit_distance(name, k), *k))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Optimal string alignment distance, ignoring case: insertions, deletions, substitutions and adjacent
/// swaps cost 1 (`lsiten` is one edit from `listen`).
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    strsim::osa_distance(&a.to_lowercase(), &b.to_lowercase())
}
