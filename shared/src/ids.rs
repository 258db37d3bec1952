//! Typed identifiers. They serialize as plain JSON numbers; the newtypes keep a user id from being
//! passed where a session id is expected.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[cfg_attr(feature = "ts", derive(ts_rs::TS))]
        #[cfg_attr(feature = "openapi", schema(value_type = i64))]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// A user account.
    UserId
);
id_type!(
    /// A login session: one refresh-token family, from login until logout or revocation.
    SessionId
);
id_type!(
    /// A conversation: a team channel, a group room or a direct conversation.
    ConversationId
);
id_type!(
    /// A message, unique across all conversations.
    MessageId
);
id_type!(
    /// A team: members with roles, its channels and its invitations.
    TeamId
);
id_type!(
    /// An invitation to a team.
    InviteId
);
id_type!(
    /// A notification in one user's inbox.
    NotificationId
);
id_type!(
    /// A contact request from one user to another.
    ContactRequestId
);
id_type!(
    /// An uploaded file (attachment), before and after it is attached to a message.
    AttachmentId
);
