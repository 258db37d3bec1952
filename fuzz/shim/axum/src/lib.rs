//! The one item of axum that `server/src/gateway/frames.rs` names (to encode outgoing frames),
//! so the fuzz build compiles that file without the HTTP stack.

pub mod extract {
    pub mod ws {
        /// A WebSocket message (text only, which is all `frames::encode` makes).
        pub struct Message(pub String);

        impl Message {
            pub fn text(text: impl Into<String>) -> Self {
                Self(text.into())
            }
        }
    }
}
