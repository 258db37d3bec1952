//! User profiles (`/api/v1/users/*`).

use crate::ids::UserId;
use serde::{Deserialize, Serialize};

/// Largest bio, in characters.
pub const BIO_MAX: usize = 500;
/// Largest status text, in characters.
pub const STATUS_TEXT_MAX: usize = 100;
/// Default and largest page size for user listings.
pub const USER_PAGE_DEFAULT: u32 = 20;
pub const USER_PAGE_MAX: u32 = 100;

/// A user as others see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct User {
    pub id: UserId,
    /// Lowercase, unique.
    pub username: String,
    pub display_name: Option<String>,
    pub bio: Option<String>,
    /// A short status line such as "in a meeting".
    pub status_text: Option<String>,
    /// Server administrator.
    pub is_admin: bool,
    /// A server admin deactivated the account: it cannot sign in, but its messages stay and show
    /// who wrote them. Absent from older servers' answers, where it means `false`.
    #[serde(default)]
    pub deactivated: bool,
    /// RFC 3339 UTC timestamp.
    pub created_at: String,
    /// Version of the profile picture (changes when it does), absent when there is none. The
    /// picture is `GET /api/v1/users/{id}/avatar`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar: Option<String>,
}

/// `PATCH /api/v1/users/me`. Absent fields are left alone; `null` or `""` clears a field.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct UpdateProfileRequest {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "double_option"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    #[cfg_attr(feature = "ts", ts(optional, type = "string | null"))]
    pub display_name: Option<Option<String>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "double_option"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    #[cfg_attr(feature = "ts", ts(optional, type = "string | null"))]
    pub bio: Option<Option<String>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "double_option"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    #[cfg_attr(feature = "ts", ts(optional, type = "string | null"))]
    pub status_text: Option<Option<String>>,
}

/// One page of users. Pass `next_cursor` back as `cursor` for the next page; `null` means the end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct UserPage {
    pub items: Vec<User>,
    pub next_cursor: Option<String>,
}

/// Tells "field absent" (`None`) from "field set to null" (`Some(None)`).
mod double_option {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<Option<String>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(inner) => inner.serialize(s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Option<String>>, D::Error> {
        Option::<String>::deserialize(d).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_tells_absent_from_null() {
        let p: UpdateProfileRequest =
            serde_json::from_str(r#"{"bio": null, "status_text": "hi"}"#).unwrap();
        assert_eq!(p.display_name, None);
        assert_eq!(p.bio, Some(None));
        assert_eq!(p.status_text, Some(Some("hi".into())));
        assert!(serde_json::from_str::<UpdateProfileRequest>(r#"{"nope": 1}"#).is_err());
    }
}
