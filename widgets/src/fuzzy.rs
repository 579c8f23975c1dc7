//! Fuzzy matching for the command palette and filters.
//!
//! A query matches when its characters appear in order in the candidate (case-insensitive).
//! Among the many ways a query can be laid over a candidate, dynamic programming picks the best
//! one, so "srv" scores the `s`,`r`,`v` of "servers" as tightly as possible instead of the first
//! `r` a greedy scan would grab.

/// Points for every matched character.
const MATCH: i64 = 16;
/// Extra for a match at a word start (after `-`, `/`, space, `_`, `.`, `:`).
const WORD_START: i64 = 20;
/// Extra for matching the very first character: typing the start of a name is the strongest hint.
const PREFIX: i64 = 32;
/// Extra when a match directly follows the previous one.
const CONSECUTIVE: i64 = 24;
/// Cost of each candidate character skipped between two matches.
const GAP: i64 = 2;
/// Cost of each candidate character before the first match (capped).
const LEADING: i64 = 1;
const LEADING_CAP: i64 = 12;
/// Above this many DP cells fall back to a greedy scan, to bound time and memory on huge input.
const MAX_CELLS: usize = 200_000;

const NONE: i64 = i64::MIN / 4;

/// Scores `candidate` against `query`; `None` when the query is not a subsequence.
/// An empty query matches everything with score 0.
pub fn fuzzy_score(query: &str, candidate: &str) -> Option<i64> {
    fuzzy_match(query, candidate).map(|(score, _)| score)
}

/// Like [`fuzzy_score`], also returning the matched character indices (into
/// `candidate.chars()`), for highlighting.
pub fn fuzzy_match(query: &str, candidate: &str) -> Option<(i64, Vec<usize>)> {
    let q: Vec<char> = query.chars().map(fold).collect();
    let c: Vec<char> = candidate.chars().map(fold).collect();
    if q.is_empty() {
        return Some((0, Vec::new()));
    }
    if q.len() > c.len() {
        return None;
    }
    if q.len().saturating_mul(c.len()) > MAX_CELLS {
        return greedy(&q, &c);
    }
    let (n, m) = (q.len(), c.len());
    let bonus: Vec<i64> = (0..m).map(|j| position_bonus(&c, j)).collect();
    // best[i][j]: best score with q[..=i] matched and q[i] on c[j].
    // from[i][j]: where q[i-1] sits in that best layout (to recover the indices).
    let mut best = vec![NONE; n * m];
    let mut from = vec![usize::MAX; n * m];
    for j in 0..m {
        if q[0] == c[j] {
            let leading = (j as i64 * LEADING).min(LEADING_CAP);
            best[j] = MATCH + bonus[j] - leading;
        }
    }
    for i in 1..n {
        // Running best of best[i-1][k] + k*GAP over k <= j-2, for the "gap" transition.
        let mut gap_best = NONE;
        let mut gap_from = usize::MAX;
        for j in i..m {
            if j >= 2 {
                let k = j - 2;
                let prev = best[(i - 1) * m + k];
                if prev > NONE && prev + k as i64 * GAP > gap_best {
                    gap_best = prev + k as i64 * GAP;
                    gap_from = k;
                }
            }
            if q[i] != c[j] {
                continue;
            }
            let mut score = NONE;
            let mut origin = usize::MAX;
            let adjacent = best[(i - 1) * m + j - 1];
            if adjacent > NONE {
                score = adjacent + CONSECUTIVE;
                origin = j - 1;
            }
            if gap_best > NONE {
                let skipped = gap_best - (j as i64 - 1) * GAP;
                if skipped > score {
                    score = skipped;
                    origin = gap_from;
                }
            }
            if score > NONE {
                best[i * m + j] = score + MATCH + bonus[j];
                from[i * m + j] = origin;
            }
        }
    }
    let last = (n - 1) * m;
    let (end, score) = (0..m)
        .map(|j| (j, best[last + j]))
        .filter(|(_, s)| *s > NONE)
        .max_by_key(|(j, s)| (*s, std::cmp::Reverse(*j)))?;
    let mut indices = vec![end; n];
    let mut j = end;
    for i in (1..n).rev() {
        j = from[i * m + j];
        indices[i - 1] = j;
    }
    Some((score, indices))
}

/// Ranks `candidates` against `query`, best first. Ties go to the shorter candidate, then to the
/// original order; an empty query keeps every candidate in the original order.
pub fn rank<S: AsRef<str>>(query: &str, candidates: &[S]) -> Vec<(usize, i64)> {
    let mut ranked: Vec<(usize, i64)> = candidates
        .iter()
        .enumerate()
        .filter_map(|(i, c)| fuzzy_score(query, c.as_ref()).map(|s| (i, s)))
        .collect();
    if query.is_empty() {
        return ranked;
    }
    ranked.sort_by_key(|&(i, score)| {
        let len = candidates.get(i).map_or(0, |c| c.as_ref().chars().count());
        (std::cmp::Reverse(score), len, i)
    });
    ranked
}

/// Case folding that maps one char to one char, so a candidate's subsequences stay its
/// subsequences after folding (characters that lower-case to several, like 'İ', stay as is).
fn fold(c: char) -> char {
    let mut lower = c.to_lowercase();
    match (lower.next(), lower.next()) {
        (Some(l), None) => l,
        _ => c,
    }
}

fn is_separator(c: char) -> bool {
    matches!(c, '-' | '/' | ' ' | '_' | '.' | ':')
}

fn position_bonus(c: &[char], j: usize) -> i64 {
    match j.checked_sub(1).and_then(|p| c.get(p)) {
        None => WORD_START + PREFIX,
        Some(&prev) if is_separator(prev) => WORD_START,
        Some(_) => 0,
    }
}

/// Leftmost-greedy match for inputs too large for the DP; still correct about matching.
fn greedy(q: &[char], c: &[char]) -> Option<(i64, Vec<usize>)> {
    let mut indices = Vec::with_capacity(q.len());
    let mut j = 0;
    for &qc in q {
        while c.get(j).is_some_and(|&cc| cc != qc) {
            j += 1;
        }
        if j >= c.len() {
            return None;
        }
        indices.push(j);
        j += 1;
    }
    let score = indices.iter().map(|&j| MATCH + position_bonus(c, j)).sum::<i64>();
    Some((score, indices))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const SITEMAP: &[&str] = &[
        "dashboard",
        "tenants",
        "tenants/create",
        "servers",
        "servers/create",
        "servers/capacity",
        "services",
        "services/plans",
        "services/addons",
        "services/provisioning",
        "migrations",
        "billing",
        "billing/invoices",
        "billing/payments",
        "billing/disputes",
        "dns-ssl",
        "dns-ssl/certificates",
        "audit-logs",
        "incidents",
        "settings",
    ];

    fn top(query: &str) -> &'static str {
        let ranked = rank(query, SITEMAP);
        SITEMAP[ranked[0].0]
    }

    #[test]
    fn sitemap_queries() {
        assert_eq!(top("srv"), "servers");
        assert_eq!(top("tenants"), "tenants");
        assert_eq!(top("bil"), "billing");
        assert_eq!(top("mig"), "migrations");
        assert_eq!(top("dns"), "dns-ssl");
        assert_eq!(top("al"), "audit-logs");
        assert_eq!(top("inv"), "billing/invoices");
        assert_eq!(top("SET"), "settings");
    }

    #[test]
    fn empty_query_keeps_order() {
        let ranked = rank("", SITEMAP);
        let order: Vec<usize> = ranked.iter().map(|(i, _)| *i).collect();
        assert_eq!(order, (0..SITEMAP.len()).collect::<Vec<_>>());
    }

    #[test]
    fn non_matches_are_dropped() {
        assert_eq!(fuzzy_score("xyz", "servers"), None);
        assert_eq!(fuzzy_score("serverss", "servers"), None);
        assert!(rank("zzz", SITEMAP).is_empty());
    }

    #[test]
    fn bonuses_order_matches() {
        // prefix beats middle
        assert!(fuzzy_score("ten", "tenants") > fuzzy_score("ten", "attention"));
        // word start after '-' beats a letter inside a word
        assert!(fuzzy_score("l", "audit-logs") > fuzzy_score("l", "billing"));
        // consecutive beats scattered
        assert!(fuzzy_score("ser", "servers") > fuzzy_score("ser", "s-e-r"));
    }

    #[test]
    fn indices_point_at_the_best_layout() {
        let (_, idx) = fuzzy_match("srv", "servers").unwrap();
        assert_eq!(idx, vec![0, 2, 3]);
        let (_, idx) = fuzzy_match("dc", "dns-ssl/certificates").unwrap();
        assert_eq!(idx, vec![0, 8]);
    }

    #[test]
    fn huge_input_uses_greedy_fallback() {
        let long = "a".repeat(100_000) + "b";
        assert!(fuzzy_score("ab", &long).is_some());
        assert!(fuzzy_score("ba", &long).is_none());
    }

    proptest! {
        #[test]
        fn matches_itself(s in "\\PC{0,30}") {
            prop_assert!(fuzzy_score(&s, &s).is_some());
        }

        #[test]
        fn matches_any_subsequence(s in "\\PC{1,30}", mask in proptest::collection::vec(any::<bool>(), 30)) {
            let sub: String = s.chars().zip(mask.iter()).filter(|(_, keep)| **keep).map(|(c, _)| c).collect();
            prop_assert!(fuzzy_score(&sub, &s).is_some(), "{sub:?} in {s:?}");
        }

        #[test]
        fn never_panics(q in any::<String>(), c in any::<String>()) {
            if let Some((_, idx)) = fuzzy_match(&q, &c) {
                prop_assert_eq!(idx.len(), q.chars().count());
                prop_assert!(idx.windows(2).all(|w| w[0] < w[1]));
            }
        }
    }
}
