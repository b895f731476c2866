//! A user's groups for `allow.groups`, nested membership included (`directory.nested_groups`):
//! - `ad_matching_rule`: one search with LDAP_MATCHING_RULE_IN_CHAIN; the domain controller walks the chain;
//! - `recursive`: a breadth-first walk of `member` searches, each group visited once (cycles end), at
//!   most `MAX_DEPTH` levels and `MAX_GROUPS` groups;
//! - `off`: the groups that list the user directly.

use std::collections::HashSet;

use ldap3::Scope;

use super::entry::UserEntry;
use super::{Directory, DirectoryError, filter};
use crate::admin::directory::Operation;
use crate::config::NestedGroups;
use crate::identity::normalize_dn;

/// Deepest nesting followed by the recursive walk.
const MAX_DEPTH: usize = 16;
/// Most groups one user's walk collects; past it the walk stops (and says so in the log).
const MAX_GROUPS: usize = 1000;

impl Directory {
    pub(super) async fn groups(&self, user: &UserEntry) -> Result<Vec<String>, DirectoryError> {
        match self.settings.nested_groups {
            NestedGroups::AdMatchingRule => {
                let filter = filter::groups_in_chain(&user.dn);
                self.group_dns(&filter).await
            }
            NestedGroups::Off => {
                let mut groups = user.member_of();
                groups.extend(self.group_dns(&filter::direct_groups(&user.dn)).await?);
                Ok(dedup(groups))
            }
            NestedGroups::Recursive => self.walk(user).await,
        }
    }

    async fn walk(&self, user: &UserEntry) -> Result<Vec<String>, DirectoryError> {
        let mut seen: HashSet<String> = HashSet::new();
        let mut found = Vec::new();
        let mut level = vec![user.dn.clone()];
        for _ in 0..MAX_DEPTH {
            let mut next = Vec::new();
            for dn in &level {
                for group in self.group_dns(&filter::direct_groups(dn)).await? {
                    if seen.insert(normalize_dn(&group)) {
                        found.push(group.clone());
                        next.push(group);
                    }
                    if found.len() >= MAX_GROUPS {
                        tracing::warn!(user = %user.dn, "directory: group walk stopped at {MAX_GROUPS} groups");
                        return Ok(found);
                    }
                }
            }
            if next.is_empty() {
                break;
            }
            level = next;
        }
        Ok(found)
    }

    async fn group_dns(&self, filter: &str) -> Result<Vec<String>, DirectoryError> {
        let entries = self
            .search(
                &self.settings.base_dn,
                Scope::Subtree,
                filter,
                vec!["1.1"],
                MAX_GROUPS as i32,
                Operation::Groups,
            )
            .await?;
        Ok(entries.into_iter().map(|e| e.dn).collect())
    }
}

fn dedup(groups: Vec<String>) -> Vec<String> {
    let mut seen = HashSet::new();
    groups
        .into_iter()
        .filter(|g| seen.insert(normalize_dn(g)))
        .collect()
}
