//! Where media files are kept: `DATA_DIR/media/{tenant_id}/{bot_id}/{media_id}`.
//!
//! Every path is built here from ids this application generated, each checked to be a plain
//! name (letters, digits, `-`, `_`), so nothing a customer or a page sends can point the store
//! elsewhere. A file is written under a temporary name and renamed, so a reader never sees half
//! a file; a workspace's or a bot's files go with one folder.

use std::io;
use std::path::{Path, PathBuf};

use crate::ids::new_id;

/// The media folder of this instance (a handle; cheap to clone).
#[derive(Debug, Clone)]
pub struct MediaStore {
    root: PathBuf,
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
            root: data_dir.join("media"),
        }
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
        let folder = self.root.join(tenant_id).join(bot_id);
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
        tokio::fs::read(self.path_of(stored_path)?).await
    }

    /// Where the file recorded as `stored_path` is; refuses anything `put` could not have
    /// answered.
    pub fn path_of(&self, stored_path: &str) -> io::Result<PathBuf> {
        let parts: Vec<&str> = stored_path.split('/').collect();
        let [tenant, bot, media] = parts.as_slice() else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a stored media path",
            ));
        };
        Ok(self
            .root
            .join(plain(tenant)?)
            .join(plain(bot)?)
            .join(plain(media)?))
    }

    /// Delete the file recorded as `stored_path`.
    pub async fn remove(&self, stored_path: &str) -> io::Result<()> {
        match tokio::fs::remove_file(self.path_of(stored_path)?).await {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }

    /// Delete every media file of a workspace (after its rows are gone).
    pub async fn remove_workspace(&self, tenant_id: &str) -> io::Result<()> {
        remove_folder(&self.root.join(plain(tenant_id)?)).await
    }

    /// Delete every media file of one bot (after its rows are gone).
    pub async fn remove_bot(&self, tenant_id: &str, bot_id: &str) -> io::Result<()> {
        remove_folder(&self.root.join(plain(tenant_id)?).join(plain(bot_id)?)).await
    }
}

/// Remove `folder` and what it holds; a folder that was never made is already gone.
async fn remove_folder(folder: &Path) -> io::Result<()> {
    match tokio::fs::remove_dir_all(folder).await {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
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
