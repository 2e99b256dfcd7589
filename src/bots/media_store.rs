//! Where media files are kept: `DATA_DIR/media/{tenant_id}/{bot_id}/{media_id}`, or the same
//! keys (after an optional prefix) in an S3-compatible bucket when `MEDIA_BUCKET_URL` is set.
//!
//! Every path is built here from ids this application generated, each checked to be a plain
//! name (letters, digits, `-`, `_`), so nothing a customer or a page sends can point the store
//! elsewhere. On disk a file is written under a temporary name and renamed, so a reader never
//! sees half a file, and a workspace's or a bot's files go with one folder; in a bucket a PUT
//! is already all or nothing, and a workspace's or a bot's objects are listed by prefix and
//! deleted one by one.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as Key;
use object_store::{ObjectStore, ObjectStoreExt, RetryConfig};

use crate::config::MediaBucket;
use crate::ids::new_id;

/// The media folder or bucket of this instance (a handle; cheap to clone).
#[derive(Debug, Clone)]
pub struct MediaStore {
    place: Place,
}

#[derive(Clone)]
enum Place {
    /// `DATA_DIR/media`.
    Folder(PathBuf),
    /// A bucket, and the key segments put before every key.
    Bucket {
        objects: Arc<dyn ObjectStore>,
        prefix: Vec<String>,
    },
}

impl fmt::Debug for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::Folder(root) => f.debug_tuple("Folder").field(root).finish(),
            // The store holds the credentials: only its name is shown.
            Place::Bucket { objects, prefix } => f
                .debug_struct("Bucket")
                .field("objects", &objects.to_string())
                .field("prefix", prefix)
                .finish(),
        }
    }
}

/// A folder or file name the store accepts: an id of ours, never `..` or a separator.
fn plain(name: &str) -> io::Result<&str> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(name)
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a media store name",
        ))
    }
}

impl MediaStore {
    /// The store under `data_dir` (`DATA_DIR`): its `media` folder.
    pub fn under(data_dir: &Path) -> Self {
        Self {
            place: Place::Folder(data_dir.join("media")),
        }
    }

    /// The store in `bucket` (`MEDIA_BUCKET_URL`), over path-style URLs; plain http only when
    /// the endpoint is http.
    pub fn in_bucket(bucket: &MediaBucket) -> Result<Self, object_store::Error> {
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&bucket.bucket)
            .with_region(&bucket.region)
            .with_access_key_id(&bucket.access_key_id)
            .with_secret_access_key(bucket.secret_access_key.expose())
            // Single DELETEs: every S3-compatible service has them, unlike the bulk POST.
            .with_disable_bulk_delete(true)
            // A page waits on a read: a few quick tries, not the crate's three minutes.
            .with_retry(RetryConfig {
                max_retries: 3,
                retry_timeout: Duration::from_secs(15),
                ..RetryConfig::default()
            });
        if let Some(endpoint) = &bucket.endpoint {
            builder = builder
                .with_endpoint(endpoint.as_str().trim_end_matches('/'))
                .with_allow_http(endpoint.scheme() == "http");
        }
        Ok(Self {
            place: Place::Bucket {
                objects: Arc::new(builder.build()?),
                prefix: bucket
                    .prefix
                    .split('/')
                    .filter(|part| !part.is_empty())
                    .map(str::to_owned)
                    .collect(),
            },
        })
    }

    /// The bucket key of `names` (already checked), after the prefix.
    fn key(prefix: &[String], names: &[&str]) -> Key {
        Key::from_iter(
            prefix
                .iter()
                .map(String::as_str)
                .chain(names.iter().copied()),
        )
    }

    /// Keep `bytes` as media `media_id` of the bot; answers the path to record
    /// (`stored_path`, relative to the media folder).
    pub async fn put(
        &self,
        tenant_id: &str,
        bot_id: &str,
        media_id: &str,
        bytes: &[u8],
    ) -> io::Result<String> {
        let relative = format!(
            "{}/{}/{}",
            plain(tenant_id)?,
            plain(bot_id)?,
            plain(media_id)?
        );
        let root = match &self.place {
            Place::Folder(root) => root,
            Place::Bucket { objects, prefix } => {
                let key = Self::key(prefix, &[tenant_id, bot_id, media_id]);
                objects.put(&key, bytes.to_vec().into()).await?;
                return Ok(relative);
            }
        };
        let folder = root.join(tenant_id).join(bot_id);
        tokio::fs::create_dir_all(&folder).await?;
        let temporary = folder.join(format!(".{media_id}.{}.part", new_id()));
        if let Err(e) = tokio::fs::write(&temporary, bytes).await {
            let _ = tokio::fs::remove_file(&temporary).await;
            return Err(e);
        }
        if let Err(e) = tokio::fs::rename(&temporary, folder.join(media_id)).await {
            let _ = tokio::fs::remove_file(&temporary).await;
            return Err(e);
        }
        Ok(relative)
    }

    /// The bytes of a file `put` kept at `stored_path`.
    pub async fn read(&self, stored_path: &str) -> io::Result<Vec<u8>> {
        let names = names_of(stored_path)?;
        match &self.place {
            Place::Folder(root) => tokio::fs::read(file_of(root, &names)).await,
            Place::Bucket { objects, prefix } => {
                let found = objects.get(&Self::key(prefix, &names)).await?;
                Ok(found.bytes().await?.to_vec())
            }
        }
    }

    /// Delete the file recorded as `stored_path`.
    pub async fn remove(&self, stored_path: &str) -> io::Result<()> {
        let names = names_of(stored_path)?;
        let removed = match &self.place {
            Place::Folder(root) => tokio::fs::remove_file(file_of(root, &names)).await,
            Place::Bucket { objects, prefix } => {
                Ok(objects.delete(&Self::key(prefix, &names)).await?)
            }
        };
        match removed {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }

    /// Delete every media file of a workspace (after its rows are gone).
    pub async fn remove_workspace(&self, tenant_id: &str) -> io::Result<()> {
        self.remove_all(&[plain(tenant_id)?]).await
    }

    /// Delete every media file of one bot (after its rows are gone).
    pub async fn remove_bot(&self, tenant_id: &str, bot_id: &str) -> io::Result<()> {
        self.remove_all(&[plain(tenant_id)?, plain(bot_id)?]).await
    }

    /// Delete everything under the folder (or key prefix) `names`; what was never made is
    /// already gone.
    async fn remove_all(&self, names: &[&str]) -> io::Result<()> {
        let removed = match &self.place {
            Place::Folder(root) => {
                tokio::fs::remove_dir_all(names.iter().fold(root.clone(), |p, n| p.join(n))).await
            }
            Place::Bucket { objects, prefix } => {
                let listed = objects
                    .list(Some(&Self::key(prefix, names)))
                    .map_ok(|object| object.location)
                    .boxed();
                let _: Vec<_> = objects.delete_stream(listed).try_collect().await?;
                Ok(())
            }
        };
        match removed {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }
}

/// The three names of a `stored_path`; refuses anything `put` could not have answered.
fn names_of(stored_path: &str) -> io::Result<[&str; 3]> {
    let parts: Vec<&str> = stored_path.split('/').collect();
    let [tenant, bot, media] = parts.as_slice() else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a stored media path",
        ));
    };
    Ok([plain(tenant)?, plain(bot)?, plain(media)?])
}

/// The file of checked `names` under the media folder `root`.
fn file_of(root: &Path, [tenant, bot, media]: &[&str; 3]) -> PathBuf {
    root.join(tenant).join(bot).join(media)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_file_is_kept_read_and_removed_with_its_bot_and_workspace() {
        let dir = tempfile::tempdir().unwrap();
        let store = MediaStore::under(dir.path());
        let path = store.put("t1", "b1", "m1", b"bytes").await.unwrap();
        assert_eq!(path, "t1/b1/m1");
        assert_eq!(store.read(&path).await.unwrap(), b"bytes");
        assert!(dir.path().join("media/t1/b1/m1").is_file());
        // No temporary file is left beside it.
        let names: Vec<_> = std::fs::read_dir(dir.path().join("media/t1/b1"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("m1")]);

        store.put("t1", "b2", "m2", b"other").await.unwrap();
        store.put("t1", "b2", "m3", b"gone").await.unwrap();
        store.remove("t1/b2/m3").await.unwrap();
        assert!(!dir.path().join("media/t1/b2/m3").exists());
        store.remove_bot("t1", "b1").await.unwrap();
        assert!(!dir.path().join("media/t1/b1").exists());
        assert!(dir.path().join("media/t1/b2/m2").is_file());
        store.remove_workspace("t1").await.unwrap();
        assert!(!dir.path().join("media/t1").exists());
        // Removing what is already gone is fine.
        store.remove_workspace("t1").await.unwrap();
    }

    #[tokio::test]
    async fn names_that_could_leave_the_folder_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = MediaStore::under(dir.path());
        for bad in ["..", "a/b", "", ".hidden", "a\\b", "x y"] {
            assert!(store.put(bad, "b", "m", b"x").await.is_err(), "{bad:?}");
            assert!(store.put("t", "b", bad, b"x").await.is_err(), "{bad:?}");
            assert!(store.remove_workspace(bad).await.is_err(), "{bad:?}");
        }
        for bad in ["../../etc/passwd", "t/b", "t/b/m/x", "/t/b/m", "t/../m"] {
            assert!(store.read(bad).await.is_err(), "{bad:?}");
        }
    }
}
