//! A user's groups for `allow.groups`, nested membership included (`directory.nested_groups`):
//! - `ad_matching_rule`: one search with LDAP_MATCHING_RULE_IN_CHAIN; the domain controller walks the chain;
//! - `recursive`: a breadth-first walk of `member` searches, each group visited once (cycles end), at
//!   most `MAX_DEPTH` levels and `MAX_GROUPS` groups;
//! - `off`: the groups that list the user directly.
//!
//! AD's primary group (`primaryGroupID`, Domain Users for nearly everyone) is in no `member` list and no
//! `memberOf`, and the in-chain rule does not see it: it is found from the user's `objectSid` and added,
//! with the groups it is itself in (nested as `nested_groups` says), so `allow.groups: [Domain Users]`
//! and groups that contain Domain Users work.

use std::collections::{HashMap, HashSet};

use ldap3::Scope;

use super::entry::UserEntry;
use super::{Directory, DirectoryError, filter};
use crate::config::NestedGroups;
use crate::identity::normalize_dn;
use crate::metrics::directory::Operation;

/// Deepest nesting followed by the recursive walk.
const MAX_DEPTH: usize = 16;
/// Most groups one user's walk collects; past it the walk stops (and says so in the log).
const MAX_GROUPS: usize = 1000;
/// Primary groups remembered (SID → DN); a domain has a handful in use.
const MAX_PRIMARY_GROUPS: usize = 1024;

/// Primary groups found so far: binary SID → DN (`None`: no such group visible).
pub(super) type PrimaryGroups = HashMap<Vec<u8>, Option<String>>;

impl Directory {
    pub(super) async fn groups(&self, user: &UserEntry) -> Result<Vec<String>, DirectoryError> {
        let primary = self.primary_group(user).await?;
        match self.settings.nested_groups {
            NestedGroups::AdMatchingRule => {
                let mut groups = self.group_dns(&filter::groups_in_chain(&user.dn)).await?;
                if let Some(primary) = primary {
                    groups.extend(self.group_dns(&filter::groups_in_chain(&primary)).await?);
                    groups.push(primary);
                }
                Ok(dedup(groups))
            }
            NestedGroups::Off => {
                let mut groups = user.member_of();
                groups.extend(self.group_dns(&filter::direct_groups(&user.dn)).await?);
                groups.extend(primary);
                Ok(dedup(groups))
            }
            NestedGroups::Recursive => self.walk(user, primary).await,
        }
    }

    /// The DN of the user's primary group, searched by its SID from the domain's root (it is usually in
    /// `CN=Users`, outside a `base_dn` of users).
    async fn primary_group(&self, user: &UserEntry) -> Result<Option<String>, DirectoryError> {
        let Some(sid) = user.primary_group_sid() else {
            return Ok(None);
        };
        if let Some(known) = super::lock(&self.primary_groups).get(&sid) {
            return Ok(known.clone());
        }
        let domain = super::guarded::domain_of(&self.settings.base_dn);
        let base = if domain.is_empty() {
            self.settings.base_dn.clone()
        } else {
            domain
        };
        let found = self
            .search(
                &base,
                Scope::Subtree,
                &filter::object_sid(&sid),
                vec!["1.1"],
                1,
                Operation::Groups,
            )
            .await?
            .into_iter()
            .next()
            .map(|entry| entry.dn);
        let mut known = super::lock(&self.primary_groups);
        if known.len() >= MAX_PRIMARY_GROUPS {
            known.clear();
        }
        known.insert(sid, found.clone());
        Ok(found)
    }

    async fn walk(
        &self,
        user: &UserEntry,
        primary: Option<String>,
    ) -> Result<Vec<String>, DirectoryError> {
        let mut seen: HashSet<String> = HashSet::new();
        let mut found = Vec::new();
        let mut level = vec![user.dn.clone()];
        if let Some(primary) = primary {
            seen.insert(normalize_dn(&primary));
            found.push(primary.clone());
            level.push(primary);
        }
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
