//! [`SearchStore`] on PostgreSQL.

use super::PgStorage;
use crate::search_query::TextQuery;
use crate::storage::StorageError;
use crate::storage::messages::MessageRecord;
use crate::storage::search::*;
use async_trait::async_trait;
use jeco_shared::{ConversationId, MessageId, UserId};

#[async_trait]
impl SearchStore for PgStorage {
    async fn search_messages(
        &self,
        _search: MessageSearch,
    ) -> Result<Vec<SearchHitRecord>, StorageError> {
        Err(super::not_yet("search_messages"))
    }
}
