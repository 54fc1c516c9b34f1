//! Property: whatever sequence of ordinary operations people and agents run on the tracker,
//! no item reaches a state the lifecycle table forbids, and the fields the lifecycle keeps
//! in step (completion time, progress, blocked reason, open dependencies, readiness) agree
//! with the status. Forced moves are allowed anything, and must say so in the history.

use std::time::Duration;

use orchestron_core::config::Config;
use orchestron_core::tracker::model::{Kind, Priority, Status, next_statuses};
use orchestron_core::tracker::tasks::{self, Changes, CheckpointChange, NewItem};
use orchestron_core::{Clock, Context, ErrorKind, Settings};
use proptest::prelude::*;

const ITEMS: usize = 4;

#[derive(Debug, Clone)]
enum Op {
    Start(usize),
    Complete(usize),
    Approve(usize),
    Release(usize),
    Move(usize, Status, bool),
    Block(usize),
    Cancel(usize),
    Depend(usize, usize),
    Progress(usize, u8),
    Checkpoint(usize, bool),
    Next,
}

fn status() -> impl Strategy<Value = Status> {
    prop_oneof![
        Just(Status::Backlog),
        Just(Status::Todo),
        Just(Status::InProgress),
        Just(Status::InReview),
        Just(Status::Testing),
        Just(Status::Blocked),
        Just(Status::Done),
        Just(Status::Cancelled),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let item = 0..ITEMS;
    prop_oneof![
        3 => item.clone().prop_map(Op::Start),
        3 => item.clone().prop_map(Op::Complete),
        2 => item.clone().prop_map(Op::Approve),
        1 => item.clone().prop_map(Op::Release),
        // Mostly ordinary moves; now and then a person's `--force`.
        4 => (item.clone(), status(), prop::bool::weighted(0.1))
            .prop_map(|(i, s, force)| Op::Move(i, s, force)),
        1 => item.clone().prop_map(Op::Block),
        1 => item.clone().prop_map(Op::Cancel),
        2 => (item.clone(), item.clone()).prop_map(|(a, b)| Op::Depend(a, b)),
        1 => (item.clone(), 0u8..=100).prop_map(|(i, p)| Op::Progress(i, p)),
        1 => (item.clone(), any::<bool>()).prop_map(|(i, done)| Op::Checkpoint(i, done)),
        1 => Just(Op::Next),
    ]
}

fn context(root: &std::path::Path, review: bool, testing: bool) -> Context {
    let mut config = Config::default();
    config.tracker.require_review = review;
    config.tracker.require_testing = testing;
    Context::new(Settings {
        state_root: root.to_path_buf(),
        config,
        default_project: "props".into(),
        actor: Some("s-props".into()),
        lock_timeout: Duration::from_secs(5),
        durability: None,
        test_locks: Default::default(),
        clock: Clock::Fixed("2026-12-01T10:00:00Z".parse().unwrap()),
        id_seed: Some("props".into()),
    })
}

fn run(cx: &Context, ids: &[String], op: &Op) -> orchestron_core::Result<()> {
    match op {
        Op::Start(i) => tasks::start(cx, &ids[*i], false).map(drop),
        Op::Complete(i) => tasks::complete(cx, &ids[*i], false, None).map(drop),
        Op::Approve(i) => tasks::approve(cx, &ids[*i], None).map(drop),
        Op::Release(i) => tasks::release(cx, &ids[*i]).map(drop),
        Op::Move(i, to, force) => tasks::update(
            cx,
            &ids[*i],
            &Changes {
                status: Some(*to),
                force: *force,
                reason: (*to == Status::Blocked).then(|| "waiting".to_owned()),
                ..Changes::default()
            },
        )
        .map(drop),
        Op::Block(i) => tasks::update(
            cx,
            &ids[*i],
            &Changes {
                status: Some(Status::Blocked),
                reason: Some("a question".into()),
                ..Changes::default()
            },
        )
        .map(drop),
        Op::Cancel(i) => tasks::delete(cx, &ids[*i], false, false).map(drop),
        Op::Depend(a, b) => tasks::depend(cx, &ids[*a], &ids[*b]).map(drop),
        Op::Progress(i, p) => tasks::set_progress(cx, &ids[*i], *p).map(drop),
        Op::Checkpoint(i, done) => {
            let text = "acceptance".to_owned();
            let change = if *done {
                CheckpointChange::DoneText(text)
            } else {
                CheckpointChange::Add(text)
            };
            tasks::checkpoint(cx, &ids[*i], &change).map(drop)
        }
        Op::Next => tasks::next(cx, None, true, None, &[]).map(drop),
    }
}

fn check(cx: &Context, ids: &[String], review: bool, testing: bool) -> Result<(), TestCaseError> {
    let workflow = cx.workflow();
    let ready: Vec<String> = tasks::ready(cx, None)
        .unwrap()
        .into_iter()
        .map(|view| view.item.id)
        .collect();
    for id in ids {
        let detail = tasks::show(cx, id).unwrap();
        let item = &detail.view.item;
        // The history is a chain of moves the table allows, unless a person forced one.
        let mut at = None;
        for event in tasks::history(cx, id).unwrap() {
            if event.what == "created" {
                at = Some(Status::Todo);
            }
            if event.what != "status" {
                continue;
            }
            let from: Status = event.detail["from"].as_str().unwrap().parse().unwrap();
            let to: Status = event.detail["to"].as_str().unwrap().parse().unwrap();
            let forced = event.detail["forced"].as_bool().unwrap();
            prop_assert_eq!(Some(from), at, "{}: the history is not a chain", id);
            if !forced {
                prop_assert!(
                    next_statuses(from, workflow).contains(&to),
                    "{id}: {from} -> {to} is not in the table (review {review}, testing {testing})"
                );
            }
            at = Some(to);
        }
        prop_assert_eq!(at, Some(item.status), "{}: the history ends elsewhere", id);
        // The fields the lifecycle keeps in step with the status.
        prop_assert_eq!(
            item.completed_at.is_some(),
            item.status == Status::Done,
            "{}: completion time and status disagree",
            id
        );
        if item.status == Status::Done {
            prop_assert_eq!(item.progress, 100);
        }
        if item.status != Status::Blocked {
            prop_assert!(
                item.blocked_reason.is_none(),
                "{id}: a reason outside BLOCKED"
            );
        }
        if matches!(item.status, Status::Todo | Status::Backlog) {
            prop_assert!(item.session.is_none(), "{id}: a claim on unstarted work");
        }
        // Readiness is the rule applied to the real dependencies.
        let open_deps = detail
            .depends_on
            .iter()
            .filter(|dep| dep.status != Status::Done)
            .count();
        let is_ready = item.status == Status::Todo && open_deps == 0;
        prop_assert_eq!(ready.contains(id), is_ready, "{}: readiness", id);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn the_lifecycle_never_reaches_a_state_the_table_forbids(
        review in any::<bool>(),
        testing in any::<bool>(),
        ops in prop::collection::vec(op(), 1..40),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let cx = context(dir.path(), review, testing);
        let ids: Vec<String> = (0..ITEMS)
            .map(|n| {
                tasks::create(
                    &cx,
                    &NewItem {
                        kind: Kind::Task,
                        title: format!("item {n}"),
                        description: String::new(),
                        status: Status::Todo,
                        priority: Priority::Medium,
                        estimate: None,
                        assignee: None,
                        labels: Vec::new(),
                        files: Vec::new(),
                        parent: None,
                    },
                )
                .unwrap()
                .item
                .id
            })
            .collect();
        for op in &ops {
            if let Err(err) = run(&cx, &ids, op) {
                // Refusals are ordinary outcomes; a fault is not.
                prop_assert!(
                    matches!(err.kind(), ErrorKind::Invalid | ErrorKind::Conflict),
                    "{op:?} failed with {err}"
                );
            }
            check(&cx, &ids, review, testing)?;
        }
    }
}
