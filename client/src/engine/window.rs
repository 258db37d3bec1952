//! The timeline window: what a view shows of a conversation, kept by the engine and told to the
//! view as a stream of changes.
//!
//! Paging, merging, de-duplicating, trimming and jumping are rules of the product, not of one
//! view; when the React view did them itself every client had to repeat them, and pending sends
//! were told apart by sentinels. matrix-rust-sdk's `Timeline` with its `VectorDiff`s is the model:
//! the engine holds, per open conversation, the items shown (oldest first, pending and failed
//! sends at the end) and emits every change to them as an ordered list of [`WindowDiff`]s in
//! [`EngineEvent::Window`]. A view that applies them in order to its array holds exactly what the
//! engine holds ([`Engine::window`]); it never merges, sorts or trims.
//!
//! **How a change becomes diffs.** A window is a *range* — every message from `oldest` (a `seq`)
//! up to the newest, plus the pending sends — not a list edited by hand. After anything that may
//! have changed it (a message, edit, delete, reaction, a send queued, confirmed or refused, an
//! older page, a jump, a trim), the engine re-reads the range from the cache and compares it with
//! what it showed ([`diff`]). The cache is the truth (the engine's events are hints), so the
//! window cannot drift from it, and a missed or coalesced event costs nothing. A send being
//! confirmed is the same item: the server's message carries the send's `client_id`, so the
//! `Local` item becomes the `Sent` one in place (a [`WindowDiff::Set`]), never a removal and an
//! insertion.
//!
//! **Opening** shows the newest page (from the cache; the page is fetched first when the cache
//! lacks it and the connection is live) and pins the range at its oldest message, so newer
//! messages are added at the end and nothing already shown moves. **Loading older** extends the
//! range back by one page. **Jumping** to a message loads pages back until the message is in the
//! window, at most [`JUMP_PAGES_MAX`] pages of [`JUMP_PAGE`]: the window always reaches the newest
//! message, so there is one kind of window, and a jump is a run of older pages (one
//! [`WindowDiff::PushFront`]); reaching back to a `seq` (the first unread message) is the same.
//! **Back to the newest** narrows the range to the newest page again.
//!
//! **Following.** While the reader follows the newest messages (the view says so,
//! [`Engine::window_following`]; loading older or jumping stops it), the window keeps at most
//! `keep` confirmed messages ([`WindowBounds`]): a conversation left open for hours under steady
//! traffic holds a window, not everything that arrived. The dropped ones stay in the cache and come
//! back with [`Engine::window_load_older`].
//!
//! Changes are applied by one task per account (started with the sync loop) that listens to the
//! engine's events; it folds a burst of them into one re-read per window. All changes to a window,
//! from that task or from the operations here, happen under one lock, so its diffs are emitted in
//! the order they apply.

use super::{
    Engine, EngineError, EngineEvent, Inner, ItemId, Result, Timeline, TimelineItem, overlay,
    pending_items,
};
use jeco_shared::{ConversationId, MessageId};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::watch;

/// Messages loaded at a time by a jump.
const JUMP_PAGE: u32 = 200;
/// A jump loads at most this many pages before giving up (the message stays out of the window).
const JUMP_PAGES_MAX: u32 = 50;

/// How big a window is: what opening and loading older read, and the most confirmed messages kept
/// while the reader follows the newest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowBounds {
    /// Messages per page (opening, loading older).
    pub page: u32,
    /// Confirmed messages kept while following the newest (at least `page`).
    pub keep: u32,
}

impl Default for WindowBounds {
    fn default() -> Self {
        // The view's former constants (BENCHMARKS.md, desktop memory).
        Self {
            page: 50,
            keep: 150,
        }
    }
}

/// One change to a window's items, applied in order (matrix-rust-sdk's `VectorDiff`, reduced to
/// what a timeline needs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum WindowDiff {
    /// The window is these items now (it was opened).
    Reset {
        items: Vec<TimelineItem>,
        has_more_before: bool,
    },
    /// Older items, put before the first (an older page, a jump).
    PushFront { items: Vec<TimelineItem> },
    /// An item after the last (a new message, a pending send).
    PushBack { item: TimelineItem },
    /// An item put at `index`; those from `index` on move one along.
    Insert { index: u32, item: TimelineItem },
    /// The item at `index` changed (an edit, delete, reaction; a pending send confirmed or
    /// refused: the same message, in place).
    Set { index: u32, item: TimelineItem },
    /// The item at `index` is gone; those after it move one back.
    Remove { index: u32 },
    /// The first `count` items are gone (trimmed while following, back to the newest).
    RemoveFront { count: u32 },
    /// Whether older messages exist than the first item.
    HasMoreBefore { has_more_before: bool },
}

/// Applies `diffs` in order to `items` (what a view does; the tests check the engine with it).
pub fn apply(items: &mut Vec<TimelineItem>, has_more_before: &mut bool, diffs: &[WindowDiff]) {
    for d in diffs {
        match d {
            WindowDiff::Reset {
                items: all,
                has_more_before: more,
            } => {
                *items = all.clone();
                *has_more_before = *more;
            }
            WindowDiff::PushFront { items: older } => {
                items.splice(0..0, older.iter().cloned());
            }
            WindowDiff::PushBack { item } => items.push(item.clone()),
            WindowDiff::Insert { index, item } => items.insert(*index as usize, item.clone()),
            WindowDiff::Set { index, item } => items[*index as usize] = item.clone(),
            WindowDiff::Remove { index } => {
                items.remove(*index as usize);
            }
            WindowDiff::RemoveFront { count } => {
                items.drain(..*count as usize);
            }
            WindowDiff::HasMoreBefore {
                has_more_before: more,
            } => *has_more_before = *more,
        }
    }
}

/// Who an item is across its life: a send keeps its identity when the server confirms it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Sent(MessageId),
    Local(String),
}

fn key(item: &TimelineItem) -> Key {
    match &item.id {
        ItemId::Sent { id, .. } => Key::Sent(*id),
        ItemId::Local { client_id } => Key::Local(client_id.clone()),
    }
}

/// The diffs that turn `old` into `new`. Items are matched by identity (a confirmed send matches
/// its pending item through its `client_id`); leading removals become one
/// [`WindowDiff::RemoveFront`] and leading additions one [`WindowDiff::PushFront`], so trimming
/// and older pages are one diff each.
pub fn diff(old: &[TimelineItem], new: &[TimelineItem]) -> Vec<WindowDiff> {
    // A pending send confirmed since: its old key is the confirmed message's.
    let confirmed: HashMap<&str, MessageId> = new
        .iter()
        .filter_map(|i| match i.id {
            ItemId::Sent { id, .. } if !i.message.client_id.is_empty() => {
                Some((i.message.client_id.as_str(), id))
            }
            _ => None,
        })
        .collect();
    // (Not when `old` already shows that message: then the pending item is another entry.)
    let shown: HashSet<Key> = old.iter().map(key).collect();
    let old_key = |i: &TimelineItem| match &i.id {
        ItemId::Local { client_id } => confirmed
            .get(client_id.as_str())
            .map(|id| Key::Sent(*id))
            .filter(|k| !shown.contains(k))
            .unwrap_or_else(|| key(i)),
        ItemId::Sent { .. } => key(i),
    };
    let new_keys: Vec<Key> = new.iter().map(key).collect();
    let wanted: HashSet<&Key> = new_keys.iter().collect();
    let mut cur: Vec<(Key, &TimelineItem)> = old.iter().map(|i| (old_key(i), i)).collect();
    let mut diffs = Vec::new();

    let lead = cur.iter().take_while(|(k, _)| !wanted.contains(k)).count();
    if lead > 0 {
        diffs.push(WindowDiff::RemoveFront { count: lead as u32 });
        cur.drain(..lead);
    }
    for i in (0..cur.len()).rev() {
        if !wanted.contains(&cur[i].0) {
            diffs.push(WindowDiff::Remove { index: i as u32 });
            cur.remove(i);
        }
    }
    let kept: HashSet<&Key> = cur.iter().map(|(k, _)| k).collect();
    let front = new_keys.iter().take_while(|k| !kept.contains(k)).count();
    if front > 0 && !cur.is_empty() {
        diffs.push(WindowDiff::PushFront {
            items: new[..front].to_vec(),
        });
        let mut head: Vec<(Key, &TimelineItem)> = new_keys[..front]
            .iter()
            .cloned()
            .zip(&new[..front])
            .collect();
        head.append(&mut cur);
        cur = head;
    }
    for (i, (k, item)) in new_keys.iter().zip(new).enumerate() {
        if i < cur.len() && cur[i].0 == *k {
            if cur[i].1 != item {
                diffs.push(WindowDiff::Set {
                    index: i as u32,
                    item: item.clone(),
                });
                cur[i].1 = item;
            }
            continue;
        }
        // Moved (a confirmed send placed by its seq among others): out, then in at its place.
        if let Some(j) = cur.iter().skip(i + 1).position(|(c, _)| c == k) {
            diffs.push(WindowDiff::Remove {
                index: (i + 1 + j) as u32,
            });
            cur.remove(i + 1 + j);
        }
        if i == cur.len() {
            diffs.push(WindowDiff::PushBack { item: item.clone() });
        } else {
            diffs.push(WindowDiff::Insert {
                index: i as u32,
                item: item.clone(),
            });
        }
        cur.insert(i, (k.clone(), item));
    }
    while cur.len() > new.len() {
        diffs.push(WindowDiff::Remove {
            index: (cur.len() - 1) as u32,
        });
        cur.pop();
    }
    diffs
}

/// One open window.
#[derive(Debug)]
pub(crate) struct Window {
    /// The `seq` of the oldest message the range holds (`None`: the newest page, the conversation
    /// being empty so far).
    oldest: Option<i64>,
    items: Vec<TimelineItem>,
    has_more_before: bool,
    /// The reader follows the newest messages: the window is trimmed to `keep`.
    following: bool,
}

/// The open windows of the signed-in account.
pub(crate) type Windows = HashMap<ConversationId, Window>;

impl Engine {
    fn windows(&self) -> std::sync::MutexGuard<'_, Windows> {
        self.inner.windows.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The range from `oldest` (`None`: the newest page) to the newest message, with pending sends
    /// at the end and unconfirmed changes laid over.
    fn read_range(&self, id: ConversationId, oldest: Option<i64>) -> Result<Timeline> {
        let Some(oldest) = oldest else {
            return self.timeline(id, None, self.inner.window_bounds.page);
        };
        let (me, cache) = self.account()?;
        let outbox = cache.outbox(Some(id))?;
        let mut items: Vec<TimelineItem> = cache
            .messages_from(id, oldest)?
            .into_iter()
            .map(|m| overlay(m, &outbox, me.id))
            .collect();
        items.extend(pending_items(&outbox, id, me.id));
        let first = items.iter().find_map(TimelineItem::seq).unwrap_or(oldest);
        let has_more_before = cache.has_more_before(id, first.min(oldest))?;
        Ok(Timeline {
            items,
            has_more_before,
        })
    }

    /// Re-reads `window` (with its range changed by `change`), trims it when following, and emits
    /// what changed. Called with the windows lock held, so diffs go out in the order they apply.
    fn refresh(
        &self,
        id: ConversationId,
        window: &mut Window,
        change: impl FnOnce(&mut Window),
    ) -> Result<()> {
        change(window);
        let mut fresh = self.read_range(id, window.oldest)?;
        // Pin the range: what is shown stays shown as newer messages arrive.
        if window.oldest.is_none() {
            window.oldest = fresh.items.iter().find_map(TimelineItem::seq);
        }
        let keep = self
            .inner
            .window_bounds
            .keep
            .max(self.inner.window_bounds.page) as usize;
        let confirmed: Vec<i64> = fresh.items.iter().filter_map(TimelineItem::seq).collect();
        if window.following && confirmed.len() > keep {
            let from = confirmed[confirmed.len() - keep];
            fresh.items.retain(|i| i.seq().is_none_or(|s| s >= from));
            fresh.has_more_before = true;
            window.oldest = Some(from);
        }
        let mut diffs = diff(&window.items, &fresh.items);
        if fresh.has_more_before != window.has_more_before {
            diffs.push(WindowDiff::HasMoreBefore {
                has_more_before: fresh.has_more_before,
            });
        }
        window.items = fresh.items;
        window.has_more_before = fresh.has_more_before;
        if !diffs.is_empty() {
            self.inner.emit(EngineEvent::Window {
                conversation_id: id,
                diffs,
            });
        }
        Ok(())
    }

    /// Changes the open window of `id` (re-reading it); `false` when it is not open.
    fn change_window(&self, id: ConversationId, change: impl FnOnce(&mut Window)) -> Result<bool> {
        let mut windows = self.windows();
        let Some(window) = windows.get_mut(&id) else {
            return Ok(false);
        };
        self.refresh(id, window, change)?;
        Ok(true)
    }

    /// Opens (or re-opens) the window of a conversation on its newest page, following the newest,
    /// and emits it whole ([`WindowDiff::Reset`]). The page comes from the cache; when the cache
    /// lacks it and the connection is live, it is fetched first. Returns what the window shows.
    pub async fn open_window(&self, id: ConversationId) -> Result<Timeline> {
        let page = self.inner.window_bounds.page;
        self.load_timeline(id, None, page).await?;
        let mut windows = self.windows();
        let fresh = self.read_range(id, None)?;
        let window = Window {
            oldest: fresh.items.iter().find_map(TimelineItem::seq),
            items: fresh.items.clone(),
            has_more_before: fresh.has_more_before,
            following: true,
        };
        windows.insert(id, window);
        self.inner.emit(EngineEvent::Window {
            conversation_id: id,
            diffs: vec![WindowDiff::Reset {
                items: fresh.items.clone(),
                has_more_before: fresh.has_more_before,
            }],
        });
        Ok(fresh)
    }

    /// Closes the window of a conversation: its changes are no longer emitted.
    pub fn close_window(&self, id: ConversationId) {
        self.windows().remove(&id);
    }

    /// What the window of `id` shows now, if it is open.
    pub fn window(&self, id: ConversationId) -> Option<Timeline> {
        self.windows().get(&id).map(|w| Timeline {
            items: w.items.clone(),
            has_more_before: w.has_more_before,
        })
    }

    /// The view says whether the reader follows the newest messages (is at the bottom). While so,
    /// the window is trimmed to [`WindowBounds::keep`].
    pub fn window_following(&self, id: ConversationId, following: bool) -> Result<()> {
        self.change_window(id, |w| w.following = following)?;
        Ok(())
    }

    /// The oldest `seq` shown and whether older messages exist, for an open window.
    fn window_start(&self, id: ConversationId) -> Result<(Option<i64>, bool)> {
        let windows = self.windows();
        let w = windows.get(&id).ok_or(EngineError::UnknownConversation)?;
        Ok((
            w.items.iter().find_map(TimelineItem::seq).or(w.oldest),
            w.has_more_before,
        ))
    }

    /// Loads one page of older messages into the window (a [`WindowDiff::PushFront`]); stops
    /// following the newest. Returns whether older messages remain.
    pub async fn window_load_older(&self, id: ConversationId) -> Result<bool> {
        let (start, more) = self.window_start(id)?;
        let Some(start) = start.filter(|_| more) else {
            return Ok(false);
        };
        let page = self
            .load_timeline(id, Some(start), self.inner.window_bounds.page)
            .await?;
        let to = page
            .items
            .iter()
            .find_map(TimelineItem::seq)
            .unwrap_or(start);
        self.extend_to(id, to)
    }

    /// Brings message `message` into the window, loading older pages until it is there (at most
    /// [`JUMP_PAGES_MAX`] of [`JUMP_PAGE`]); stops following the newest. Returns its `seq` when it
    /// is in the timeline window now; `None` when it is unknown, kept in its thread, or further
    /// back than a jump goes.
    pub async fn window_jump(&self, id: ConversationId, message: MessageId) -> Result<Option<i64>> {
        let Some(target) = self.message(id, message).await? else {
            return Ok(None);
        };
        if target.thread_only {
            return Ok(None);
        }
        self.window_reach(id, target.seq).await?;
        let shown = self.window(id).is_some_and(|w| {
            w.items
                .iter()
                .any(|i| matches!(i.id, ItemId::Sent { id, .. } if id == message))
        });
        Ok(shown.then_some(target.seq))
    }

    /// Loads older pages into the window until it reaches back to `seq` (at most
    /// [`JUMP_PAGES_MAX`] of [`JUMP_PAGE`]: the first unread message, a jump); stops following the
    /// newest. Returns whether the window reaches `seq` now (or history starts after it).
    pub async fn window_reach(&self, id: ConversationId, seq: i64) -> Result<bool> {
        let (start, mut more) = self.window_start(id)?;
        let Some(mut start) = start else {
            return Ok(true);
        };
        let mut pages = 0;
        while start > seq && more && pages < JUMP_PAGES_MAX {
            let page = self.load_timeline(id, Some(start), JUMP_PAGE).await?;
            pages += 1;
            more = page.has_more_before;
            match page.items.iter().find_map(TimelineItem::seq) {
                Some(first) if first < start => start = first,
                _ => break,
            }
        }
        let more = self.extend_to(id, start)?;
        Ok(start <= seq || !more)
    }

    /// Extends the range of the window back to `seq` and stops following.
    /// Returns whether older messages remain.
    fn extend_to(&self, id: ConversationId, seq: i64) -> Result<bool> {
        let mut windows = self.windows();
        let window = windows
            .get_mut(&id)
            .ok_or(EngineError::UnknownConversation)?;
        self.refresh(id, window, |w| {
            w.following = false;
            w.oldest = Some(w.oldest.map_or(seq, |o| o.min(seq)));
        })?;
        Ok(window.has_more_before)
    }

    /// Back to the newest page, following the newest (older items leave the window).
    pub fn window_newest(&self, id: ConversationId) -> Result<()> {
        if !self.change_window(id, |w| {
            w.following = true;
            w.oldest = None;
        })? {
            return Err(EngineError::UnknownConversation);
        }
        Ok(())
    }

    /// For a listener of `events` that fell behind (`RecvError::Lagged`), so lost some windows'
    /// diffs: the events still queued in `events` with the window diffs dropped, then a `Reset`
    /// of every open window. Diffs are emitted under the windows lock, which this holds while it
    /// drains and reads, so no diff from before a `Reset` follows it and none after it is lost.
    pub fn window_resync(
        &self,
        events: &mut tokio::sync::broadcast::Receiver<EngineEvent>,
    ) -> Vec<EngineEvent> {
        use tokio::sync::broadcast::error::TryRecvError;
        let windows = self.windows();
        let mut out = Vec::new();
        loop {
            match events.try_recv() {
                Ok(EngineEvent::Window { .. }) | Err(TryRecvError::Lagged(_)) => {}
                Ok(other) => out.push(other),
                Err(TryRecvError::Empty | TryRecvError::Closed) => break,
            }
        }
        out.extend(windows.iter().map(|(id, w)| EngineEvent::Window {
            conversation_id: *id,
            diffs: vec![WindowDiff::Reset {
                items: w.items.clone(),
                has_more_before: w.has_more_before,
            }],
        }));
        out
    }

    /// Re-reads the windows of `ids` (all open ones when `None`).
    fn refresh_windows(&self, ids: Option<&HashSet<ConversationId>>) {
        let mut windows = self.windows();
        for (id, window) in windows.iter_mut() {
            if ids.is_some_and(|ids| !ids.contains(id)) {
                continue;
            }
            if let Err(e) = self.refresh(*id, window, |_| {}) {
                tracing::debug!(error = %e, conversation = id.0, "window not re-read");
            }
        }
    }
}

/// The conversation whose timeline an event may have changed.
fn changed(event: &EngineEvent) -> Option<ConversationId> {
    match event {
        EngineEvent::TimelineChanged {
            conversation_id, ..
        }
        | EngineEvent::OutboxRemoved {
            conversation_id, ..
        } => Some(*conversation_id),
        EngineEvent::Outbox(item) => Some(item.conversation_id),
        _ => None,
    }
}

/// Keeps the open windows of an account up to date until `stop`: every event that may change a
/// timeline re-reads its window; a burst of events is one re-read per window, and a listener that
/// fell behind re-reads them all.
pub(crate) async fn run(inner: Arc<Inner>, mut stop: watch::Receiver<bool>) {
    let engine = Engine { inner };
    let mut events = engine.subscribe();
    loop {
        let first = tokio::select! {
            _ = stop.changed() => return,
            e = events.recv() => e,
        };
        let mut dirty = HashSet::new();
        let mut all = false;
        let mut next = Some(first);
        while let Some(event) = next {
            match event {
                Ok(e) => dirty.extend(changed(&e)),
                Err(RecvError::Lagged(_)) => all = true,
                Err(RecvError::Closed) => return,
            }
            next = match events.try_recv() {
                Ok(e) => Some(Ok(e)),
                Err(tokio::sync::broadcast::error::TryRecvError::Lagged(n)) => {
                    Some(Err(RecvError::Lagged(n)))
                }
                Err(_) => None,
            };
        }
        if *stop.borrow() {
            return;
        }
        if all {
            engine.refresh_windows(None);
        } else if !dirty.is_empty() {
            engine.refresh_windows(Some(&dirty));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::ItemState;
    use jeco_shared::messages::Message;
    use jeco_shared::{ConversationId, UserId};
    use proptest::prelude::*;

    fn sent(id: i64, text: &str) -> TimelineItem {
        let mut m = Message::new(
            MessageId(id),
            ConversationId(1),
            id,
            UserId(1),
            format!("c{id}"),
            text.into(),
            "2026-01-01T00:00:00Z".into(),
        );
        m.seq = id;
        TimelineItem::sent(m)
    }

    fn local(client: i64) -> TimelineItem {
        TimelineItem {
            id: ItemId::Local {
                client_id: format!("c{client}"),
            },
            message: Message::new(
                MessageId(0),
                ConversationId(1),
                0,
                UserId(1),
                format!("c{client}"),
                "pending".into(),
                "2026-01-01T00:00:00Z".into(),
            ),
            state: ItemState::Pending,
        }
    }

    fn check(old: &[TimelineItem], new: &[TimelineItem]) -> Vec<WindowDiff> {
        let diffs = diff(old, new);
        let mut applied = old.to_vec();
        let mut more = false;
        apply(&mut applied, &mut more, &diffs);
        assert_eq!(applied, new);
        diffs
    }

    #[test]
    fn a_confirmed_send_is_set_in_place() {
        let old = vec![sent(1, "a"), local(2)];
        let new = vec![sent(1, "a"), sent(2, "pending")];
        assert_eq!(
            check(&old, &new),
            vec![WindowDiff::Set {
                index: 1,
                item: sent(2, "pending")
            }]
        );
    }

    #[test]
    fn trimming_and_older_pages_are_one_diff() {
        let all: Vec<_> = (1..=10).map(|i| sent(i, "x")).collect();
        assert_eq!(
            check(&all, &all[4..]),
            vec![WindowDiff::RemoveFront { count: 4 }]
        );
        assert_eq!(
            check(&all[4..], &all),
            vec![WindowDiff::PushFront {
                items: all[..4].to_vec()
            }]
        );
        let mut grown = all.clone();
        grown.push(sent(11, "y"));
        assert_eq!(
            check(&all, &grown),
            vec![WindowDiff::PushBack {
                item: sent(11, "y")
            }]
        );
    }

    /// A window as a random range of messages, some edited, and pending sends, some confirmed.
    fn timeline() -> impl Strategy<Value = Vec<TimelineItem>> {
        (
            proptest::collection::btree_map(1i64..40, 0u8..3, 0..20),
            proptest::collection::btree_set(40i64..50, 0..4),
        )
            .prop_map(|(messages, pending)| {
                let mut items: Vec<_> = messages
                    .into_iter()
                    .map(|(id, text)| sent(id, &text.to_string()))
                    .collect();
                items.extend(pending.into_iter().map(local));
                items
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        /// Any window turned into any other by its diffs is exactly that other one, including a
        /// pending send that is now confirmed (ids 40..50 appear as `Local` in one and may appear
        /// as `Sent` in the other).
        #[test]
        fn diffs_turn_any_window_into_any_other(
            old in timeline(),
            new in timeline(),
            confirm in proptest::collection::btree_set(40i64..50, 0..4),
            also_old in proptest::collection::btree_set(40i64..50, 0..3),
        ) {
            // Old may already show some sends confirmed while their pending item is still there.
            let mut old = old;
            let first_pending = old.iter().position(|i| i.seq().is_none()).unwrap_or(old.len());
            old.splice(first_pending..first_pending, also_old.iter().map(|&c| sent(c, "pending")));
            let mut new: Vec<TimelineItem> = new
                .into_iter()
                .filter(|i| !matches!(&i.id, ItemId::Local { client_id } if confirm.contains(&client_id[1..].parse::<i64>().unwrap())))
                .collect();
            let first_pending = new.iter().position(|i| i.seq().is_none()).unwrap_or(new.len());
            let confirmed: Vec<_> = confirm.iter().map(|&c| sent(c, "pending")).collect();
            new.splice(first_pending..first_pending, confirmed);
            let diffs = diff(&old, &new);
            let mut applied = old.clone();
            let mut more = false;
            apply(&mut applied, &mut more, &diffs);
            prop_assert_eq!(applied, new);
        }
    }
}
