//! What a channel's name and topic may be, and how a taken name is answered.

use crate::services::ServiceError;
use crate::storage::StorageError;
use jeco_shared::conversations::NAME_MAX;
use jeco_shared::teams::TOPIC_MAX;

/// A topic as stored: trimmed, `None` when empty.
pub fn valid_topic(topic: &str) -> Result<Option<String>, ServiceError> {
    let topic = topic.trim();
    if topic.chars().count() > TOPIC_MAX {
        return Err(ServiceError::field(
            "topic",
            format!("must be at most {TOPIC_MAX} characters"),
        ));
    }
    Ok((!topic.is_empty()).then(|| topic.to_owned()))
}

/// A channel name as stored: a clean name ([`crate::names::clean`]) without a leading `#`.
/// Unique within the team by [`crate::names::uniqueness_key`] (case and look-alikes folded).
pub fn valid_channel_name(name: &str) -> Result<String, ServiceError> {
    let name = name.trim().trim_start_matches('#');
    crate::names::clean(name, NAME_MAX).map_err(|p| ServiceError::field("name", p))
}

/// A storage conflict on creating or renaming a channel: the team has a channel of that name.
pub fn name_conflict(e: StorageError, name: &str) -> ServiceError {
    match e {
        StorageError::Conflict => ServiceError::Conflict(format!(
            "a channel named #{name} already exists in this team"
        )),
        other => other.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_topics_as_stored() {
        assert_eq!(valid_channel_name("  #random ").unwrap(), "random");
        assert!(valid_channel_name("#").is_err());
        assert_eq!(valid_topic("  ").unwrap(), None);
        assert_eq!(valid_topic(" hi ").unwrap().as_deref(), Some("hi"));
        assert!(valid_topic(&"x".repeat(TOPIC_MAX + 1)).is_err());
        assert!(matches!(
            name_conflict(StorageError::Conflict, "general"),
            ServiceError::Conflict(m) if m.contains("#general")
        ));
    }
}
