//! The product's rules about stored state, as plain functions of facts.
//!
//! Some decisions have to be made *inside* a storage transaction, on facts read in that same
//! transaction: whether a send is admitted, whether an invitation code still admits someone, who a
//! message notifies. If each backend wrote those rules in its own SQL, a second backend would have
//! to copy them and the copies would drift. So the rule lives here, once, as a pure function; a
//! backend reads the facts it names inside its transaction, calls the function, and stores what it
//! answers. Backends only store and fetch.
//!
//! Nothing here does I/O or depends on a backend or on another service: this is the bottom of the
//! services' graph, beside [`super::render`].

pub mod channels;
pub mod invites;
pub mod notifying;
pub mod sending;
pub mod teams;
