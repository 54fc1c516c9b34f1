//! The file lease table, pure: one document for the whole project (so a hook reads one
//! file, never fifty session documents), holding for each session its touches and its
//! explicit leases. Times are Unix seconds, which keeps the document small: a thousand
//! leases are about 100 KB.
//!
//! The document ([`Stored`]) keeps each session's entries as raw JSON, ahead of them when
//! each session's entries end (`ends`) and every glob any session holds (`globs`). So the
//! hot paths parse little: a tool call's check reads the head and looks for the file's key
//! in the text, parsing the sessions only when one may hold it ([`Head::may_hold`]); an
//! edit's touch parses and rewrites only its own session's entries
//! ([`Stored::with_holder`]); a session whose entries have all ended is dropped unparsed.
//!
//! A **touch** is what an edit leaves: it lasts `coordination.touch_ttl` after the latest
//! edit of the file and never blocks anyone. A **lease** is taken on purpose (a path or a
//! glob), lasts its TTL, and blocks others' edits when it is exclusive. Either ends with its
//! session; an entry whose `until` has passed counts for nothing and is dropped by the next
//! write.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::glob::{Glob, covering, escape, is_glob, overlap};

/// The version of the table's shape.
pub const VERSION: u32 = 1;

/// The most explicit leases one session holds; acquiring more is refused.
pub const MAX_LEASES_PER_SESSION: usize = 500;

/// The most touches one session keeps; a new one drops its oldest.
pub const MAX_TOUCHES_PER_SESSION: usize = 200;

/// A touch renewed this recently (seconds) is not written again: repeated edits of one file
/// cost a read of the table, not a write. Its `at` is that much behind at most.
pub const TOUCH_RENEW_SECONDS: i64 = 60;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Table {
    #[serde(default)]
    pub version: u32,
    /// By session id.
    #[serde(default)]
    pub sessions: BTreeMap<String, Holder>,
}

/// One session's entries and what names it to others.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Holder {
    /// The agent the session works as (`agent.id`, `ORCHESTRON_AGENT`), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// The item a worker session was started for (the supervisor marks its sessions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker: Option<String>,
    #[serde(default)]
    pub leases: Vec<Lease>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Touch,
    Lease,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Touch => "touch",
            Kind::Lease => "lease",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lease {
    /// A key (a path relative to the repository's top level) or, for a lease, a glob.
    pub path: String,
    pub kind: Kind,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub exclusive: bool,
    /// The tracker item it is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
    /// When it was first taken (the first edit, for a touch).
    pub since: i64,
    /// The latest edit (a touch) or renewal (a lease).
    pub at: i64,
    /// When it ends.
    pub until: i64,
}

impl Lease {
    /// Whether it still counts at `now`.
    pub fn live(&self, now: i64) -> bool {
        self.until > now
    }

    /// Whether it covers the path `key`.
    pub fn covers(&self, key: &str) -> bool {
        // A touch is one file, named by its key as it is (brackets and all).
        if self.kind == Kind::Touch {
            return self.path == key;
        }
        glob_matches(&self.path, key)
    }

    /// What it covers, as a pattern.
    pub fn pattern(&self) -> Option<Glob> {
        match self.kind {
            Kind::Touch => Glob::parse(&escape(&self.path)).ok(),
            Kind::Lease => covering(&self.path).ok(),
        }
    }

    /// Whether some path is covered by both this and `pattern`.
    pub fn meets(&self, pattern: &Glob) -> bool {
        self.pattern().is_some_and(|own| overlap(&own, pattern))
    }
}

/// Whether the pattern `pattern` covers `key` (see [`super::glob::covering`]: a plain path
/// covers itself and what is under it); a pattern that does not parse covers nothing.
pub fn glob_matches(pattern: &str, key: &str) -> bool {
    if !is_glob(pattern) {
        // A plain path: itself, or a path under it. No pattern to build.
        return key
            .strip_prefix(pattern)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'));
    }
    covering(pattern).is_ok_and(|glob| glob.matches(key))
}

/// Who holds an entry, as the session's own process knows itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Who {
    pub agent: Option<String>,
    pub worker: Option<String>,
}

/// An entry of another session that meets a path or pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct Found<'a> {
    pub session: &'a str,
    pub holder: &'a Holder,
    pub lease: &'a Lease,
}

/// The table as stored: see the module's documentation. Members are written in this order,
/// the sessions last, so that [`Head::read`] stops before them.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Stored {
    #[serde(default)]
    pub version: u32,
    /// When each session's latest entry ends.
    #[serde(default)]
    pub ends: BTreeMap<String, i64>,
    /// Every glob a session holds, as `[pattern, session]`.
    #[serde(default)]
    pub globs: Vec<(String, String)>,
    /// Each session's [`Holder`], as raw JSON.
    #[serde(default)]
    pub sessions: BTreeMap<String, Box<RawValue>>,
}

/// The head of the stored table: what a tool call's check reads first.
#[derive(Debug, Default)]
pub struct Head {
    pub version: u32,
    pub ends: BTreeMap<String, i64>,
    pub globs: Vec<(String, String)>,
    /// The globs were read before the sessions: a table written out of order is not
    /// trusted for a "no".
    pub complete: bool,
}

/// Raised to stop reading at the sessions.
const STOP: &str = "orchestron: the head is read";

impl Head {
    /// Read the head of the stored table `text`, stopping where the sessions begin.
    pub fn read(text: &str) -> Result<Head, serde_json::Error> {
        use serde::de::{Deserializer as _, Error as _, IgnoredAny, MapAccess, Visitor};
        struct Fill<'a>(&'a mut Head);
        impl<'de> Visitor<'de> for Fill<'_> {
            type Value = ();
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("the lease table, an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    match key.as_ref() {
                        "version" => self.0.version = map.next_value()?,
                        "ends" => self.0.ends = map.next_value()?,
                        "globs" => {
                            self.0.globs = map.next_value()?;
                            self.0.complete = true;
                        }
                        "sessions" => return Err(A::Error::custom(STOP)),
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(())
            }
        }
        let mut head = Head::default();
        let mut deserializer = serde_json::Deserializer::from_str(text);
        match deserializer.deserialize_map(Fill(&mut head)) {
            Ok(()) => {
                head.complete = true;
                Ok(head)
            }
            Err(err) if err.to_string().starts_with(STOP) => Ok(head),
            Err(err) => Err(err),
        }
    }

    /// Whether a session other than `own` may hold `key` at `now`: one of its live globs
    /// matches it, or `text` (the whole table) holds the key as a JSON string somewhere. A
    /// "no" is certain; a "yes" is checked by parsing the sessions.
    pub fn may_hold(&self, text: &str, key: &str, own: &str, now: i64) -> bool {
        let live =
            |session: &str| session != own && self.ends.get(session).is_some_and(|end| *end > now);
        if !self.complete {
            return true;
        }
        let quoted = serde_json::to_string(key).unwrap_or_default();
        self.globs
            .iter()
            .any(|(pattern, session)| live(session) && glob_matches(pattern, key))
            || text.contains(&quoted)
    }
}

impl Stored {
    /// Decode every session's entries.
    pub fn decode(&self) -> Result<Table, serde_json::Error> {
        let mut sessions = BTreeMap::new();
        for (session, raw) in &self.sessions {
            sessions.insert(session.clone(), serde_json::from_str(raw.get())?);
        }
        Ok(Table {
            version: self.version,
            sessions,
        })
    }

    /// The stored form of `table`.
    pub fn encode(table: &Table) -> Result<Stored, serde_json::Error> {
        let mut stored = Stored {
            version: VERSION,
            ..Stored::default()
        };
        for (session, holder) in &table.sessions {
            stored.put(session, holder)?;
        }
        Ok(stored)
    }

    /// Store `holder` as `session`'s entries (removing the session when it has none),
    /// keeping `ends` and `globs` in step.
    fn put(&mut self, session: &str, holder: &Holder) -> Result<(), serde_json::Error> {
        self.globs.retain(|(_, holding)| holding != session);
        if holder.leases.is_empty() {
            self.sessions.remove(session);
            self.ends.remove(session);
            return Ok(());
        }
        let end = holder
            .leases
            .iter()
            .map(|lease| lease.until)
            .max()
            .unwrap_or(0);
        self.ends.insert(session.to_owned(), end);
        // Every explicit lease is in the head: a glob, or a plain path covering what is under
        // it, matches keys its text does not hold.
        for lease in &holder.leases {
            if lease.kind == Kind::Lease {
                self.globs.push((lease.path.clone(), session.to_owned()));
            }
        }
        self.sessions
            .insert(session.to_owned(), serde_json::value::to_raw_value(holder)?);
        Ok(())
    }

    /// Drop, unparsed, every session whose entries have all ended at `now`. Returns
    /// whether any went.
    pub fn drop_ended(&mut self, now: i64) -> bool {
        let ended: Vec<String> = self
            .ends
            .iter()
            .filter(|(_, end)| **end <= now)
            .map(|(session, _)| session.clone())
            .collect();
        // A session with entries but no end (an older or edited file) is kept.
        for session in &ended {
            self.forget(session);
        }
        !ended.is_empty()
    }

    /// Forget `session` unparsed. Returns whether it held anything.
    pub fn forget(&mut self, session: &str) -> bool {
        self.ends.remove(session);
        self.globs.retain(|(_, holding)| holding != session);
        self.sessions.remove(session).is_some()
    }

    /// Change `session`'s entries alone: parse them (none when it holds nothing), drop
    /// those ended at `now`, let `change` act, store them back. Other sessions are not
    /// parsed. Returns whether anything changed, and `change`'s result.
    pub fn with_holder<T>(
        &mut self,
        session: &str,
        now: i64,
        change: impl FnOnce(&mut Holder) -> (bool, T),
    ) -> Result<(bool, T), serde_json::Error> {
        let mut holder: Holder = match self.sessions.get(session) {
            Some(raw) => serde_json::from_str(raw.get())?,
            None => Holder::default(),
        };
        let before = holder.leases.len();
        holder.leases.retain(|lease| lease.live(now));
        let pruned = holder.leases.len() != before;
        let (changed, result) = change(&mut holder);
        if changed || pruned {
            self.version = VERSION;
            self.put(session, &holder)?;
        }
        Ok((changed || pruned, result))
    }
}

impl Holder {
    fn name(&mut self, who: &Who) {
        if who.agent.is_some() {
            self.agent.clone_from(&who.agent);
        }
        if who.worker.is_some() {
            self.worker.clone_from(&who.worker);
        }
    }

    /// Whether it touched `key` within [`TOUCH_RENEW_SECONDS`] with a touch that lasts to
    /// at least `until - TOUCH_RENEW_SECONDS`: writing again would change nothing that
    /// matters.
    pub fn fresh_touch(&self, key: &str, now: i64, until: i64) -> bool {
        self.leases.iter().any(|lease| {
            lease.kind == Kind::Touch
                && lease.path == key
                && lease.at > now - TOUCH_RENEW_SECONDS
                && lease.until >= until - TOUCH_RENEW_SECONDS
        })
    }

    /// Record an edit of `key` at `now`, lasting to `until`, for `item`.
    pub fn touch(&mut self, who: &Who, key: &str, item: Option<&str>, now: i64, until: i64) {
        self.name(who);
        if let Some(lease) = self
            .leases
            .iter_mut()
            .find(|lease| lease.kind == Kind::Touch && lease.path == key)
        {
            lease.at = now;
            lease.until = until;
            if item.is_some() {
                lease.item = item.map(str::to_owned);
            }
            return;
        }
        self.leases.push(Lease {
            path: key.to_owned(),
            kind: Kind::Touch,
            exclusive: false,
            item: item.map(str::to_owned),
            since: now,
            at: now,
            until,
        });
        let touches = self
            .leases
            .iter()
            .filter(|lease| lease.kind == Kind::Touch)
            .count();
        if touches > MAX_TOUCHES_PER_SESSION {
            let oldest = self
                .leases
                .iter()
                .enumerate()
                .filter(|(_, lease)| lease.kind == Kind::Touch)
                .min_by_key(|(_, lease)| lease.at)
                .map(|(index, _)| index);
            if let Some(index) = oldest {
                self.leases.remove(index);
            }
        }
    }
}

impl Table {
    /// Drop every entry that ended at `now`, and every session left without one. Returns
    /// whether anything went.
    pub fn prune(&mut self, now: i64) -> bool {
        let before: usize = self.count();
        for holder in self.sessions.values_mut() {
            holder.leases.retain(|lease| lease.live(now));
        }
        self.sessions.retain(|_, holder| !holder.leases.is_empty());
        self.count() != before
    }

    /// How many entries there are, live or not.
    pub fn count(&self) -> usize {
        self.sessions
            .values()
            .map(|holder| holder.leases.len())
            .sum()
    }

    fn holder(&mut self, session: &str, who: &Who) -> &mut Holder {
        let holder = self.sessions.entry(session.to_owned()).or_default();
        holder.name(who);
        holder
    }

    /// Record `session`'s edit of `key` at `now`, lasting to `until`.
    pub fn touch(
        &mut self,
        session: &str,
        who: &Who,
        key: &str,
        item: Option<&str>,
        now: i64,
        until: i64,
    ) {
        self.version = VERSION;
        self.holder(session, who).touch(who, key, item, now, until);
    }

    /// Take (or renew) `session`'s explicit lease on `pattern`, from `now` to `until`. Refused, changing nothing,
    /// when the session would hold more than [`MAX_LEASES_PER_SESSION`].
    pub fn acquire(
        &mut self,
        session: &str,
        who: &Who,
        pattern: &str,
        exclusive: bool,
        item: Option<&str>,
        (now, until): (i64, i64),
    ) -> Result<Lease, String> {
        self.version = VERSION;
        let holder = self.holder(session, who);
        if let Some(lease) = holder
            .leases
            .iter_mut()
            .find(|lease| lease.kind == Kind::Lease && lease.path == pattern)
        {
            lease.exclusive = exclusive;
            lease.at = now;
            lease.until = until;
            if item.is_some() {
                lease.item = item.map(str::to_owned);
            }
            return Ok(lease.clone());
        }
        let held = holder
            .leases
            .iter()
            .filter(|lease| lease.kind == Kind::Lease)
            .count();
        if held >= MAX_LEASES_PER_SESSION {
            return Err(format!(
                "the session already holds {MAX_LEASES_PER_SESSION} leases, the most one holds"
            ));
        }
        let lease = Lease {
            path: pattern.to_owned(),
            kind: Kind::Lease,
            exclusive,
            item: item.map(str::to_owned),
            since: now,
            at: now,
            until,
        };
        holder.leases.push(lease.clone());
        Ok(lease)
    }

    /// Release `session`'s explicit leases on `patterns` (all of its entries, touches
    /// too, when `patterns` is `None`). Returns what went.
    pub fn release(&mut self, session: &str, patterns: Option<&[String]>) -> Vec<Lease> {
        let Some(holder) = self.sessions.get_mut(session) else {
            return Vec::new();
        };
        let mut gone = Vec::new();
        holder.leases.retain(|lease| {
            let goes = match patterns {
                None => true,
                Some(patterns) => lease.kind == Kind::Lease && patterns.contains(&lease.path),
            };
            if goes {
                gone.push(lease.clone());
            }
            !goes
        });
        if holder.leases.is_empty() {
            self.sessions.remove(session);
        }
        gone
    }

    /// Take away every session's entries on `pattern`: a lease or touch whose pattern is
    /// the same text, or, when `pattern` is one path, one that covers it. What a person does
    /// to take a file anyway. Returns each entry that went with its session.
    pub fn force_release(&mut self, pattern: &str) -> Vec<(String, Lease)> {
        let literal = !is_glob(pattern);
        let mut gone = Vec::new();
        for (session, holder) in &mut self.sessions {
            holder.leases.retain(|lease| {
                let goes = lease.path == pattern
                    || (literal && (lease.covers(pattern) || glob_matches(pattern, &lease.path)));
                if goes {
                    gone.push((session.clone(), lease.clone()));
                }
                !goes
            });
        }
        self.sessions.retain(|_, holder| !holder.leases.is_empty());
        gone
    }

    /// The live entries of sessions other than `own` that cover the path `key`.
    pub fn covering<'a>(&'a self, key: &'a str, own: Option<&'a str>, now: i64) -> Vec<Found<'a>> {
        self.entries(own, now)
            .filter(|found| found.lease.covers(key))
            .collect()
    }

    /// The live entries of sessions other than `own` that meet `pattern`.
    pub fn meeting<'a>(&'a self, pattern: &Glob, own: Option<&'a str>, now: i64) -> Vec<Found<'a>> {
        self.entries(own, now)
            .filter(|found| found.lease.meets(pattern))
            .collect()
    }

    /// Every live entry of sessions other than `own`.
    pub fn entries<'a>(
        &'a self,
        own: Option<&'a str>,
        now: i64,
    ) -> impl Iterator<Item = Found<'a>> + 'a {
        self.sessions
            .iter()
            .filter(move |(session, _)| own != Some(session.as_str()))
            .flat_map(move |(session, holder)| {
                holder
                    .leases
                    .iter()
                    .filter(move |lease| lease.live(now))
                    .map(move |lease| Found {
                        session,
                        holder,
                        lease,
                    })
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "aaaaaaaa-0000-4000-8000-000000000001";
    const B: &str = "bbbbbbbb-0000-4000-8000-000000000002";

    fn who() -> Who {
        Who::default()
    }

    #[test]
    fn a_touch_is_renewed_in_place_and_never_seen_by_its_own_session() {
        let mut table = Table::default();
        table.touch(A, &who(), "src/x.txt", None, 100, 700);
        table.touch(A, &who(), "src/x.txt", Some("T-1"), 200, 800);
        let holder = &table.sessions[A];
        assert_eq!(holder.leases.len(), 1);
        assert_eq!(holder.leases[0].since, 100);
        assert_eq!(holder.leases[0].at, 200);
        assert_eq!(holder.leases[0].item.as_deref(), Some("T-1"));
        assert!(table.covering("src/x.txt", Some(A), 300).is_empty());
        assert_eq!(table.covering("src/x.txt", Some(B), 300).len(), 1);
        assert!(
            table.covering("src/x.txt", Some(B), 800).is_empty(),
            "ended"
        );
        assert!(table.sessions[A].fresh_touch("src/x.txt", 250, 850));
        assert!(!table.sessions[A].fresh_touch("src/x.txt", 261, 861));
    }

    #[test]
    fn touches_are_capped_oldest_first() {
        let mut table = Table::default();
        for i in 0..=MAX_TOUCHES_PER_SESSION as i64 {
            table.touch(A, &who(), &format!("f{i}"), None, i, 10_000);
        }
        let holder = &table.sessions[A];
        assert_eq!(holder.leases.len(), MAX_TOUCHES_PER_SESSION);
        assert!(!holder.leases.iter().any(|lease| lease.path == "f0"));
    }

    #[test]
    fn leases_cover_by_glob_and_release() {
        let mut table = Table::default();
        table
            .acquire(A, &who(), "src/auth/**", true, Some("T-2"), (100, 1_900))
            .unwrap();
        let found = table.covering("src/auth/login.rs", None, 200);
        assert_eq!(found.len(), 1);
        assert!(found[0].lease.exclusive);
        assert!(table.covering("src/billing.rs", None, 200).is_empty());
        assert_eq!(
            table
                .meeting(&Glob::parse("src/**/*.rs").unwrap(), None, 200)
                .len(),
            1
        );
        assert!(table.release(A, Some(&["src/other".to_owned()])).is_empty());
        assert_eq!(table.release(A, Some(&["src/auth/**".to_owned()])).len(), 1);
        assert!(table.sessions.is_empty());
    }

    #[test]
    fn force_release_takes_what_covers_a_path() {
        let mut table = Table::default();
        table
            .acquire(A, &who(), "src/**", true, None, (100, 1_900))
            .unwrap();
        table.touch(B, &who(), "src/x.txt", None, 100, 700);
        table.touch(B, &who(), "src/y.txt", None, 100, 700);
        let gone = table.force_release("src/x.txt");
        assert_eq!(gone.len(), 2);
        assert_eq!(table.count(), 1);
    }

    #[test]
    fn prune_drops_what_ended() {
        let mut table = Table::default();
        table.touch(A, &who(), "a", None, 100, 200);
        table.touch(B, &who(), "b", None, 100, 900);
        assert!(table.prune(500));
        assert_eq!(table.sessions.len(), 1);
        assert!(!table.prune(500));
    }

    #[test]
    fn the_stored_table_is_read_by_its_head_and_changed_one_session_at_a_time() {
        let mut table = Table::default();
        table.touch(A, &who(), "src/x.txt", None, 100, 700);
        table
            .acquire(B, &who(), "docs/**", false, None, (100, 1_900))
            .unwrap();
        let mut stored = Stored::encode(&table).unwrap();
        assert_eq!(stored.ends[A], 700);
        assert_eq!(stored.globs, vec![("docs/**".to_owned(), B.to_owned())]);
        let text = serde_json::to_string(&stored).unwrap();
        assert!(text.find("\"globs\"").unwrap() < text.find("\"sessions\"").unwrap());
        let head = Head::read(&text).unwrap();
        assert!(head.complete);
        assert!(head.may_hold(&text, "src/x.txt", B, 200), "A's touch");
        assert!(head.may_hold(&text, "docs/a.md", A, 200), "B's glob");
        assert!(!head.may_hold(&text, "docs/a.md", B, 200), "its own glob");
        assert!(!head.may_hold(&text, "src/free.txt", B, 200));
        assert!(
            !head.may_hold(&text, "docs/a.md", A, 2_000),
            "B's entries ended"
        );
        // A table written out of order is never trusted for a "no".
        let odd = r#"{"sessions":{},"globs":[]}"#;
        assert!(Head::read(odd).unwrap().may_hold(odd, "x", A, 0));

        let (changed, ()) = stored
            .with_holder(A, 200, |holder| {
                holder.touch(&who(), "src/y.txt", None, 200, 800);
                (true, ())
            })
            .unwrap();
        assert!(changed);
        assert_eq!(stored.ends[A], 800);
        assert_eq!(stored.decode().unwrap().sessions[A].leases.len(), 2);
        // Past 800 A's entries have all ended: dropped without parsing them.
        stored.sessions.insert(
            A.to_owned(),
            RawValue::from_string("\"not a holder\"".to_owned()).unwrap(),
        );
        assert!(stored.drop_ended(900));
        assert!(!stored.sessions.contains_key(A));
        assert!(stored.forget(B));
        assert!(stored.globs.is_empty() && stored.ends.is_empty());
    }

    #[test]
    fn the_document_round_trips_small() {
        let mut table = Table::default();
        table.touch(
            A,
            &Who {
                agent: Some("backend".into()),
                worker: None,
            },
            "src/x.txt",
            None,
            100,
            700,
        );
        let text = serde_json::to_string(&table).unwrap();
        assert_eq!(serde_json::from_str::<Table>(&text).unwrap(), table);
        assert!(!text.contains("exclusive"), "{text}");
    }
}
