//! The bytes of media, behind the `object_store` crate: a directory on the local disk by default,
//! any S3-compatible bucket by configuration. Objects are named by content — `blobs/<sha256>` and
//! `thumbs/<sha256>` — so identical files are stored once and an object never changes once
//! written; nothing user-supplied (file names, ids) ever becomes part of a path.

use crate::config::{Config, MediaBackend};
use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use object_store::path::Path as ObjectPath;
use object_store::{GetOptions, GetRange, ObjectStore, PutPayload, WriteMultipart};
use std::ops::Range;
use std::sync::Arc;
use tokio::io::AsyncReadExt;

/// Files up to this size are stored with one PUT; larger ones as a multipart upload.
const SINGLE_PUT_MAX: u64 = 8 * 1024 * 1024;
/// Part size of multipart uploads (S3 requires at least 5 MiB except for the last part).
const PART_BYTES: usize = 8 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("media store: {0}")]
    Store(#[from] object_store::Error),
    #[error("media file: {0}")]
    Io(#[from] std::io::Error),
}

impl BlobError {
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::Store(object_store::Error::NotFound { .. }))
    }
}

/// Which object of a blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rendition {
    Original,
    Thumbnail,
}

#[derive(Clone)]
pub struct Blobs {
    store: Arc<dyn ObjectStore>,
}

impl std::fmt::Debug for Blobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Blobs({})", self.store)
    }
}

fn location(sha256: &str, rendition: Rendition) -> ObjectPath {
    ObjectPath::from(object_key(sha256, rendition))
}

/// The object's name in the store (`blobs/ab/ab12…`), which is also its path below the local
/// media directory; backups archive it under that name.
pub fn object_key(sha256: &str, rendition: Rendition) -> String {
    let folder = match rendition {
        Rendition::Original => "blobs",
        Rendition::Thumbnail => "thumbs",
    };
    // The sha256 is lowercase hex checked by the caller; the prefix spreads files over folders.
    format!("{folder}/{}/{sha256}", &sha256[..2])
}

/// A ranged read: the bytes and the object's total size.
pub struct Fetched {
    pub total: u64,
    pub stream: BoxStream<'static, Result<Bytes, BlobError>>,
}

impl Blobs {
    /// The backend the configuration asks for. S3 credentials come from the environment only.
    pub fn from_config(config: &Config) -> Result<Self, BlobError> {
        let store: Arc<dyn ObjectStore> = match config.media_backend {
            MediaBackend::Local => {
                let dir = config.media_path();
                std::fs::create_dir_all(&dir)?;
                Arc::new(object_store::local::LocalFileSystem::new_with_prefix(dir)?)
            }
            MediaBackend::S3 => {
                let mut builder = object_store::aws::AmazonS3Builder::from_env()
                    .with_bucket_name(config.s3_bucket.clone().unwrap_or_default())
                    .with_region(config.s3_region.clone())
                    .with_allow_http(config.s3_allow_http);
                if let Some(key) = &config.s3_credentials {
                    builder = builder
                        .with_access_key_id(key.access_key_id.clone())
                        .with_secret_access_key(key.secret_access_key.expose());
                }
                if let Some(endpoint) = &config.s3_endpoint {
                    // Path-style requests (`endpoint/bucket/key`) work with every S3 clone.
                    builder = builder
                        .with_endpoint(endpoint.clone())
                        .with_virtual_hosted_style_request(false);
                }
                Arc::new(builder.build()?)
            }
        };
        Ok(Self { store })
    }

    pub fn from_store(store: Arc<dyn ObjectStore>) -> Self {
        Self { store }
    }

    /// Stores a local file as the blob, streaming it (never whole in memory).
    pub async fn put_file(&self, sha256: &str, file: &std::path::Path) -> Result<(), BlobError> {
        let path = location(sha256, Rendition::Original);
        let mut f = tokio::fs::File::open(file).await?;
        let size = f.metadata().await?.len();
        if size <= SINGLE_PUT_MAX {
            let mut buf = Vec::with_capacity(size as usize);
            f.read_to_end(&mut buf).await?;
            self.store.put(&path, PutPayload::from(buf)).await?;
            return Ok(());
        }
        let upload = self.store.put_multipart(&path).await?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_BYTES);
        let mut buf = vec![0u8; 1024 * 1024];
        loop {
            let n = f.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            // Waits when too many parts are in flight, so memory stays bounded.
            writer.wait_for_capacity(2).await?;
            writer.write(&buf[..n]);
        }
        writer.finish().await?;
        Ok(())
    }

    /// Stores small bytes (a thumbnail, an avatar).
    pub async fn put_bytes(
        &self,
        sha256: &str,
        rendition: Rendition,
        bytes: Vec<u8>,
    ) -> Result<(), BlobError> {
        self.store
            .put(&location(sha256, rendition), PutPayload::from(bytes))
            .await?;
        Ok(())
    }

    /// Reads a whole object into memory (bounded by the caller: thumbnails of images only).
    pub async fn read_all(&self, sha256: &str, rendition: Rendition) -> Result<Bytes, BlobError> {
        Ok(self
            .store
            .get(&location(sha256, rendition))
            .await?
            .bytes()
            .await?)
    }

    /// Streams an object, or the given byte range of it.
    pub async fn fetch(
        &self,
        sha256: &str,
        rendition: Rendition,
        range: Option<Range<u64>>,
    ) -> Result<Fetched, BlobError> {
        let options = GetOptions {
            range: range.map(GetRange::Bounded),
            ..Default::default()
        };
        let result = self
            .store
            .get_opts(&location(sha256, rendition), options)
            .await?;
        let total = result.meta.size;
        let stream = result
            .into_stream()
            .map(|chunk| chunk.map_err(BlobError::from))
            .boxed();
        Ok(Fetched { total, stream })
    }

    /// Deletes a blob and its thumbnail; absent objects are fine.
    pub async fn delete(&self, sha256: &str) -> Result<(), BlobError> {
        for rendition in [Rendition::Original, Rendition::Thumbnail] {
            match self.store.delete(&location(sha256, rendition)).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Whether the blob's object exists (for tests and repair).
    pub async fn exists(&self, sha256: &str) -> Result<bool, BlobError> {
        match self
            .store
            .head(&location(sha256, Rendition::Original))
            .await
        {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}
